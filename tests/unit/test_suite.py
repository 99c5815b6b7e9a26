"""Suite loading, predictions (the schema, the comparisons, the difference text), case outcomes and the suite's
JUnit file (no Dapr: outcomes are built by hand)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from harness.errors import ExitCode
from harness.oracle.results import Results
from harness.report.suite_junit import write_suite_junit as write_junit
from harness.scenario.prediction import COUNTS, Count, Expected, Prediction, parse
from harness.scenario.suite import CaseOutcome, SuiteError, exit_code, load_suite

ROOT = Path(__file__).resolve().parents[2]


def test_the_regression_suite_loads_and_validates_every_scenario() -> None:
    name, cases = load_suite(ROOT / "scenarios" / "regression.yaml")
    assert name == "regression"
    names = [c.name for c in cases]
    assert len(names) == len(set(names)) >= 10
    assert {c.predict for c in cases} == {"pass", "fail", "unknown"}
    only = load_suite(ROOT / "scenarios" / "regression.yaml", only=["handler-404"])[1]
    assert [c.name for c in only] == ["handler-404"]
    skipped = load_suite(ROOT / "scenarios" / "regression.yaml", skip=["handler-404"])[1]
    assert "handler-404" not in [c.name for c in skipped] and len(skipped) == len(cases) - 1


def test_unknown_names_and_bad_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="no scenario named 'nope'"):
        load_suite(ROOT / "scenarios" / "regression.yaml", only=["nope"])
    bad = tmp_path / "s.yaml"
    bad.write_text("name: x\ncases: [{scenario: a.yaml, predicted: pass}]\n")
    with pytest.raises(SuiteError, match="not a valid suite"):
        load_suite(bad)
    with pytest.raises(SuiteError, match="no such suite file"):
        load_suite(tmp_path / "missing.yaml")


def test_outcomes_compare_the_verdict_with_the_prediction(tmp_path: Path) -> None:
    _, cases = load_suite(ROOT / "scenarios" / "regression.yaml")
    held = CaseOutcome(cases[0], "pass", tmp_path, 1.0, "")
    provoked = CaseOutcome(next(c for c in cases if c.predict == "fail"), "fail", tmp_path, 2.0, "dup")
    broken = CaseOutcome(cases[0], "fail", tmp_path, 3.0, "jobs:tick-job duplicates=1")
    crashed = CaseOutcome(cases[0], None, None, 0.5, "error: boom")
    undecided = CaseOutcome(cases[0], "unknown", tmp_path, 0.7, "jobs:tick-job unknown")
    assert [o.outcome for o in (held, provoked, broken, crashed, undecided)] == [
        "pass",
        "pass",
        "fail",
        "error",
        "unknown",
    ]
    # an unmet prediction (1) wins over a case that could not run (4), which wins over an undecided one (2)
    assert exit_code([held, provoked]) == ExitCode.PASS
    assert exit_code([held, undecided]) == ExitCode.UNKNOWN
    assert exit_code([held, crashed, undecided]) == ExitCode.ENVIRONMENT
    assert exit_code([crashed, broken, undecided]) == ExitCode.FAIL

    path = tmp_path / "junit.xml"
    write_junit(path, "regression", [held, provoked, broken, crashed, undecided])
    root = ET.parse(path).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("5", "1", "1", "1")
    testcases = root.findall("testcase")
    kinds = ("system-out", "system-out", "failure", "error", "skipped")
    assert all(t.find(k) is not None for t, k in zip(testcases, kinds, strict=True))
    error = testcases[3].find("error")
    assert error is not None and "the run did not finish: error: boom" in (error.get("message") or "")
    skipped = testcases[4].find("skipped")
    assert skipped is not None and (skipped.get("message") or "").startswith("unknown: the evidence cannot decide")
    props = {p.get("name"): p.get("value") for p in root.findall("properties/property")}
    assert props["onceonly"] not in ("", None)
    case_props = {p.get("name"): p.get("value") for p in testcases[0].findall("properties/property")}
    assert case_props["scenario hash"] == cases[0].scenario.canonical_hash()
    failure = testcases[2].find("failure")
    assert failure is not None and "duplicates=1" in (failure.text or "")
    assert (failure.get("message") or "").startswith(
        "predicted pass, duplicates 0, retries 0, missed 0, early 0, spurious 0; got fail"
    )


# --- predictions: the schema, the comparisons, the differences -------------------------------------------------

HEADLINE = ROOT / "scenarios" / "jobs-vs-cron.yaml"


def suite_file(tmp_path: Path, predict: object) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(
        yaml.safe_dump({"name": "s", "cases": [{"scenario": str(HEADLINE), "predict": predict}]}, sort_keys=False)
    )
    return path


def test_predict_takes_the_verdict_or_a_mapping_of_verdicts_and_counts(tmp_path: Path) -> None:
    [case] = load_suite(suite_file(tmp_path, "fail"))[1]
    assert (case.predict, case.prediction) == ("fail", Prediction(Expected("fail")))
    predict = {
        "verdict": "fail",
        "duplicates": ">=1",
        "missed": 0,
        "early": "0",
        "sources": {"tick-job": {"duplicates": "<= 2", "retries": ">0"}, "tick-cron": {"verdict": "pass"}},
    }
    [case] = load_suite(suite_file(tmp_path, predict))[1]
    assert case.prediction == Prediction(
        Expected("fail", (("duplicates", Count(">=", 1)), ("missed", Count("==", 0)), ("early", Count("==", 0)))),
        (
            ("tick-job", Expected(None, (("duplicates", Count("<=", 2)), ("retries", Count(">", 0))))),
            ("tick-cron", Expected("pass")),
        ),
    )
    assert case.prediction.describe() == (
        "fail, duplicates >=1, missed 0, early 0; tick-job: duplicates <=2, retries >0; tick-cron: pass"
    )


@pytest.mark.parametrize(
    ("count", "holds", "fails"),
    [(2, [2], [1, 3]), ("0", [0], [1]), (">=1", [1, 5], [0]), ("<=2", [0, 2], [3]), (">0", [1], [0]), ("<3", [2], [3])],
)
def test_a_count_is_exact_or_a_comparison(count: object, holds: list[int], fails: list[int]) -> None:
    parsed = parse({"verdict": "pass", "duplicates": count}, "p", "x", []).run.counts[0][1]
    assert all(parsed.holds(n) for n in holds) and not any(parsed.holds(n) for n in fails)


BAD_PREDICTIONS: dict[str, tuple[object, list[str]]] = {
    "not a verdict": (
        "green",
        ["cases.0.predict: expected pass, fail, unknown or a mapping, got 'green'"],
    ),
    "no verdict in a mapping": (
        {"duplicates": 1},
        ["cases.0.predict: missing key 'verdict' (the run's predicted verdict: pass, fail, unknown)"],
    ),
    "a misspelt count": (
        {"verdict": "fail", "duplicate": 1},
        [
            "cases.0.predict: unknown key 'duplicate' (did you mean 'duplicates'?); valid keys: verdict, duplicates, "
            "retries, missed, early, spurious, <count>_per_1000, sources"
        ],
    ),
    "a bad verdict": (
        {"verdict": "failed"},
        ["cases.0.predict.verdict: 'failed' is not valid: must be one of pass, fail, unknown"],
    ),
    "counts that are not counts": (
        {"verdict": "fail", "duplicates": ">= one", "missed": -1, "early": True, "spurious": "=>1"},
        [
            f"cases.0.predict.{key}: {shown} is not a count: give a whole number (2) or a comparison such as "
            '">=1", "<=2", ">0", "==0"'
            for key, shown in (("duplicates", "'>= one'"), ("missed", "-1"), ("early", "true"), ("spurious", "'=>1'"))
        ],
    ),
    "a source the scenario does not have": (
        {"verdict": "pass", "sources": {"tick-jobs": {"duplicates": 0}}},
        [
            "cases.0.predict.sources.tick-jobs: not a source of scenario jobs-vs-cron (did you mean 'tick-job'?); "
            "its sources: tick-job, tick-cron"
        ],
    ),
    "sources inside a source": (
        {"verdict": "pass", "sources": {"tick-job": {"sources": {}, "missed": "x"}}},
        [
            "cases.0.predict.sources.tick-job: unknown key 'sources'; valid keys: verdict, duplicates, retries, "
            "missed, early, spurious, <count>_per_1000",
            "cases.0.predict.sources.tick-job.missed: 'x' is not a count: give a whole number (2) or a comparison "
            'such as ">=1", "<=2", ">0", "==0"',
        ],
    ),
    "a source that is not a mapping": (
        {"verdict": "pass", "sources": {"tick-job": 0}},
        ["cases.0.predict.sources.tick-job: expected a mapping such as {verdict: fail, duplicates: '>=1'}, got 0"],
    ),
}


@pytest.mark.parametrize(("predict", "lines"), BAD_PREDICTIONS.values(), ids=list(BAD_PREDICTIONS))
def test_a_bad_prediction_is_refused_at_load_naming_the_field(
    tmp_path: Path, predict: object, lines: list[str]
) -> None:
    path = suite_file(tmp_path, predict)
    with pytest.raises(SuiteError) as exc:
        load_suite(path)
    assert str(exc.value) == "\n".join(f"{path}: {line}" for line in lines)


def results(verdict: str, *sources: tuple[str, str, dict[str, int]]) -> Results:
    """A partial results.json: the keys a prediction reads (cast: the rest is not needed)."""
    zero = dict.fromkeys(("duplicates", "retries", "missed", "early", "spurious"), 0)
    rows = [{"source": "jobs", "name": n, "policy": "exactly-once", "verdict": v, **zero, **c} for n, v, c in sources]
    return cast(Results, {"verdict": verdict, "sources": rows})


def test_differences_name_each_count_and_verdict_that_did_not_hold() -> None:
    prediction = parse(
        {
            "verdict": "fail",
            "duplicates": ">=3",
            "missed": 0,
            "sources": {"tick-job": {"verdict": "fail", "duplicates": ">=1"}, "tick-fan": {"duplicates": ">=1"}},
        },
        "p",
        "x",
        ["tick-job", "tick-fan"],
    )
    held = results("fail", ("tick-job", "fail", {"duplicates": 1}), ("tick-fan", "fail", {"duplicates": 4}))
    assert prediction.differences(held) == []
    run = results("fail", ("tick-job", "pass", {}), ("tick-fan", "fail", {"duplicates": 2, "missed": 1}))
    assert prediction.differences(run) == [
        "duplicates: predicted >=3, got 2",  # run-level counts are sums over the sources
        "missed: predicted 0, got 1",
        "tick-job verdict: predicted fail, got pass",
        "tick-job duplicates: predicted >=1, got 0",
    ]
    assert prediction.differences(results("pass", ("tick-job", "fail", {"duplicates": 3}))) == [
        "verdict: predicted fail, got pass",
        "tick-fan: predicted, but the run has no such source",
    ]


def test_a_case_whose_verdict_held_and_counts_did_not_fails_with_each_difference(tmp_path: Path) -> None:
    predict = {"verdict": "fail", "sources": {"tick-job": {"duplicates": ">=1"}, "tick-cron": {"duplicates": 0}}}
    [case] = load_suite(suite_file(tmp_path, predict))[1]
    run = results("fail", ("tick-job", "pass", {}), ("tick-cron", "fail", {"missed": 2}))
    outcome = CaseOutcome.judged(case, run, tmp_path, 1.0)
    assert outcome.differences == ("tick-job duplicates: predicted >=1, got 0",)
    assert outcome.outcome == "fail"
    assert CaseOutcome.judged(case, results("unknown", ("tick-job", "pass", {})), tmp_path, 1.0).outcome == "unknown"
    run = results("fail", ("tick-job", "fail", {"duplicates": 2}), ("tick-cron", "fail", {"missed": 2}))
    held = CaseOutcome.judged(case, run, tmp_path, 1.0)
    assert held.outcome == "pass"

    path = tmp_path / "junit.xml"
    write_junit(path, "s", [outcome, held])
    failure = ET.parse(path).getroot().findall("testcase")[0].find("failure")
    assert failure is not None
    assert (failure.text or "").startswith("differs: tick-job duplicates: predicted >=1, got 0\n")
    assert "predicted fail; tick-job: duplicates >=1; tick-cron: duplicates 0; got fail" in (
        failure.get("message") or ""
    )


def test_a_prediction_may_accept_several_verdicts() -> None:
    p = parse({"verdict": ["pass", "unknown"], "missed": 0}, "cases.0.predict", "s", ["job"])
    assert p.run.verdicts == ("pass", "unknown")
    assert p.describe() == "pass or unknown, missed 0"
    doc = cast(
        Results, {"verdict": "unknown", "sources": [{"name": "job", "verdict": "unknown", **dict.fromkeys(COUNTS, 0)}]}
    )
    assert p.differences(doc) == []
    doc["verdict"] = "fail"
    assert p.differences(doc) == ["verdict: predicted pass or unknown, got fail"]


def test_the_evidence_after_the_table_names_each_unheld_case_its_witnesses_and_their_deliveries(
    tmp_path: Path,
) -> None:
    from harness.report.terminal import suite_evidence

    [case] = load_suite(suite_file(tmp_path, {"verdict": "unknown", "duplicates": 0}))[1]
    run = results("fail", ("tick-job", "fail", {"duplicates": 1}))
    delivery = {
        "replica": 0,
        "received_ns": 7,
        "late_ms": -9400.0,
        "status": 200,
        "cut_off": False,
        "delivery_id": "d1",
    }
    witness = {"kind": "duplicate", "due_ns": 1, "note": "re-sent", "replicas": [0], "spread_ms": None}
    run["sources"][0]["witnesses"] = [cast(Any, {**witness, "deliveries": [delivery]})]
    failed = CaseOutcome.judged(case, run, tmp_path / "run", 1.0)
    held = CaseOutcome.judged(case, results("unknown", ("tick-job", "unknown", {})), tmp_path / "held", 1.0)
    text = suite_evidence([held, failed])
    assert text is not None
    assert text.plain.splitlines() == [
        "evidence of the cases that did not hold:",
        f"{case.name}: fail ({tmp_path / 'run'})",
        "  differs: verdict: predicted unknown, got fail",
        "  differs: duplicates: predicted 0, got 1",
        "  jobs:tick-job (exactly-once) fail: duplicates=1",
        "    duplicate: re-sent",
        "      delivery d1 to replica 0 at 7 ns, 9400 ms before its due, answered 200",
    ]
    assert suite_evidence([held]) is None  # every case held: nothing after the table
