"""The deterministic workflow that walks any registered graph."""

from workflows.graph_workflow import GraphWorkflow

__all__ = ["GraphWorkflow"]
