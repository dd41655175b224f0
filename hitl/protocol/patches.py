"""Every patch id the workflow checks, each with what it changed: the one list of them.

The workflow (`workflows/`) branches on these constants, and `RUN_PATCHES` (what a new run lists in
`RunInput.patches` and a worker counts in its identity) is built from them, so the two cannot drift.
Append only: a new patch is a new constant added at the end of `RUN_PATCHES`; never reorder, rename
or remove one (recorded histories and runs in flight name them). Pure: imported inside the workflow.
"""

from __future__ import annotations

HELD_SIGNALS = "hitl-held-signals"
"""Patch: signals wait for the next pause and refusals are recorded (before: dropped unless paused)."""
EDIT_REASKS = "hitl-edit-reasks"
"""Patch: an edit while a question is pending withdraws it; the node runs again and asks again."""
GOTO_ADDS = "hitl-goto-adds"
"""Patch: a decision's goto adds its nodes to the paused step, as LangGraph does (before: it replaced the
step, dropping pending questions), and may come with an answer."""
CHILD_MAPS = "hitl-send"
"""Patch: the answers one decision gives a subgraph's questions go down in one signal (a map), so the
subgraph applies them together: its mapped (Send) or parallel tasks run again at once and never report an
answered question as pending again (before: one signal per answer, applied one pause at a time)."""
CANCEL_RACE = "hitl-cancel-race"
"""Patch: a cancel and another decision racing for one pause: exactly one is applied. Once a cancel is
applied, later decisions are refused as to a cancelled run (before: accepted and recorded, never carried
out); a cancel whose turn comes right after a decision released the pause, before the run moved on, is
refused naming that decision (before: both applied, the run cancelled under the approval)."""
ANSWER_ROLLBACK = "hitl-answer-rollback"
"""Patch: when the node run again because of a person's answer fails for good (or the step's writes fail),
the answer is put back: its question pending again, the failure recorded, the run still waiting (before: the
run failed)."""
NOTHING_NEXT_ENDS = "hitl-nothing-next-ends"
"""Patch: with nothing to answer and nothing next, a run completes instead of waiting (interrupt_after on
the last node, update_state(as_node=...) leading to END)."""
CHANGED_ATTRIBUTES = "hitl-changed-attributes"
"""Patch: the search attribute upsert names only the attributes that changed since the last one this
execution wrote, and is left out when none did (before: all of them, every time: an edit or a reminder at a
pause spent an event and a visibility write on values already there)."""
LOCAL_RERUN = "hitl-local-rerun"
"""Patch: a node declared `rerun="local"` runs again after the answer as a local activity, in the workflow task
that applies the answer (before: an activity, one more task-queue round trip and five more events); and a local
activity's failure, which comes bare (not as an ActivityError), fails its step (before: the run hung)."""
SUBGRAPH_IDS = "hitl-subgraph-ids"
"""Patch: a subgraph's run id ends in the reserved mark and a nonce from the run's own randomness
(`PARENT.node.step~NONCE`, `topology.subgraph_run_id`), which no start path takes as a new id (before:
`PARENT.node.step`, which anyone could start a run under first, so the parent could never start it)."""
CHILD_FAILURES = "hitl-child-failures"
"""Patch: a subgraph's run that cannot be started (its id taken) or reached (a signal to it fails), or that
fails while the parent waits, fails its step at once with one line naming that run; and any other error a
step's task raises is raised by the run instead of lost (before: the task died unseen and the parent stayed
`running` with nothing running, refusing every answer)."""
EDIT_ROLLBACK = "hitl-edit-rollback"
"""Patch: when the node run again because of a person's edit (or of an `update` sent with an answer) fails for
good, or the step's writes fail, the edit is put back: the state as before it, the node's questions pending
again, the failure recorded, the run still waiting (before: the run failed; an update stayed applied)."""
FINITE_SIGNALS = "hitl-finite-signals"
"""Patch: a decision sent as a signal that carries NaN or an infinite number is refused and recorded as
refused (before: applied). Consulted only for such a signal, so histories without one never reach it; an update
carrying one is refused by its validator, which writes nothing and needs no patch."""
BOUNDED_CHECKS = "hitl-bounded-checks"
"""Patch: a decision sent as a signal whose answer or update cannot be checked against its schemas within
`SCHEMA_STEPS` keyword applications is refused and recorded as refused (before: checked without bound, which
could run past the deadlock detector on every attempt of the workflow task and wedge the run for good).
Consulted only for such a signal; a run wedged by one before this patch takes it when its task is tried
again, and so gets unstuck. Updates are bounded in their validators, which write nothing and need no patch."""
STEP_INPUTS = "hitl-step-inputs"
"""Patch: a step whose node tasks carry more than MAX_STEP_INPUT_BYTES in all (many Sends of a large state)
fails the run with one line before scheduling them (before: their commands went out in one workflow task
completion past the server's 4 MB, and Temporal terminated the run). Consulted only for such a step."""
LOCAL_RACE = "hitl-local-race"
"""Patch: when the step a decision released ran inside the workflow task that applied it (a `rerun="local"`
re-run), a cancel is still refused naming that decision while the steps after it run, until the run has run a
task outside that workflow task (an activity, a subgraph's run) or paused. A cancel that reached Temporal while
that task was in flight reaches the run only in the next one, once the released step is done: it raced the
decision all the same (before: taken there, cancelling the run under the approval, both applied)."""
THREAD_TURNS = "hitl-thread-turns"
"""Patch: a fork that carries its thread's earlier checkpoints (`ForkFrom.history`: the next turn of a `hitl serve`
thread, hitl/client/turns.py) begins with them and numbers its decision records after theirs, so its history and
decision chain continue the thread's. Consulted only for such a fork; no recorded run carries one."""
NOTIFY_RECORDS = "hitl-notify-records"
"""Patch: what the notify hook sent at a pause, or why it failed, goes into the run's decision log (a `notify`
record, sealed into the audit chain). Runs from before it keep their logs and chains as they were: a record
appearing among them on replay would change every later record's hash against an export taken before."""
TASK_CALLS = "hitl-task-calls"
"""Patch: a node (an entrypoint's body, hitl/functional.py) that waits on `@task` calls hands them to the run, which
runs each as an activity (`hitl.task`) and runs the node again with how they ended. No history from before holds
such a node result; the patch is there so that a client starts an entrypoint's run only on workers that have it
(an older worker would take the node's result for an update that wrote nothing)."""
CALL_BUDGET = "hitl-call-budget"
"""Patch: a node whose graph and `@task` calls have filled the run's history past HISTORY_BUDGET_BYTES fails its
step in one line before it runs again (it was terminated by Temporal at 50 MiB). Asked only once a history is
that full, so the runs below it record no marker; one from before that got that far replays as it ran."""

