"""The report writers on hand-built results: results.json keys and types, junit.xml, summary.md, CSVs, the table."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from harness.io import csv_files
from harness.io.stage_files import write_results
from harness.model import NS, Delivery, Lateness, Operation, SourceResult, Witness
from harness.oracle import results
from harness.oracle.claims import ActionResult
from harness.oracle.results import Results
from harness.report import junit, summary, terminal_results, words

DUE = 1_767_225_600 * NS  # 2026-01-01T00:00:00Z


def delivery(replica: int, offset_ms: float, *, status: int = 200, name: str = "tick-job") -> Delivery:
    return Delivery(
        delivery_id=f"d-{name}-{replica}-{offset_ms}",
        source="jobs",
        name=name,
        replica=replica,
        received_ns=DUE + int(offset_ms * 1e6),
        status=status,
        headers={"traceparent": "00-ab-cd-01"},
    )


def source(**overrides: Any) -> SourceResult:
    base: dict[str, Any] = {
        "source": "jobs",
        "name": "ok-job",
        "policy": "exactly-once",
        "replicas": 3,
        "occurrences": 30,
        "deliveries": 30,
        "duplicates": 0,
        "retries": 0,
        "missed": 0,
        "early": 0,
        "spurious": 0,
        "lateness_ms": Lateness(p50=1.25, p95=3.0, p99=4.75, max=9.5),
        "per_replica": {2: 10, 0: 10, 1: 10},
        "side_effects": {"naive": 30, "idempotent": 30},
        "verdict": "pass",
    }
    return SourceResult(**(base | overrides))


PASSING = source()
DUPLICATED = source(
    name="tick-job",
    occurrences=30,
    deliveries=31,
    duplicates=1,
    retries=2,
    per_replica={0: 11, 1: 10, 2: 10},
    side_effects={"naive": 31, "idempotent": 30},
    verdict="fail",
    witnesses=(
        Witness("duplicate", "jobs", "tick-job", DUE, (delivery(0, 2.0), delivery(2, 14.5)), note="after a success"),
        Witness("retry", "jobs", "tick-job", DUE + NS, (delivery(1, 1001.0, status=500), delivery(1, 2002.0))),
    ),
    notes=("replica 0 took the duplicate",),
)
UNKNOWN_BINDING = source(
    source="binding",
    name="tick",
    policy="contract",
    occurrences=0,
    deliveries=0,
    lateness_ms=Lateness(None, None, None, None),
    per_replica={},
    side_effects={"naive": 0, "idempotent": 0},
    verdict="unknown",
    notes=("no tick fell inside any replica window",),
)


@dataclass(frozen=True)
class FakeCheck:
    sources: tuple[SourceResult, ...]
    verdict: str
    notes: tuple[str, ...] = ()


def document(*sources: SourceResult, verdict: str = "fail", notes: tuple[str, ...] = ()) -> Results:
    return results.results_document(
        FakeCheck(sources or (PASSING, DUPLICATED, UNKNOWN_BINDING), verdict, notes),
        dapr={"daprd": "1.18.3", "scheduler": "1.18.3"},
        scenario={"name": "jobs-vs-cron", "hash": "abc123"},
        host={"node": "ci-1", "python": "3.11.9", "cpus": 8},
        timings={"cluster_ready_s": 4.2, "observe_and_quiesce_s": 65.0},
        faults=[{"at_s": 10.0, "kind": "kill", "target": "daprd-1"}],
    )


@pytest.fixture
def doc() -> Results:
    return document(notes=("ledger complete",))


SOURCE_TYPES: dict[str, type | tuple[type, ...]] = {
    "source": str,
    "name": str,
    "replicas": int,
    "occurrences": int,
    "received": int,
    "uncounted": dict,
    "deliveries": int,
    "deliveries_per_occurrence": (float, type(None)),
    "duplicates": int,
    "retries": int,
    "missed": int,
    "early": int,
    "spurious": int,
    "lateness_ms": dict,
    "per_replica": dict,
    "side_effects": dict,
    "policy": str,
    "verdict": str,
    "witnesses": list,
    "notes": list,
}


def test_results_json_has_every_documented_key_with_its_type(tmp_path: Path, doc: Results) -> None:
    path = write_results(tmp_path, doc)
    data = json.loads(path.read_text())
    assert data == doc  # nothing is lost to JSON
    assert set(data) == {
        "schema",
        "verdict",
        "dapr",
        "scenario",
        "host",
        "timings",
        "faults",
        "notes",
        "sources",
        "actions",
    }
    assert data["actions"] == []
    assert data["schema"] == results.SCHEMA == 1
    assert data["verdict"] == "fail"
    assert data["dapr"] == {"daprd": "1.18.3", "scheduler": "1.18.3"}
    assert data["scenario"] == {"name": "jobs-vs-cron", "hash": "abc123"}
    assert data["host"]["cpus"] == 8 and data["timings"]["cluster_ready_s"] == 4.2
    assert data["faults"] == [{"at_s": 10.0, "kind": "kill", "target": "daprd-1"}]
    assert data["notes"] == ["ledger complete"]
    assert [s["name"] for s in data["sources"]] == ["ok-job", "tick-job", "tick"]
    for src in data["sources"]:
        assert set(src) == set(SOURCE_TYPES)
        for key, typ in SOURCE_TYPES.items():
            assert isinstance(src[key], typ), key
        assert set(src["lateness_ms"]) == {"p50", "p95", "p99", "max"}
        assert set(src["side_effects"]) == {"naive", "idempotent"}
        assert all(isinstance(k, str) and isinstance(v, int) for k, v in src["per_replica"].items())


def test_results_figures_and_witnesses(doc: Results) -> None:
    ok, dup, unknown = doc["sources"]
    assert ok["per_replica"] == {"0": 10, "1": 10, "2": 10}
    assert list(ok["per_replica"]) == ["0", "1", "2"]
    assert ok["lateness_ms"] == {"p50": 1.25, "p95": 3.0, "p99": 4.75, "max": 9.5}
    assert ok["deliveries_per_occurrence"] == 1.0
    assert dup["deliveries_per_occurrence"] == round(31 / 30, 4)
    assert unknown["deliveries_per_occurrence"] is None
    assert unknown["lateness_ms"] == {"p50": None, "p95": None, "p99": None, "max": None}
    first, retry = dup["witnesses"]
    assert first == {
        "kind": "duplicate",
        "due_ns": DUE,
        "note": "after a success",
        "replicas": [0, 2],
        "spread_ms": 12.5,
        "deliveries": [
            {
                "replica": 0,
                "received_ns": DUE + 2_000_000,
                "late_ms": 2.0,
                "status": 200,
                "cut_off": False,
                "delivery_id": "d-tick-job-0-2.0",
            },
            {
                "replica": 2,
                "received_ns": DUE + 14_500_000,
                "late_ms": 14.5,
                "status": 200,
                "cut_off": False,
                "delivery_id": "d-tick-job-2-14.5",
            },
        ],
    }
    assert retry["kind"] == "retry" and [d["status"] for d in retry["deliveries"]] == [500, 200]
    assert dup["notes"] == ["replica 0 took the duplicate"]


def test_a_witness_without_due_time_or_with_one_delivery() -> None:
    spurious = Witness("spurious", "jobs", "gone", None, (delivery(1, 0.0, name="gone"),))
    doc = document(source(name="gone", spurious=1, verdict="fail", witnesses=(spurious,)))
    (w,) = doc["sources"][0]["witnesses"]
    assert w["due_ns"] is None and w["spread_ms"] is None and w["deliveries"][0]["late_ms"] is None


def test_a_cut_off_witness_delivery_says_so_in_results_and_summary() -> None:
    first = delivery(0, 2.0)
    cut = Delivery("d-cut", "jobs", "tick-job", 1, DUE + 1_100_000_000, None)  # arrival recorded, no answer
    dup = Witness("duplicate", "jobs", "tick-job", DUE, (cut, first), "after a cut-off attempt")
    doc = document(source(duplicates=1, verdict="fail", witnesses=(dup,)))
    (w,) = doc["sources"][0]["witnesses"]
    assert [(d["status"], d["cut_off"]) for d in w["deliveries"]] == [(None, True), (200, False)]
    line = words.witness_line(w)
    assert "replica 1 at" in line and "(+1100.0 ms) cut off (no answer)" in line
    assert "(+2.0 ms), replica 0" not in line and "answered None" not in line


def test_a_busy_fault_line_names_the_delivery_in_flight() -> None:
    fault = {
        "kind": "kill",
        "target": 3,
        "part": "both",
        "signal": "KILL",
        "injected_ns": DUE,
        "healed_ns": None,
        "note": "busy: picked a replica holding a Jobs API delivery",
        "in_flight": {"delivery_id": "9f1c", "source": "jobs", "name": "tick-job", "received_ns": DUE - 1},
    }
    assert words.fault_line(fault).endswith(
        "no heal — busy: picked a replica holding a Jobs API delivery; in flight: delivery 9f1c (jobs tick-job)"
    )
    assert words.fault_line({**fault, "in_flight": None}).endswith("a Jobs API delivery")


def test_the_document_is_deterministic(tmp_path: Path) -> None:
    first = write_results(tmp_path, document()).read_text()
    second = write_results(tmp_path, document()).read_text()
    assert first == second
    assert not list(tmp_path.glob("*.tmp"))


def test_junit_has_one_testcase_per_source_and_fails_only_failing_ones(tmp_path: Path, doc: Results) -> None:
    root = ET.parse(junit.write_junit(tmp_path, doc, suite_name="jobs-vs-cron")).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "jobs-vs-cron"
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("errors")) == (
        "3",
        "1",
        "1",
        "0",
    )
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["daprd"] == "1.18.3" and props["verdict"] == "fail" and props["scenario_hash"] == "abc123"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == ["jobs:ok-job", "jobs:tick-job", "binding:tick"]
    assert cases["jobs:ok-job"].find("failure") is None and cases["jobs:ok-job"].find("skipped") is None
    failure = cases["jobs:tick-job"].find("failure")
    assert failure is not None
    assert failure.get("message") == "duplicates=1, retries=2 (policy exactly-once)"
    assert "deliveries=31" in (failure.text or "") and "retries=2" in (failure.text or "")
    assert "duplicate, due 2026-01-01T00:00:00.000Z: replica 0" in (failure.text or "")
    assert "12.5 ms apart" in (failure.text or "")
    assert cases["binding:tick"].find("failure") is None
    skipped = cases["binding:tick"].find("skipped")
    assert skipped is not None and skipped.get("message") == "no tick fell inside any replica window"
    assert [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None] == ["jobs:tick-job"]


def test_junit_adds_a_run_case_when_the_run_is_worse_than_its_sources(tmp_path: Path) -> None:
    doc = document(PASSING, verdict="unknown", notes=("ledger gap: replica 2's journal unreadable",))
    root = ET.parse(junit.write_junit(tmp_path, doc, "s")).getroot()
    cases = root.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == ["jobs:ok-job", "run"]
    skipped = cases[1].find("skipped")
    assert skipped is not None and "ledger gap" in (skipped.get("message") or "")


def test_a_failure_without_counts_says_why(tmp_path: Path) -> None:
    late = source(name="slow", verdict="fail", notes=("lateness p99 812.0 ms > 500 ms",))
    root = ET.parse(junit.write_junit(tmp_path, document(late), "s")).getroot()
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and failure.get("message") == "lateness p99 812.0 ms > 500 ms (policy exactly-once)"


def test_junit_all_passing(tmp_path: Path) -> None:
    root = ET.parse(junit.write_junit(tmp_path, document(PASSING, verdict="pass"), "s")).getroot()
    assert [c.get("name") for c in root.iter("testcase")] == ["jobs:ok-job"]
    assert root.get("failures") == "0" and root.get("skipped") == "0"


def test_summary_md_has_versions_the_table_and_the_witnesses(tmp_path: Path, doc: Results) -> None:
    text = summary.write_summary_md(tmp_path, doc).read_text()
    assert text.startswith("# onceonly: jobs-vs-cron — FAIL\n")
    assert "- Dapr: daprd 1.18.3, scheduler 1.18.3" in text
    assert "| source | name | replicas | occurrences | deliveries | deliveries/occurrence |" in text
    rows = [line for line in text.splitlines() if line.startswith("| jobs |") or line.startswith("| binding |")]
    assert rows == [
        "| jobs | ok-job | 3 | 30 | 30 | 1.00 | 0 | 0 | 0 | 0 | 0 | 1.2 / 4.8 | 30 / 30 | exactly-once | pass |",
        "| jobs | tick-job | 3 | 30 | 31 | 1.03 | 1 | 2 | 0 | 0 | 0 | 1.2 / 4.8 | 31 / 30 | exactly-once | fail |",
        "| binding | tick | 3 | 0 | 0 | - | 0 | 0 | 0 | 0 | 0 | - / - | 0 / 0 | contract | unknown |",
    ]
    assert "### jobs:tick-job (exactly-once, fail): duplicates=1" in text
    assert "- duplicate, due 2026-01-01T00:00:00.000Z: replica 0 at 2026-01-01T00:00:00.002Z (+2.0 ms)" in text
    assert "- retry, due 2026-01-01T00:00:01.000Z: replica 1 at 2026-01-01T00:00:01.001Z (+1.0 ms) answered 500" in text
    assert "### jobs:ok-job" not in text
    assert "- binding:tick: no tick fell inside any replica window" in text
    assert "- ledger complete" in text


def test_summary_md_without_anomalies(tmp_path: Path) -> None:
    text = summary.write_summary_md(tmp_path, document(PASSING, verdict="pass")).read_text()
    assert "None: no duplicate, missed, early or spurious delivery." in text


def test_summary_md_caps_witnesses(tmp_path: Path) -> None:
    many = tuple(
        Witness("duplicate", "jobs", "j", DUE + i * NS, (delivery(0, i * 1000.0), delivery(1, i * 1000.0 + 1)))
        for i in range(words.WITNESSES_SHOWN + 2)
    )
    text = summary.write_summary_md(
        tmp_path, document(source(duplicates=7, verdict="fail", witnesses=many))
    ).read_text()
    assert text.count("- duplicate, due") == words.WITNESSES_SHOWN
    assert "… and 2 more witness(es) in results.json" in text


def test_ledger_csvs_round_trip(tmp_path: Path) -> None:
    deliveries = [delivery(0, 1.5), delivery(2, 3.0, status=503), delivery(1, 4.0, name='odd, "name"\nwith newline')]
    operations = [
        Operation(
            "op1", "schedule", "tick-job", "invoke", DUE, {"body": {"schedule": "@every 1s"}, "path": "/v1.0/jobs/x"}
        ),
        Operation("op1", "schedule", "tick-job", "ok", DUE + 5, {"status": 204}),
        Operation("op2", "fault", "kill daprd-1", "info", DUE + 9, {}),
    ]
    csv_files.write_ledger_csv(tmp_path, deliveries, operations)
    header = (tmp_path / csv_files.DELIVERIES_CSV).read_text().splitlines()[0]
    assert header == "delivery_id,source,name,replica,received_ns,status,headers,answered_ns,effects"
    assert (tmp_path / csv_files.OPERATIONS_CSV).read_text().splitlines()[0] == "op_id,kind,name,phase,at_ns,detail"
    assert csv_files.read_ledger_csv(tmp_path) == (deliveries, operations)


def test_empty_ledger_csvs(tmp_path: Path) -> None:
    csv_files.write_ledger_csv(tmp_path, [], [])
    assert csv_files.read_ledger_csv(tmp_path) == ([], [])


def render(doc: Results) -> str:
    console = Console(record=True, width=200, color_system=None, file=io.StringIO())
    console.print(terminal_results.verdict_table(doc))
    return console.export_text()


def test_verdict_table_renders_one_row_per_source(doc: Results) -> None:
    text = render(doc)
    assert "onceonly jobs-vs-cron on daprd 1.18.3: FAIL" in text
    for header in ("source", "occur.", "dup.", "retries", "missed", "early", "spur.", "p50 / p99", "policy", "verdict"):
        assert header in text
    rows = [" ".join(line.split()) for line in text.splitlines()]
    assert "jobs ok-job 3 30 30 1.00 0 0 0 0 0 1.2 / 4.8 30 / 30 exactly-once pass" in rows
    assert "jobs tick-job 3 30 31 1.03 1 2 0 0 0 1.2 / 4.8 31 / 30 exactly-once fail" in rows
    assert "binding tick 3 0 0 - 0 0 0 0 0 - / - 0 / 0 contract unknown" in rows


def test_verdict_table_fits_a_120_column_terminal(doc: Results) -> None:
    console = Console(width=200, file=io.StringIO())
    assert console.measure(terminal_results.verdict_table(doc)).maximum <= 120


def test_verdict_is_coloured() -> None:
    table = terminal_results.verdict_table(document())
    verdict_cells = list(table.columns[-1].cells)
    assert [(str(c), getattr(c, "style", None)) for c in verdict_cells] == [
        ("pass", "bold green"),
        ("fail", "bold red"),
        ("unknown", "bold yellow"),
    ]


def test_summary_md_places_each_witness_against_the_fault_windows(tmp_path: Path) -> None:
    ws = (
        Witness("duplicate", "jobs", "j", DUE, (delivery(0, 0.0), delivery(1, 5.0))),  # before any fault
        Witness("duplicate", "jobs", "j", DUE + 3 * NS, (delivery(0, 3000.0), delivery(1, 3001.0))),  # during #0
        Witness("missed", "jobs", "j", DUE + 7 * NS, ()),  # 2 s after #0 was healed
        Witness("duplicate", "jobs", "j", DUE + 30 * NS, (delivery(0, 30000.0), delivery(1, 30001.0))),  # long after
        Witness("duplicate", "jobs", "j", DUE + 40 * NS, (delivery(0, 40000.0), delivery(1, 40010.0))),  # #1 struck
    )
    doc = results.results_document(
        FakeCheck((source(name="j", duplicates=3, missed=1, verdict="fail", witnesses=ws),), "fail"),
        dapr={"daprd": "1.18.2", "scheduler": "1.18.2"},
        scenario={"name": "s", "hash": "h"},
        host={},
        timings={},
        faults=[
            {"kind": "network-blackhole", "target": -1, "injected_ns": DUE + NS, "healed_ns": DUE + 5 * NS},
            {"kind": "kill", "target": 0, "injected_ns": DUE + 40 * NS + 2_000_000, "healed_ns": DUE + 42 * NS},
        ],
    )
    lines = [ln for ln in summary.write_summary_md(tmp_path, doc).read_text().splitlines() if ln.startswith("- ")]
    witnessed = [ln for ln in lines if ln.startswith(("- duplicate", "- missed"))]
    assert [ln.partition(" [")[2] for ln in witnessed] == [
        "",
        "during fault #0 network-blackhole, 2.0 s in]",
        "2.0 s after fault #0 network-blackhole was healed]",
        "",
        "during fault #1 kill, 0.0 s in]",  # the kill came 2 ms after the first delivery, 8 ms before the second
    ]
    assert "- fault network-blackhole on the link daprd ↔ every scheduler member" in "\n".join(lines)


@dataclass(frozen=True)
class FakeCheckWithActions(FakeCheck):
    actions: tuple[ActionResult, ...] = ()


def _action(index: int, status: int | None, expect: int | None, verdict: str) -> ActionResult:
    return ActionResult(
        index=index,
        at_s=4.0,
        op="schedule",
        job="tick-job",
        op_id=f"op{index}",
        phase="fail" if status == 409 else "ok",
        status=status,
        error_code="DAPR_SCHEDULER_SCHEDULE_JOB" if status == 409 else None,
        not_found=False,
        expect_status=expect,
        verdict=verdict,  # type: ignore[arg-type]
        note=f"schedule tick-job at 4s: answered {status}",
    )


def test_actions_are_in_results_summary_and_junit(tmp_path: Path) -> None:
    claimed, plain = _action(0, 409, 409, "pass"), _action(1, 204, None, "pass")
    result = FakeCheckWithActions((PASSING,), "pass", (), (claimed, plain))
    doc = results.results_document(
        result,
        dapr={"daprd": "1.18.2", "scheduler": "1.18.2"},
        scenario={"name": "overwrite", "hash": "abc"},
        host={},
        timings={},
    )
    first = doc["actions"][0]
    assert first == {
        "index": 0,
        "at_s": 4.0,
        "op": "schedule",
        "job": "tick-job",
        "op_id": "op0",
        "phase": "fail",
        "status": 409,
        "error_code": "DAPR_SCHEDULER_SCHEDULE_JOB",
        "not_found": False,
        "expect_status": 409,
        "verdict": "pass",
        "note": "schedule tick-job at 4s: answered 409",
    }
    assert json.loads(write_results(tmp_path, doc).read_text())["actions"][1]["expect_status"] is None
    text = summary.write_summary_md(tmp_path, doc).read_text()
    assert "## Actions" in text and "- pass: schedule tick-job at 4s: answered 409" in text
    cases = ET.parse(junit.write_junit(tmp_path, doc, "overwrite")).getroot().iter("testcase")
    assert [c.get("name") for c in cases] == ["jobs:ok-job", "action:0:schedule:tick-job"]  # only claims are cases


def test_results_carry_the_onceonly_and_the_build_only_when_run_json_had_them() -> None:
    plain = document()
    assert "onceonly" not in plain and "commit" not in plain["dapr"]
    known = results.results_document(
        FakeCheck((PASSING,), "pass", ()),
        dapr={"daprd": "1.18.2", "scheduler": "1.18.2", "commit": "abc", "go": "go1.26.8"},
        scenario={"name": "jobs-vs-cron", "hash": "abc123"},
        host={"node": "ci-1", "python": "3.11.9", "cpus": 8},
        timings={},
        onceonly="9.9.9",
    )
    assert known["onceonly"] == "9.9.9"
    assert (known["dapr"].get("commit"), known["dapr"].get("go")) == ("abc", "go1.26.8")
