"""The deterministic workflow that walks any registered graph."""

from hitl.workflows.graph_workflow import GraphWorkflow

__all__ = ["GraphWorkflow"]