# Quorum questions, claims and escalation ladders (issue 14) need no patch: each path is reached only by a
# question asked with `quorum=`/`escalate=` or by a `claim` update, which no history from before them holds,
# and no new patch is called from an update or signal handler (a marker recorded there broke the replay of a
# continued run). Sealing the decision record writes no commands: runs in flight seal theirs on replay.
# An edit as node END (LangGraph's "mark as resolved", issue 25) needs none either: the update validator refused
# `as_node="__end__"` before, a refused update writes nothing, and no signal carries an edit, so no history holds one.

RUN_PATCHES: tuple[str, ...] = (
    HELD_SIGNALS,
    EDIT_REASKS,
    GOTO_ADDS,
    CHILD_MAPS,
    CANCEL_RACE,
    ANSWER_ROLLBACK,
    NOTHING_NEXT_ENDS,
    CHANGED_ATTRIBUTES,
    LOCAL_RERUN,
    SUBGRAPH_IDS,
    CHILD_FAILURES,
    EDIT_ROLLBACK,
    FINITE_SIGNALS,
    BOUNDED_CHECKS,
    STEP_INPUTS,
    LOCAL_RACE,
    THREAD_TURNS,
    NOTIFY_RECORDS,
    TASK_CALLS,
    CALL_BUDGET,
)
"""Every patch id the workflow checks, in the order they came: a worker says how many it has (the first N,
`hitl-patches=N` in its identity) and a new run lists those every live worker has (`RunInput.patches`).
Append only: never reorder or remove an entry."""
