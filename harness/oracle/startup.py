"""A user's own app's start-up race, in words: each replica's schedule call, its answer, and what it did to the plan.

When every replica of an app schedules the same job on start-up, the first call creates it and every later one is
either refused (409: the job exists, Dapr 1.16 and later without ``overwrite``; the plan is unchanged) or, where
Dapr overwrites (older versions, or ``overwrite: true``), replaces it: a new plan created at that call, so the next
due time moves. The checker follows the same calls (``harness.oracle.overwrites``); this module only says them,
one row per call, for the reports (results.json ``app.startup``). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import islice
from typing import TypedDict

from harness.model import JobPlan, Operation
from harness.oracle.tally import iso
from harness.oracle.ticks import iter_job_occurrences
from harness.oracle.times import ScheduleError

# results.json ``app.side_effects`` for a user's own app: onceonly cannot see what its handler did
SIDE_EFFECTS_UNKNOWN = "unknown for a foreign app: onceonly sees its deliveries and answers, not what its handler did"


class StartupCall(TypedDict):
    at: str  # the call's invoke time (UTC, ISO 8601)
    replica: int | None  # whose app made it (the hop's replica; None for a call recorded without it)
    job: str
    answer: int | None  # daprd's HTTP status; None: no answer
    outcome: str  # ok / fail / info / none
    effect: str  # what it did to the plan, in words


def startup_calls(app_ops: Sequence[Operation], op_plans: Mapping[str, JobPlan]) -> list[StartupCall]:
    """One row per schedule call of the apps, by invoke time; ``op_plans``: the plan each call asked for."""
    invokes = sorted((o for o in app_ops if o.kind == "schedule" and o.phase == "invoke"), key=lambda o: o.at_ns)
    outcomes = {o.op_id: o for o in app_ops if o.kind == "schedule" and o.phase != "invoke"}
    in_force: dict[str, tuple[JobPlan, int]] = {}  # job -> (its plan, when that plan was created)
    rows: list[StartupCall] = []
    for op in invokes:
        out = outcomes.get(op.op_id)
        status = out.detail.get("status") if out is not None else None
        answer = status if isinstance(status, int) else None
        outcome = out.phase if out is not None else "none"
        plan = op_plans.get(op.op_id)
        replica = op.detail.get("replica")
        rows.append(
            StartupCall(
                at=iso(op.at_ns),
                replica=replica if isinstance(replica, int) else None,
                job=op.name,
                answer=answer,
                outcome=outcome,
                effect=_effect(op, outcome, answer, plan, in_force),
            )
        )
    return rows


def _effect(
    op: Operation, outcome: str, answer: int | None, plan: JobPlan | None, in_force: dict[str, tuple[JobPlan, int]]
) -> str:
    before = in_force.get(op.name)
    if outcome == "fail":
        if answer == 409:
            return "refused: the job exists (409), the plan in force is unchanged"
        return f"failed ({answer if answer is not None else 'not sent'}): the plan in force is unchanged"
    if outcome != "ok":
        return "unknown outcome: the job may or may not have been created or replaced (the checker says unknown)"
    if plan is None:
        return "ok, but its body could not be read as a job: its plan is unknown"
    in_force[op.name] = (plan, op.at_ns)
    if before is None:
        return f"created the job: first due {_first_due(plan, op.at_ns)}"
    old_plan, old_created = before
    old_next = next((d for d in iter_job_occurrences(old_plan, old_created) if d > op.at_ns), None)
    was = iso(old_next) if old_next is not None else "none (it had ended)"
    return f"overwrote the job: next due moved from {was} to {_first_due(plan, op.at_ns)}"


def _first_due(plan: JobPlan, created_ns: int) -> str:
    try:
        first = list(islice(iter_job_occurrences(plan, created_ns), 1))
    except ScheduleError as exc:
        return f"unknown ({exc})"
    return iso(first[0]) if first else "none"
