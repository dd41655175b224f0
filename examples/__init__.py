"""Example graphs the worker serves by default: one module per pattern."""

from . import approval, edit_state, email_review, tool_review, validate_input

GRAPHS = [approval.graph, edit_state.graph, tool_review.graph, validate_input.graph, email_review.graph]
