"""The jobs a user's own app scheduled, as judged sources: their plans rebuilt from the calls its hops recorded.

Each job the app asked for becomes a source under its own name: the name Dapr knows it by, and the one its
deliveries arrive under (``POST /job/<name>``), so it cannot be told apart from a scenario job of the same name,
and need not be: that is the same Dapr job (one app id), and every call on it, the scenario's and the app's, is
followed in time order. The plan comes from the first call that did not fail; every call's body maps its op id to
the plan it asked for, so the checker follows an overwrite at a replica's start-up as it follows ``actions:``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from harness.load.workload import plan_from_body
from harness.model import JobPlan, Operation, Policy
from harness.oracle.startup import SIDE_EFFECTS_UNKNOWN, StartupCall, startup_calls


def app_plans(
    app_ops: Iterable[Operation], policy: Policy, planned: Iterable[str] = ()
) -> tuple[list[JobPlan], dict[str, JobPlan]]:
    """(plans of the app's jobs not already ``planned`` by the scenario, op id -> the plan each call asked for)."""
    ops = [o for o in app_ops if o.kind == "schedule"]
    failed = {o.op_id for o in ops if o.phase == "fail"}
    taken = set(planned)
    plans: dict[str, JobPlan] = {}
    op_plans: dict[str, JobPlan] = {}
    for op in sorted((o for o in ops if o.phase == "invoke"), key=lambda o: o.at_ns):
        body = op.detail.get("body")
        if not isinstance(body, Mapping):
            continue
        plan = plan_from_body(op.name, body, policy)
        op_plans[op.op_id] = plan
        if op.op_id not in failed and op.name not in taken and op.name not in plans:
            plans[op.name] = plan
    return list(plans.values()), op_plans


def app_document(app_ops: list[Operation], op_plans: Mapping[str, JobPlan], command: str) -> dict[str, object]:
    """results.json ``app``: the user's command, each start-up schedule call and its effect, side effects unknown."""
    calls: list[StartupCall] = startup_calls(app_ops, op_plans)
    return {"command": command, "startup": calls, "side_effects": SIDE_EFFECTS_UNKNOWN}
