"""What the workflow and its clients share: wire dataclasses, patch ids, limits and pure rules.

The one part of hitl that `workflows/` may import (with `hitl.types`): every module here is
plain data and pure functions, free of Temporal's client, pydantic, I/O and user code, so it
runs unchanged inside Temporal's sandbox (tests/unit/test_boundaries.py keeps it so).
Internal: import what you need from its modules; nothing here is public API.
"""
