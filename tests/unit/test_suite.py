"""Suite loading, case outcomes and the suite's JUnit file (no Dapr: outcomes are built by hand)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.suite import CaseOutcome, SuiteError, load_suite, worst, write_junit

ROOT = Path(__file__).resolve().parents[2]


def test_the_regression_suite_loads_and_validates_every_scenario() -> None:
    name, cases = load_suite(ROOT / "scenarios" / "regression.yaml")
    assert name == "regression"
    names = [c.name for c in cases]
    assert len(names) == len(set(names)) >= 10
    assert {c.predict for c in cases} == {"pass", "fail"}
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
    assert [o.outcome for o in (held, provoked, broken, crashed)] == ["pass", "pass", "fail", "unknown"]
    assert (
        worst([held, provoked]) == "pass" and worst([held, crashed]) == "unknown" and worst([crashed, broken]) == "fail"
    )

    path = tmp_path / "junit.xml"
    write_junit(path, "regression", [held, provoked, broken, crashed])
    root = ET.parse(path).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("4", "1", "1")
    failure = root.findall("testcase")[2].find("failure")
    assert failure is not None and "duplicates=1" in (failure.text or "")
    assert "predicted pass, got fail" in (failure.get("message") or "")
