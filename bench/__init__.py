"""Benchmarks: `python -m bench` (full size) or `python -m bench --small` (CI)."""
