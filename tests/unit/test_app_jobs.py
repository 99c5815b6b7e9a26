"""The jobs a user's own app scheduled, judged from the calls its hops recorded: realistic start-up races of three
replicas (1.16+: one 204 and two 409; older Dapr: three overwrites), with the checker following each call."""

from __future__ import annotations

from pathlib import Path

from harness.model import NS, Delivery, Operation, OpPhase, ReplicaWindow
from harness.oracle.check import CheckInput, check
from harness.oracle.results import results_document
from harness.oracle.startup import startup_calls
from harness.report.summary import write_summary_md
from harness.run.app_jobs import app_document, app_plans

T0 = 1_800_000_000 * NS  # a whole second
BODY = {"schedule": "@every 5s", "data": {"task": "remove expired sessions"}}


def call(op_id: str, replica: int, at_ms: int, status: int, latency_ms: int = 8) -> list[Operation]:
    at = T0 + at_ms * 1_000_000
    invoke = Operation(
        op_id,
        "schedule",
        "cleanup",
        "invoke",
        at,
        {"method": "POST", "path": "/v1.0-alpha1/jobs/cleanup", "replica": replica, "body": BODY},
    )
    phase: OpPhase = "ok" if status < 300 else "fail"
    return [invoke, Operation(op_id, "schedule", "cleanup", phase, at + latency_ms * 1_000_000, {"status": status})]


def every_5s(created_ms: int, until_s: int, replica: int = 0) -> list[Delivery]:
    first = T0 + created_ms * 1_000_000 + 5 * NS
    return [
        Delivery(f"d{k}", "jobs", "cleanup", replica, first + k * 5 * NS + 20_000_000, 200)
        for k in range(until_s // 5)
        if first + k * 5 * NS < T0 + until_s * NS
    ]


def judge(app_ops: list[Operation], deliveries: list[Delivery]) -> tuple[str, list[str], list[str]]:
    plans, op_plans = app_plans(app_ops, "exactly-once")
    assert [p.name for p in plans] == ["cleanup"]
    result = check(
        CheckInput(
            jobs=plans,
            bindings=[],
            deliveries=deliveries,
            operations=app_ops,
            windows=[ReplicaWindow(r, T0, T0 + 40 * NS) for r in range(3)],
            observe_start_ns=T0,
            observe_end_ns=T0 + 32 * NS,
            replicas=3,
            op_plans=op_plans,
        )
    )
    (source,) = result.sources
    return source.verdict, list(source.notes), [r["effect"] for r in startup_calls(app_ops, op_plans)]


def test_one_create_and_two_409s_leave_the_first_plan_in_force() -> None:
    ops = call("a", 0, 0, 204) + call("b", 2, 120, 409) + call("c", 1, 260, 409)
    verdict, notes, effects = judge(ops, every_5s(0, 32))
    assert verdict == "pass"
    assert sum("answered 409: the plan in force is unchanged" in n for n in notes) == 2
    assert effects[0].startswith("created the job: first due ")
    assert effects[1:] == ["refused: the job exists (409), the plan in force is unchanged"] * 2
    rows = startup_calls(ops, app_plans(ops, "exactly-once")[1])
    assert [(r["replica"], r["answer"]) for r in rows] == [(0, 204), (2, 409), (1, 409)]


def test_three_overwrites_move_the_next_due_and_the_checker_follows() -> None:
    # an older Dapr overwrites: the last start-up call (2.5 s after the first) sets the plan everyone then follows
    ops = call("a", 0, 0, 204) + call("b", 1, 1200, 204) + call("c", 2, 2500, 204)
    verdict, notes, effects = judge(ops, every_5s(2500, 32))
    assert verdict == "pass", notes
    assert sum(n.startswith("overwritten at ") for n in notes) == 2
    assert effects[1].startswith("overwrote the job: next due moved from ")
    assert ".000Z" in effects[1] and ".200Z" in effects[1]  # from T0+5s to T0+6.2s


def test_deliveries_on_the_first_plan_after_the_overwrites_are_not_a_pass() -> None:
    # the same three overwrites, but Dapr kept firing on the first call's plan: the checker must notice
    ops = call("a", 0, 0, 204) + call("b", 1, 1200, 204) + call("c", 2, 2500, 204)
    verdict, _notes, _effects = judge(ops, every_5s(0, 32))
    assert verdict != "pass"


def test_a_scenario_job_of_the_same_name_keeps_its_plan_and_the_app_calls_are_followed() -> None:
    ops = call("a", 0, 0, 409)
    plans, op_plans = app_plans(ops, "exactly-once", planned=["cleanup"])
    assert plans == [] and set(op_plans) == {"a"}


def test_summary_shows_each_start_up_call_and_side_effects_unknown(tmp_path: Path) -> None:
    ops = call("a", 0, 0, 204) + call("b", 2, 120, 409)
    _plans, op_plans = app_plans(ops, "exactly-once")
    doc = results_document(
        check(CheckInput([], [], [], [], [], T0, T0 + NS, 3)),
        dapr={"daprd": "1.18.2", "scheduler": "1.18.2"},
        scenario={"name": "byo", "hash": "h"},
        host={},
        timings={},
        faults=[],
    )
    doc["app"] = app_document(ops, op_plans, "uvicorn main:app --port {app_port}")
    text = write_summary_md(tmp_path, doc).read_text()
    assert "## Your app's start-up schedule calls" in text
    assert "replica 0 scheduled cleanup: 204 (ok) — created the job" in text
    assert "replica 2 scheduled cleanup: 409 (fail) — refused: the job exists (409)" in text
    assert "side effects: unknown for a foreign app" in text
