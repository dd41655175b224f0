"""Example graphs the worker serves by default: one module per pattern."""

from examples.approval import graph as approval

GRAPHS = [approval]
