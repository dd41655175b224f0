"""What a rule asks the workflow to do with Temporal, as small frozen values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reindex:
    """Who may decide or who holds what changed: upsert the decider and assignee attributes."""


@dataclass(frozen=True)
class Publish:
    """The run's pending questions changed: upsert its search attributes and summary."""


@dataclass(frozen=True)
class Notify:
    """Run the graph's notify hook (an activity) on the run as it is now."""


@dataclass(frozen=True)
class TellParent:
    """A subgraph's run: tell the parent run which questions are pending now."""


Effect = Reindex | Publish | Notify | TellParent
