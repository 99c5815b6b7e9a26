"""Fan-out job sources: the schema (each invalid case asserts its TEXT), the members' creation through JobsClient
against a fake daprd (httpx.MockTransport), their plans rebuilt from the recorded calls, the checker judging each
member, the fold into one row, and re-judging (``harness.campaign.experiment.rejudge``) reproducing results.json
from the run dir alone."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.campaign import experiment
from harness.io import csv_files, store
from harness.io.jobs_client import JobsClient
from harness.io.stage_files import History, RunInfo, write_history, write_run_info
from harness.model import NS, Delivery, JobPlan, Operation, ReplicaWindow, SourceResult
from harness.oracle import results
from harness.oracle.check import CheckInput, CheckResult, check, lateness_of
from harness.oracle.times import parse_due_time
from harness.report import summary
from harness.run import fanout
from harness.run.fanout_fold import fold
from harness.scenario.loader import parse_scenario
from harness.scenario.schema import Scenario, ScenarioError

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
MS = 1_000_000


def doc(fan: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """A scenario with a recurring job and a fan-out of its cadence beside it."""
    data: dict[str, Any] = {
        "name": "fan",
        "cluster": {"replicas": 3},
        "sources": {
            "jobs": [
                {"name": "tick-job", "schedule": "@every 1s"},
                {"name": "tick-fan", "fanout": fan or {"every": "1s", "count": 5}},
            ]
        },
        "observe": {"duration": "10s"},
    }
    data.update(changes)
    return data


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data, "x.yaml")
    return str(exc.value)


# --- the schema ------------------------------------------------------------------------------------------------


def test_a_fanout_names_its_members_and_is_not_a_plan_of_its_own() -> None:
    sc = parse_scenario(doc())
    [source] = sc.fanouts
    assert source.fanout is not None
    assert source.fanout.members("tick-fan") == [f"tick-fan-00{k}" for k in range(5)]
    assert (source.fanout.first_due.total_seconds(), source.fanout.last_due.total_seconds()) == (1.0, 5.0)
    assert [p.name for p in sc.job_plans()] == ["tick-job"]  # the members are planned from their calls
    assert source.data is None  # each member gets {"job": <member>}
    assert sc.canonical()["sources"]["jobs"][1] == {
        "name": "tick-fan",
        "fanout": {"every": "1s", "count": 5},
        "overwrite": False,
    }
    assert fanout.describe(sc) == {
        "tick-fan": {"every": "1s", "start": "1s", "count": 5, "first": "tick-fan-000", "last": "tick-fan-004"}
    }


def fan_job(**fields: Any) -> dict[str, Any]:
    return doc(sources={"jobs": [{"name": "tick-fan", "fanout": {"every": "1s", "count": 5}, **fields}]})


INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "with a schedule": (
        fan_job(schedule="@every 1s"),
        "sources.jobs.0.schedule: '@every 1s' is not valid with fanout: each member is a one-shot job due at its "
        "occurrence (fanout.every, fanout.count, fanout.start); remove schedule",
    ),
    "with a due_time": (
        fan_job(due_time="5s"),
        "sources.jobs.0.due_time: '5s' is not valid with fanout: each member is a one-shot job due at its occurrence "
        "(fanout.every, fanout.count, fanout.start); remove due_time",
    ),
    "with repeats": (
        fan_job(repeats=3),
        "sources.jobs.0.repeats: 3 is not valid with fanout: each member is a one-shot job due at its occurrence "
        "(fanout.every, fanout.count, fanout.start); remove repeats",
    ),
    "with a ttl": (
        fan_job(ttl="10s"),
        "sources.jobs.0.ttl: '10s' is not valid with fanout: each member is a one-shot job due at its occurrence "
        "(fanout.every, fanout.count, fanout.start); remove ttl",
    ),
    "no members": (doc({"every": "1s", "count": 0}), "sources.jobs.1.fanout.count: 0 is not valid: must be at least 1"),
    "too many members": (
        doc({"every": "1s", "count": 1001}),
        "sources.jobs.1.fanout.count: 1001 is not valid: must be at most 1000",
    ),
    "no cadence": (doc({"count": 5}), "sources.jobs.1.fanout: missing key 'every'"),
    "a zero cadence": (
        doc({"every": "0s", "count": 5}),
        "sources.jobs.1.fanout.every: '0s' is not valid: must be greater than 0s",
    ),
    "too little time to create them": (
        doc({"every": "10ms", "count": 500}, observe={"duration": "20s"}),
        "sources.jobs.1.fanout.start: start (by default every) 10ms is too short to create 500 jobs before the first "
        "is due (a schedule call takes about 4 ms here): use at least 2s",
    ),
    "past the observation": (
        doc({"every": "1s", "count": 9}),
        "sources.jobs.1.fanout.count: 9 members every 1s from 1s put the last at 9s, past observe.duration 10s minus "
        "2s (jobs are deleted when the observation ends, and the last second before is not counted): use count at "
        "most 8, or observe.duration at least 11s",
    ),
    "starting past the observation": (
        doc({"every": "1s", "count": 1, "start": "9s"}),
        "sources.jobs.1.fanout.count: 1 members every 1s from 9s put the last at 9s, past observe.duration 10s minus "
        "2s (jobs are deleted when the observation ends, and the last second before is not counted): use "
        "observe.duration at least 11s",
    ),
    "a name too long for its members": (
        doc(sources={"jobs": [{"name": "f" * 60, "fanout": {"every": "1s", "count": 2}}]}),
        f"sources.jobs.0.name: '{'f' * 60}' is too long for a fan-out: its members are named {'f' * 60}-000 and must "
        "fit 63 characters; use at most 59",
    ),
    "a source named like a member": (
        doc(bindings=None)
        | {
            "sources": {
                "jobs": [{"name": "tick-fan", "fanout": {"every": "1s", "count": 5}}],
                "bindings": [{"name": "tick-fan-003", "schedule": "*/1 * * * * *"}],
            }
        },
        "sources.bindings.0.name: 'tick-fan-003' is a member of the fan-out sources.jobs.0 (tick-fan-000 to "
        "tick-fan-004): source names must be unique",
    ),
    "an action on a fan-out": (
        doc(actions=[{"at": "2s", "op": "delete", "job": "tick-fan"}]),
        "actions.0.job: 'tick-fan' is a fan-out source: its members are one-shot jobs the runner creates, which "
        "actions cannot target",
    ),
    "a body for a fan-out": (
        doc(app={"bodies": {"tick-fan": {"status": "RETRY"}}}),
        "app.bodies.tick-fan: 'tick-fan' is a fan-out source: bodies are per job name, and its members have their own",
    ),
}


@pytest.mark.parametrize(("data", "message"), INVALID.values(), ids=list(INVALID))
def test_an_invalid_fanout_is_refused_naming_the_field(data: dict[str, Any], message: str) -> None:
    assert refused(data) == f"x.yaml: {message}"


# --- creating the members, and their plans from the recorded calls ---------------------------------------------


class FakeDaprd:
    """A named fake of daprd's Jobs API: answers 204 to every POST and DELETE and keeps the bodies."""

    def __init__(self) -> None:
        self.bodies: dict[str, dict[str, Any]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.bodies[request.url.path.rsplit("/", 1)[-1]] = json.loads(request.content)
        return httpx.Response(204)


def create_all(sc: Scenario, start_ns: int) -> tuple[list[Operation], FakeDaprd]:
    """Schedule the scenario's jobs the way the runner does, on a clock that moves 1 ms per reading."""
    ops: list[Operation] = []
    ticks = iter(range(start_ns, start_ns + 10_000 * MS, MS))
    daprd = FakeDaprd()
    with httpx.Client(transport=httpx.MockTransport(daprd)) as http:
        client = JobsClient(http, "http://127.0.0.1:3500", "t", True, ops.append, clock=lambda: next(ticks))
        client.schedule("tick-job", schedule="@every 1s", data={"job": "tick-job"})
        for source in sc.fanouts:
            fanout.create(client, source, clock=lambda: next(ticks))
    return ops, daprd


def test_members_are_one_shot_jobs_due_at_their_occurrence_and_planned_from_their_bodies() -> None:
    sc = parse_scenario(doc())
    ops, daprd = create_all(sc, T0 - 5 * MS)
    # the clock read for the fan-out is T0 - 3 ms: member k is due 1 s + k s later, rounded up to the millisecond
    assert daprd.bodies["tick-fan-000"] == {
        "dueTime": "2026-01-01T00:00:00.997Z",
        "data": {"job": "tick-fan-000"},
        "overwrite": False,
    }
    assert [daprd.bodies[f"tick-fan-00{k}"]["dueTime"] for k in (1, 4)] == [
        "2026-01-01T00:00:01.997Z",
        "2026-01-01T00:00:04.997Z",
    ]
    assert sum(o.kind == "schedule" and o.phase == "invoke" for o in ops) == 6  # every call is an operation
    plans = fanout.job_plans(sc, ops)
    assert [p.name for p in plans] == ["tick-job", *(f"tick-fan-00{k}" for k in range(5))]
    assert plans[1] == JobPlan("tick-fan-000", due_time="2026-01-01T00:00:00.997Z", policy="exactly-once")


def test_a_member_whose_every_call_failed_is_still_planned_and_one_never_called_gets_a_bare_plan() -> None:
    sc = parse_scenario(doc())
    invoke = Operation("a", "schedule", "tick-fan-000", "invoke", T0, {"body": {"dueTime": "2026-01-01T00:00:01Z"}})
    ops = [invoke, replace(invoke, phase="fail", at_ns=T0 + 1)]
    [first, second, *_] = fanout.member_plans(sc.fanouts[0], ops, sc)
    assert first.due_time == "2026-01-01T00:00:01Z"
    assert second == JobPlan("tick-fan-001", policy="exactly-once")


def test_rfc3339_keeps_every_digit_it_needs() -> None:
    assert fanout.rfc3339(T0 + 1_500 * MS) == "2026-01-01T00:00:01.500Z"
    assert fanout.rfc3339(T0 + 1_000) == "2026-01-01T00:00:00.000001Z"
    assert fanout.rfc3339(T0 + 7) == "2026-01-01T00:00:00.000000007Z"


# --- the checker judges each member; the fold makes one row ----------------------------------------------------


def delivery(name: str, replica: int, at_ns: int, n: int) -> Delivery:
    return Delivery(f"d{n}", "jobs", name, replica, at_ns, 200, answered_ns=at_ns + MS)


def history(sc: Scenario, late_ms: dict[int, list[tuple[int, float]]]) -> dict[str, Any]:
    """A run: tick-job delivered on time, member k delivered at (replica, ms late) for each entry of late_ms[k]."""
    ops, daprd = create_all(sc, T0 - 5 * MS)
    seconds = int(sc.observe.duration.total_seconds())
    end = T0 + seconds * NS
    for name in ["tick-job", *fanout.member_names(sc)]:
        ops += [
            Operation(f"x-{name}", "delete", name, "invoke", end + MS),
            Operation(f"x-{name}", "delete", name, "ok", end + 2 * MS),
        ]
    job_created = next(o.at_ns for o in ops if o.name == "tick-job")
    deliveries = [delivery("tick-job", k % 3, job_created + k * NS + 3 * MS, k) for k in range(1, seconds)]
    for k, hits in late_ms.items():
        due = parse_due_time(daprd.bodies[f"tick-fan-{k:03d}"]["dueTime"], 0)  # as the member's body says
        for replica, late in hits:
            name, n = f"tick-fan-{k:03d}", len(deliveries) + 100
            deliveries.append(delivery(name, replica, due + int(late * MS), n))
    return {
        "operations": ops,
        "deliveries": deliveries,
        "windows": [ReplicaWindow(r, T0 - NS, end + 5 * NS) for r in range(3)],
        "observe_start_ns": T0 - 10 * MS,
        "observe_end_ns": end,
        "collect_end_ns": end + 5 * NS,
        "bodies": daprd.bodies,
    }


def judged(sc: Scenario, h: dict[str, Any]) -> CheckResult:
    plans = fanout.job_plans(sc, h["operations"])
    result = check(
        CheckInput(
            jobs=plans,
            bindings=[],
            deliveries=h["deliveries"],
            operations=h["operations"],
            windows=h["windows"],
            observe_start_ns=h["observe_start_ns"],
            observe_end_ns=h["observe_end_ns"],
            replicas=3,
            lateness_p99_ms=sc.expect.lateness_p99_ms,
        )
    )
    assert [s.name for s in result.sources] == [p.name for p in plans]  # one ordinary row per member first
    return fold(result, sc, h["operations"], plans)


DUPLICATE_AND_MISSED = {0: [(0, 5.0)], 1: [(1, 3.0), (2, 900.0)], 3: [(0, 20.0)], 4: [(2, 7.0)]}


def test_the_fold_sums_the_members_and_keeps_their_witnesses_named() -> None:
    sc = parse_scenario(doc())
    result = judged(sc, history(sc, DUPLICATE_AND_MISSED))
    job, fan = result.sources
    assert (job.name, job.verdict, job.duplicates) == ("tick-job", "pass", 0)
    assert fan.name == "tick-fan" and fan.source == "jobs"
    counts = (fan.occurrences, fan.deliveries, fan.duplicates, fan.missed, fan.early, fan.spurious, fan.retries)
    assert counts == (5, 5, 1, 1, 0, 0, 0)
    assert fan.verdict == "fail" and result.verdict == "fail"
    assert (fan.lateness_ms.p50, fan.lateness_ms.max) == (6.0, 20.0)  # over [3, 5, 7, 20]: each member's first
    assert [due for due, _ in fan.lateness_samples] == sorted(due for due, _ in fan.lateness_samples)
    assert len(fan.lateness_samples) == 4
    assert fan.per_replica == {0: 2, 1: 1, 2: 2}
    named = {(w.kind, w.note.split(":")[0]) for w in fan.witnesses}  # each note starts with its member
    assert {("duplicate", "tick-fan-001"), ("missed", "tick-fan-002")} <= named
    assert {member for _, member in named} == {"tick-fan-001", "tick-fan-002"}
    assert fan.notes[0] == "fan-out: 5 one-shot jobs tick-fan-000…004 every 1s; each delivery matched by its job name"
    assert fan.notes[1].startswith("all 5 created before tick-fan-000 was due (0.99 s before)")


def test_a_clean_fanout_passes() -> None:
    sc = parse_scenario(doc())
    result = judged(sc, history(sc, {k: [(k % 3, 4.0)] for k in range(5)}))
    fan = result.sources[1]
    assert (fan.verdict, fan.occurrences, fan.deliveries, fan.duplicates, fan.missed) == ("pass", 5, 5, 0, 0)
    assert result.verdict == "pass"


def test_the_lateness_threshold_applies_to_the_fanouts_p99_not_to_each_member() -> None:
    fan = {"every": "100ms", "count": 101, "start": "1s"}
    late = {k: [(k % 3, 2.0)] for k in range(101)}
    late[50] = [(1, 100.0)]  # one member far later than the rest: its own "p99" is 100 ms
    under = parse_scenario(doc(fan, observe={"duration": "14s"}, expect={"lateness_p99_ms": 50}))
    result = judged(under, history(under, late))
    assert result.sources[1].lateness_ms.p99 == pytest.approx(2.0) and result.sources[1].verdict == "pass"
    assert result.verdict == "pass"
    assert not any("threshold" in n for n in result.sources[1].notes)
    over = parse_scenario(doc(fan, observe={"duration": "14s"}, expect={"lateness_p99_ms": 1}))
    result = judged(over, history(over, late))
    assert result.sources[1].verdict == "fail" and result.verdict == "fail"
    assert "lateness p99 2.0 ms is over the 1 ms threshold" in result.sources[1].notes


def test_member_notes_are_folded_naming_their_members() -> None:
    sc = parse_scenario(doc())
    h = history(sc, {0: [(0, 5.0)]})
    # members 1 to 4 were never created: the checker says why for each, the fold says it once
    h["operations"] = [o for o in h["operations"] if o.kind != "schedule" or o.name in ("tick-job", "tick-fan-000")]
    fan = judged(sc, h).sources[1]
    assert fan.verdict == "unknown"
    assert any(n.startswith("4 members (tick-fan-001, tick-fan-002, …): no schedule operation") for n in fan.notes)


def test_rows_without_fanouts_are_untouched() -> None:
    sc = parse_scenario(doc(sources={"jobs": [{"name": "tick-job", "schedule": "@every 1s"}]}))
    row = SourceResult("jobs", "tick-job", "exactly-once", 3, 1, 1, 0, 0, 0, 0, 0, lateness_of([MS]), {}, {}, "pass")
    result = CheckResult((row,), "pass", ())
    assert fold(result, sc, [], []) is result


# --- the run dir: judged offline, byte for byte; the row in every report ----------------------------------------


def test_judge_rebuilds_the_members_from_the_run_dir_and_reproduces_results(tmp_path: Path) -> None:
    sc = parse_scenario(doc())
    h = history(sc, DUPLICATE_AND_MISSED)
    write_history(
        tmp_path,
        History(
            deliveries=h["deliveries"],
            operations=h["operations"],
            windows=h["windows"],
            observe_start_ns=h["observe_start_ns"],
            observe_end_ns=h["observe_end_ns"],
            collect_end_ns=h["collect_end_ns"],
            replicas=3,
            side_effects={("jobs", "tick-fan-001"): {"naive": 2, "idempotent": 1}},
            ledger_stats={},
        ),
    )
    write_run_info(
        tmp_path,
        RunInfo(
            dapr={"daprd": "1.18.2", "scheduler": "1.18.2", "source": "test"},
            scenario={"name": sc.name, "hash": sc.canonical_hash()},
            host={"node": "ci-1", "python": "3.11.9", "cpus": 2},
            timings={},
        ),
    )
    first = experiment.rejudge(tmp_path, sc).outcome
    written = (tmp_path / store.RESULTS).read_bytes()
    experiment.rejudge(tmp_path, sc)
    assert (tmp_path / store.RESULTS).read_bytes() == written
    fan = first.results["sources"][1]
    assert fan["name"] == "tick-fan" and fan["fanout"]["last"] == "tick-fan-004"
    assert (fan["duplicates"], fan["missed"], fan["side_effects"]) == (1, 1, {"naive": 2, "idempotent": 1})
    assert "fanout" not in first.results["sources"][0]
    with (tmp_path / csv_files.LATENESS_CSV).open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["name"] == "tick-fan"]
    assert len(rows) == 4
    assert "| jobs | tick-fan | 3 | 5 | 5 | 1.00 | 1 | 0 | 1 |" in (tmp_path / summary.SUMMARY_MD).read_text()
    assert "jobs:tick-fan (5 recorded)" in (tmp_path / "report.html").read_text()  # one timeline trace
    assert results.fanout_owners(first.results["sources"])["tick-fan-003"] == "tick-fan"


def test_an_upgrade_sections_deliveries_count_members_under_their_fanout() -> None:
    sc = parse_scenario(doc())
    section = {"phases": [{"deliveries": {"jobs:tick-fan-000": 1, "jobs:tick-fan-004": 2, "jobs:tick-job": 3}}]}
    assert fanout.fold_upgrade(section, sc)["phases"][0]["deliveries"] == {"jobs:tick-fan": 3, "jobs:tick-job": 3}
