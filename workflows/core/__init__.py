"""The decision core: the run's rules as plain functions, no Temporal in sight.

Each rule takes the run's state (`RunState`), the request and `now`, changes the state and returns the
effects the workflow must carry out with Temporal (`effects.py`): the workflow's handlers call a rule and
carry out what it returns; the rule never awaits, sleeps, reads a clock or asks for a patch (a rule that
depends on one is handed the workflow's `patched` and calls it exactly where the workflow always did, so
markers land as recorded). The state is changed in place: the pending step's tasks keep their identity,
which the workflow's bookkeeping (what runs each task) is keyed by.

- `records.py`: the run's records: decision log, audit chain, checkpoints, refusals, retired questions.
- `timers.py`: what a pause waits for and what falls due: deadlines, claims running out, escalation steps.
- `answers.py`: answers and votes, and putting answers back.
- `claims.py`: claim, release and delegate.
- `lifecycle.py`: cancel, and edits that withdraw questions.

Imports nothing from `temporalio` (tests/unit/test_boundaries.py); unit-tested without a server
(tests/unit/core/).
"""
