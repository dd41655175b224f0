"""The queue's picture (`/stats`, `hitl stats`): figures computed from rows (figures.py, pure), rows read
from Temporal at a bounded cost (reader.py)."""

SAMPLE = 100
"""Finished runs whose decision logs one read takes by default (`hitl stats --sample`)."""
