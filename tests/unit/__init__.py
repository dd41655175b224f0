"""The fast tier: pure functions, no Temporal server (`pytest tests/unit`, seconds)."""
