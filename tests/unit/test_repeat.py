"""Repeated runs through the CLI (issue 13, item 3): ``run --repeat N`` and ``suite --repeat N`` / ``repeat:``,
with a FAKE engine (``experiment.run`` returns the next of a list of judged documents, or raises), so nothing is
built or started. The set's layout, rates.json, the exit code over the runs, the suite's JUnit for a repeated case
and rate bounds that hold, fail or cannot be decided."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from harness.campaign import experiment
from tests.unit.test_exit_codes import HEADLINE, exit_of, isolated

__all__ = ["isolated"]  # the autouse fixture: a FAKE binaries lookup, quiet consoles


def judged(verdict: str, tick_job_duplicates: int = 0, occurrences: int = 20) -> dict[str, Any]:
    def src(name: str, duplicates: int) -> dict[str, Any]:
        counts = {"duplicates": duplicates, "retries": 0, "missed": 0, "early": 0, "spurious": 0}
        return {
            "source": "jobs",
            "name": name,
            "policy": "exactly-once",
            "occurrences": occurrences,
            "verdict": verdict,
            **counts,
        }

    return {
        "verdict": verdict,
        "sources": [src("tick-job", tick_job_duplicates), src("tick-cron", 0)],
        "dapr": {"daprd": "1.18.2", "scheduler": "1.18.2"},
    }


def engine(*behaviours: Any) -> Callable[..., SimpleNamespace]:
    """The FAKE engine: the i-th call returns (or raises) the i-th behaviour."""
    queue: Iterator[Any] = iter(behaviours)

    def run(*_a: Any, **_k: Any) -> SimpleNamespace:
        behaviour = next(queue)
        if isinstance(behaviour, BaseException):
            raise behaviour
        return SimpleNamespace(results=behaviour)

    return run


def test_run_repeat_makes_a_set_with_rates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(experiment, "run", engine(judged("pass"), judged("fail", 2), judged("pass")))
    reports = tmp_path / "r"
    assert exit_of(["run", str(HEADLINE), "--repeat", "3", "--reports", str(reports)]) == 1
    (set_dir,) = (reports / "jobs-vs-cron").iterdir()
    assert set_dir.name.endswith("-x3") and sorted(p.name for p in set_dir.iterdir()) == [
        "rates.json",
        "run-1",
        "run-2",
        "run-3",
    ]
    doc = json.loads((set_dir / "rates.json").read_text())
    assert [r["verdict"] for r in doc["runs"]] == ["pass", "fail", "pass"] and doc["planned_runs"] == 3
    dup = doc["rates"]["run"]["duplicates"]
    assert (dup["events"], dup["runs_with"], dup["per_1000"]) == (2, 1, round(2000 / 120, 3))
    low, high = dup["per_1000_interval"]
    assert low < dup["per_1000"] < high
    out = capsys.readouterr().out
    assert "run 2: verdict fail" in out and "per 1,000 occurrences [95% interval]" in out


def test_run_repeat_with_a_run_that_could_not_finish_is_an_environment_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.errors import ClusterError

    monkeypatch.setattr(experiment, "run", engine(judged("pass"), ClusterError("FAKE: not ready"), judged("unknown")))
    reports = tmp_path / "r"
    assert exit_of(["run", str(HEADLINE), "--repeat", "3", "--reports", str(reports)]) == 4
    doc = json.loads(next((reports / "jobs-vs-cron").glob("*/rates.json")).read_text())
    assert doc["runs"][1]["error"] == "error: FAKE: not ready" and doc["rates"]["runs"] == 2


def test_run_repeat_refuses_zero(tmp_path: Path) -> None:
    assert exit_of(["run", str(HEADLINE), "--repeat", "0", "--reports", str(tmp_path / "r")]) == 3
    assert not (tmp_path / "r").exists()


def suite(tmp_path: Path, **case: Any) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "cases": [{"scenario": str(HEADLINE), **case}]}))
    return path


@pytest.mark.parametrize(
    ("predict", "runs", "code", "testcase_child"),
    [
        # a duplicate in one run of three: not predicted per run, so the case fails, naming the run
        ({"verdict": "pass"}, [judged("pass"), judged("fail", 1), judged("pass")], 1, "failure"),
        # the rate bound is what the case predicts: 1 in 60 occurrences of tick-job, all of [0.4, 93] under 100
        (
            {"verdict": ["pass", "fail"], "sources": {"tick-job": {"duplicates_per_1000": "<=100"}}},
            [judged("pass"), judged("fail", 1), judged("pass")],
            0,
            "system-out",
        ),
        # under 10 per 1,000 cannot be told from 3 runs of 20 occurrences with one duplicate: unknown, not a guess
        (
            {"verdict": ["pass", "fail"], "sources": {"tick-job": {"duplicates_per_1000": "<10"}}},
            [judged("pass"), judged("fail", 1), judged("pass")],
            2,
            "skipped",
        ),
        # 30 duplicates in 60 occurrences: all of the interval over 100 per 1,000
        (
            {"verdict": "fail", "duplicates_per_1000": "<=100"},
            [judged("fail", 10)] * 3,
            1,
            "failure",
        ),
    ],
    ids=["a run differs", "the bound holds", "the bound cannot be decided", "the bound fails"],
)
def test_a_repeated_suite_case(
    predict: Any, runs: list[Any], code: int, testcase_child: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(experiment, "run", engine(*runs))
    reports, junit = tmp_path / "r", tmp_path / "junit.xml"
    path = suite(tmp_path, predict=predict)
    assert exit_of(["suite", str(path), "--repeat", "3", "--reports", str(reports), "--junit", str(junit)]) == code
    case = ET.parse(junit).getroot().find("testcase")
    assert case is not None and case.find(testcase_child) is not None
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["runs"] == "3" and str(props["run 2"]).endswith("/run-2")
    (set_dir,) = (reports / "jobs-vs-cron").iterdir()
    assert props["run dir"] == str(set_dir) and (set_dir / "rates.json").is_file()
    assert ET.parse(set_dir / "run-2" / "junit.xml").getroot().get("tests") == "1"  # each run: the suite's view


def test_a_cases_own_repeat_wins_over_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(experiment, "run", engine(*[judged("pass")] * 2))
    reports = tmp_path / "r"
    path = suite(tmp_path, repeat=2)
    assert (
        exit_of(["suite", str(path), "--repeat", "5", "--reports", str(reports), "--junit", str(tmp_path / "j")]) == 0
    )
    (set_dir,) = (reports / "jobs-vs-cron").iterdir()
    assert set_dir.name.endswith("-x2")


def test_a_bad_repeat_in_a_suite_is_bad_input(tmp_path: Path) -> None:
    path = suite(tmp_path, repeat=0)
    assert exit_of(["suite", str(path), "--reports", str(tmp_path / "r")]) == 3
    assert not (tmp_path / "r").exists()


def test_run_repeat_json_prints_the_sets_rates_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(experiment, "run", engine(judged("pass"), judged("fail", 1)))
    assert exit_of(["run", str(HEADLINE), "--repeat", "2", "--json", "--reports", str(tmp_path / "r")]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["exit_code"] == 1 and summary["planned_runs"] == 2
    assert summary["rates"]["run"]["duplicates"]["runs_with"] == 1
    assert Path(summary["set_dir"], "rates.json").is_file()
