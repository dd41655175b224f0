"""Activities: the only place user code (nodes, routers, custom reducers) runs."""

from hitl.activities.nodes import GraphActivities

__all__ = ["GraphActivities"]
