"""The scenario's mid-run job actions as the oracle sees them: which call each was, what it answered, and whether
the status a claim expects (``expect_status``) is what Dapr answered. Pure: no I/O.

The runner records, per action, the ``op_id`` of the ``JobsClient`` call it made (``history.json`` ``actions``);
the call's outcome row in the ledger carries the HTTP status. An action whose call has no status (a transport
error, or no outcome row) cannot confirm a claim: its verdict is *unknown*. An action without ``expect_status``
claims nothing and passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.model import Operation, OpPhase, Verdict


@dataclass(frozen=True, slots=True)
class ActionClaim:
    """One action of the scenario: when (seconds into the observation), what, on which job, and its call."""

    index: int  # position in the scenario's actions list
    at_s: float
    op: str  # schedule | delete | get
    job: str
    op_id: str | None  # the JobsClient call; None when the runner never made it (the run stopped first)
    expect_status: int | None = None


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action's call answered, and its claim's verdict. Mirrors ``results.json`` ``actions``."""

    index: int
    at_s: float
    op: str
    job: str
    op_id: str | None
    phase: OpPhase | None  # ok / fail / info; None when no outcome was recorded
    status: int | None  # the HTTP status Dapr answered; None on a transport error
    error_code: str | None  # Dapr's errorCode on an error answer
    not_found: bool  # a get that Dapr answered "job not found"
    expect_status: int | None
    verdict: Verdict
    note: str


def check_actions(claims: Sequence[ActionClaim], operations: Sequence[Operation]) -> tuple[ActionResult, ...]:
    outcomes: dict[str, Operation] = {}
    for op in sorted(operations, key=lambda o: o.at_ns):
        if op.phase != "invoke":
            outcomes[op.op_id] = op
    return tuple(_judge(claim, outcomes.get(claim.op_id) if claim.op_id else None) for claim in claims)


def _judge(claim: ActionClaim, outcome: Operation | None) -> ActionResult:
    detail = outcome.detail if outcome is not None else {}
    status = detail.get("status")
    status = status if isinstance(status, int) else None
    code = detail.get("error_code")
    verdict: Verdict = "pass"
    what = f"{claim.op} {claim.job} at {claim.at_s:g}s"
    if outcome is None:
        note = f"{what}: no outcome was recorded"
    elif status is None:
        note = f"{what}: {outcome.phase}, no HTTP answer ({detail.get('error', 'unknown error')})"
    else:
        note = f"{what}: answered {status}" + (f" {code}" if code else "")
        if detail.get("not_found") is True:
            note += " (job not found)"
    if claim.expect_status is not None:
        if status is None:
            verdict = "unknown"
            note += f"; expected {claim.expect_status}, cannot tell"
        elif status != claim.expect_status:
            verdict = "fail"
            note += f"; expected {claim.expect_status}"
        else:
            note += " as expected"
    return ActionResult(
        index=claim.index,
        at_s=claim.at_s,
        op=claim.op,
        job=claim.job,
        op_id=claim.op_id,
        phase=outcome.phase if outcome is not None else None,
        status=status,
        error_code=code if isinstance(code, str) else None,
        not_found=detail.get("not_found") is True,
        expect_status=claim.expect_status,
        verdict=verdict,
        note=note,
    )
