"""Play a scenario's mid-run job actions (``actions:``) during the observation, through ``JobsClient``.

Single-threaded, like ``harness.nemesis.run_timeline`` for faults (a scenario has one or the other): wait until
each action's ``at`` (seconds from the call), make the call, then wait out the rest of the observation. Every call
is recorded by the client as ``invoke`` + ``ok``/``fail``/``info`` operations with the HTTP status; this returns
which call each action was (its ``op_id``), for ``history.json`` and the oracle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.io.jobs_client import JobsClient
from harness.io.stage_files import ActionCall
from harness.model import Operation
from harness.scenario.schema import Scenario

Wait = Callable[[str, float], None]
Emit = Callable[..., None]


def schedule_kwargs(scenario: Scenario, name: str, index: int | None = None) -> dict[str, Any]:
    """The Jobs API fields for job ``name`` as the scenario gives them, or as ``schedule`` action ``index`` does."""
    src = next(j for j in scenario.sources.jobs if j.name == name) if index is None else scenario.action_job(index)
    plan = src.plan(scenario.expect.jobs)
    return {
        "schedule": plan.schedule,
        "due_time": plan.due_time,
        "repeats": plan.repeats,
        "ttl": plan.ttl,
        "data": src.data,
        "overwrite": src.overwrite,
        "failure_policy": plan.failure_policy,
    }


def run_actions(client: JobsClient, scenario: Scenario, duration_s: float, wait: Wait, emit: Emit) -> list[ActionCall]:
    """Make each action's call at its time; return which call each was, in order."""
    start = time.monotonic()
    done: list[ActionCall] = []

    def until(t: float, label: str) -> None:
        left = t - (time.monotonic() - start)
        if left > 0:
            wait(label, left)

    for index, action in enumerate(scenario.actions):
        until(action.at.total_seconds(), "observing")
        op: Operation
        got: dict[str, Any] | None = None
        if action.op == "schedule":
            op = client.schedule(action.job, **schedule_kwargs(scenario, action.job, index))
        elif action.op == "delete":
            op = client.delete(action.job)
        else:
            op, got = client.get(action.job)
        extra = {} if got is None else {"answer": got}  # a get's job as Dapr returned it, as evidence
        emit("action", index=index, op=action.op, job=action.job, phase=op.phase, detail=op.detail, **extra)
        done.append(ActionCall(index, action.op, action.job, op.op_id))
    until(duration_s, "observing")
    return done
