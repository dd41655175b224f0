"""The table of `hitl` commands: name, help, typed options, and the function that runs it.

In the order `hitl --help` lists them. Each command's flags are declared on
its options dataclass (options.py); parser.py turns this table into argparse.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from hitl.cli import answer, decide, ops, runs, servers
from hitl.cli import options as o
from hitl.cli.spec import Command
from hitl.web.serve import add_options as web_options

COMMANDS: list[Command[Any]] = [
    Command(
        "dev",
        "run the local stack: Temporal dev server (SQLite) + worker with the example graphs",
        o.DevOptions,
        servers.dev,
        extend=partial(web_options, dev=True),
    ),
    Command(
        "serve",
        "serve the review inbox and the LangGraph-shaped HTTP API",
        o.ServeOptions,
        servers.serve,
        extend=web_options,
    ),
    Command("worker", "serve graphs on a task queue", o.WorkerOptions, servers.worker),
    Command("gc", "delete claim-check blobs that no history names any more", o.GcOptions, ops.gc),
    Command("graphs", "list the graphs known here", o.Common, ops.graphs),
    Command(
        "stats",
        "the queue's picture per graph and reviewer: waiting, time to decision, answers, refusals, escalations",
        o.StatsOptions,
        ops.stats,
    ),
    Command("start", "start a run of a graph", o.StartOptions, runs.start),
    Command("state", "show a run's state", o.RunOptions, runs.state),
    Command("result", "wait for a run to end and print its final state", o.RunOptions, runs.result),
    Command("history", "list a run's checkpoints, newest first", o.RunOptions, runs.history),
    Command(
        "watch",
        "follow a run: one line per event until it ends (exit 0 completed, 1 failed)",
        o.WatchOptions,
        runs.watch,
    ),
    Command("cancel", "cancel a run (a decision: checked and recorded like any other)", o.CancelOptions, runs.cancel),
    Command("list", "list recent runs", o.Common, runs.list_runs),
    Command("inbox", "list runs waiting for a person", o.Common, runs.inbox),
    Command(
        "resume",
        "answer a paused run, or many at once (--all, or several run ids)",
        o.ResumeOptions,
        answer.resume,
    ),
    Command(
        "link",
        "print a signed link that lets one reviewer answer one question, once",
        o.LinkOptions,
        decide.link,
    ),
    Command("update-state", "edit a paused run's state", o.UpdateStateOptions, decide.update_state),
    Command(
        "claim",
        "hold a pending question: nobody else may answer it until released or expired",
        o.ClaimOptions,
        decide.claim,
    ),
    Command(
        "release",
        "give a claimed question back to everyone allowed to answer it",
        o.ReleaseOptions,
        decide.release,
    ),
    Command(
        "delegate",
        "hand a pending question to another identity or role:NAME (recorded)",
        o.DelegateOptions,
        decide.delegate,
    ),
    Command(
        "audit",
        "export a run's decision chain as JSON Lines and verify it (exit 1 naming the first broken record)",
        o.AuditOptions,
        ops.audit,
    ),
    Command("fork", "start a new run from a run's checkpoint (time travel)", o.ForkOptions, decide.fork),
]
