"""-q / --quiet and -v / --verbose (issue 13, item 7): quiet prints only errors and the final line, verbose each
progress step as a line and every witness; the exit code is the same in every mode; both together are bad input.

The engine is a FAKE (``experiment.run`` reports a progress step, counts down a few milliseconds and returns a
judged document with witnesses; ``experiment.rejudge`` returns one), binaries are never looked for, so nothing is
built or started.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from harness.campaign import experiment
from harness.errors import ClusterError, ExitCode
from harness.io.stage_files import write_results
from harness.report import terminal
from tests.unit.test_exit_codes import HEADLINE, exit_of, isolated  # noqa: F401 (isolated: an autouse fixture)
from tests.unit.test_report import PASSING, document

STEP, COUNTDOWN = "starting the cluster (FAKE)", "observing (FAKE)"
WITNESS_NOTE = "after a success"  # a witness of test_report's document: in no table, only in the witness lines
PRINT_RESULTS = terminal.print_results  # test_exit_codes' fixture makes it draw nothing; these tests read it


@pytest.fixture(autouse=True)
def drawing(isolated: None, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(terminal, "print_results", PRINT_RESULTS)


def engine(verdict: str | BaseException) -> Callable[..., SimpleNamespace]:
    """A FAKE experiment.run: two progress steps, a short countdown, then a judged run (or the error given)."""

    def run(
        *_a: Any, progress: Callable[[str], None], countdown: Callable[[str, float], None] | None = None, **_k: Any
    ) -> SimpleNamespace:
        progress(STEP)
        if countdown is not None:
            countdown(COUNTDOWN, 0.01)
        if isinstance(verdict, BaseException):
            raise verdict
        return SimpleNamespace(results=document(verdict=verdict))

    return run


def run_argv(tmp_path: Path) -> list[str]:
    return ["run", str(HEADLINE), "--reports", str(tmp_path / "r")]


def test_quiet_and_verbose_together_are_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_of(["-q", "-v", *run_argv(tmp_path)]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert "-q/--quiet and -v/--verbose cannot be used together" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("mode", [[], ["-q"], ["-v"], ["--quiet"], ["--verbose"]], ids=lambda m: " ".join(m) or "-")
@pytest.mark.parametrize(
    ("behaviour", "code"),
    [
        ("pass", ExitCode.PASS),
        ("fail", ExitCode.FAIL),
        ("unknown", ExitCode.UNKNOWN),
        (ClusterError("scheduler-0 did not become ready (FAKE)"), ExitCode.ENVIRONMENT),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED),
    ],
    ids=["pass", "fail", "unknown", "environment", "interrupted"],
)
def test_the_exit_code_is_the_same_in_every_mode(
    mode: list[str], behaviour: Any, code: ExitCode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(experiment, "run", engine(behaviour))
    assert exit_of([*mode, *run_argv(tmp_path)]) == code


def test_quiet_prints_only_the_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(experiment, "run", engine("fail"))
    assert exit_of(["-q", *run_argv(tmp_path)]) == ExitCode.FAIL
    captured = capsys.readouterr()
    (line,) = captured.out.splitlines()
    assert line.startswith("verdict: fail  (") and line.endswith("report.html, summary.md, results.json, junit.xml)")
    assert captured.err == ""


def test_quiet_still_prints_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(experiment, "run", engine(ClusterError("scheduler-0 did not become ready (FAKE)")))
    assert exit_of(["-q", *run_argv(tmp_path)]) == ExitCode.ENVIRONMENT
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == "error: scheduler-0 did not become ready (FAKE)"


def test_normal_shows_the_table_and_no_witness_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(experiment, "run", engine("fail"))
    assert exit_of(run_argv(tmp_path)) == ExitCode.FAIL
    captured = capsys.readouterr()
    assert "onceonly jobs-vs-cron on daprd 1.18.3: FAIL" in captured.out
    assert WITNESS_NOTE not in captured.out
    assert STEP not in captured.out  # progress never on stdout
    assert "run dir" in captured.err


def test_verbose_prints_each_step_as_a_line_and_every_witness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(experiment, "run", engine("fail"))
    assert exit_of(["-v", *run_argv(tmp_path)]) == ExitCode.FAIL
    captured = capsys.readouterr()
    assert STEP in captured.err.splitlines()
    assert f"{COUNTDOWN} (0 s)" in captured.err.splitlines()
    assert STEP not in captured.out
    assert "jobs:tick-job (exactly-once, fail): duplicates=1, retries=2" in captured.out
    witnesses = [line.strip() for line in captured.out.splitlines() if ", due 2026-01-01T" in line]
    assert [w.split(",")[0] for w in witnesses] == ["duplicate", "retry"]
    assert WITNESS_NOTE in witnesses[0]
    assert captured.out.splitlines()[-1].startswith("verdict: fail  (")


def suite_file(tmp_path: Path) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "cases": [{"scenario": str(HEADLINE), "predict": "fail"}]}))
    return path


def test_quiet_suite_prints_only_its_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(experiment, "run", engine("fail"))
    junit = tmp_path / "junit.xml"
    argv = ["suite", str(suite_file(tmp_path)), "--reports", str(tmp_path / "r"), "--junit", str(junit)]
    assert exit_of(["-q", *argv]) == ExitCode.PASS  # the predicted fail held
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"suite s: pass  (JUnit: {junit})"]
    assert captured.err == ""


def test_verbose_suite_prints_its_steps_as_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(experiment, "run", engine("fail"))
    argv = ["suite", str(suite_file(tmp_path)), "--reports", str(tmp_path / "r"), "--junit", str(tmp_path / "j.xml")]
    assert exit_of(["-v", *argv]) == ExitCode.PASS
    err = capsys.readouterr().err.splitlines()
    assert "[1/1] jobs-vs-cron (predicts fail)" in err
    assert f"  jobs-vs-cron: {STEP}" in err
    assert "  jobs:tick-job (exactly-once) fail: duplicates=1" in err  # the case's anomalies


def test_quiet_check_prints_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rejudged = SimpleNamespace(outcome=SimpleNamespace(results=document(verdict="fail")), previous="a", now="a")
    monkeypatch.setattr(experiment, "finished_scenario", lambda *_a: None)
    monkeypatch.setattr(experiment, "rejudge", lambda *_a: rejudged)
    assert exit_of(["-q", "check", str(tmp_path)]) == ExitCode.FAIL
    assert capsys.readouterr().out.splitlines() == ["verdict: fail; results.json reproduced"]


def test_quiet_compare_prints_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two finished runs compared offline for real (no FAKE needed: nothing starts)."""
    runs = []
    for name in ("old", "new"):
        (tmp_path / name).mkdir()
        write_results(tmp_path / name, document(PASSING, verdict="pass"))
        runs.append(str(tmp_path / name))
    assert exit_of(["-q", "compare", *runs, "--out", str(tmp_path / "c")]) == ExitCode.PASS
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("0 regression(s); wrote ")
