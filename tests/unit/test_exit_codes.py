"""Every command's exit code names its cause, and only that cause (issue 13): 0 pass, 1 anomaly / regression /
unmet prediction, 2 unknown, 3 bad input, 4 environment or internal error (an unhandled one keeps its traceback in
the run dir), 130 interrupted.

The engine is a FAKE here (``experiment.run`` / ``rejudge`` and the version comparison's loop return or raise what
each case needs; binaries are never looked for), so nothing is built or started; the integration tests run the
same commands on real Dapr.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from rich.console import Console

from harness import cli
from harness.campaign import binaries, experiment, versions
from harness.errors import ClusterError, ExitCode, InputError
from harness.report import terminal

ROOT = Path(__file__).resolve().parents[2]
HEADLINE = ROOT / "scenarios" / "jobs-vs-cron.yaml"
LOAD = ROOT / "scenarios" / "load-smoke.yaml"
BINS = SimpleNamespace(daprd_version="1.18.2", scheduler_version="1.18.2", source="fake")

# what the FAKE engine does: return a run judged with this verdict, or raise this
OUTCOMES: dict[str, Any] = {
    "pass": "pass",
    "fail": "fail",
    "unknown": "unknown",
    "environment": ClusterError("scheduler-0 did not become ready (FAKE)"),
    "internal": RuntimeError("a bug (FAKE)"),
    "interrupted": KeyboardInterrupt(),
}
EXPECTED = {
    "pass": ExitCode.PASS,
    "fail": ExitCode.FAIL,
    "unknown": ExitCode.UNKNOWN,
    "environment": ExitCode.ENVIRONMENT,
    "internal": ExitCode.ENVIRONMENT,
    "interrupted": ExitCode.INTERRUPTED,
}


def judged(verdict: str) -> dict[str, Any]:
    return {"verdict": verdict, "sources": [], "dapr": {"daprd": "1.18.2", "scheduler": "1.18.2"}, "notes": []}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ONCEONLY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ONCEONLY_DAPR_VERSION", raising=False)
    monkeypatch.delenv("ONCEONLY_DAPR_BIN_DIR", raising=False)
    monkeypatch.setattr(cli, "console", Console(stderr=True, width=200, color_system=None))
    monkeypatch.setattr(cli, "out", Console(width=200, color_system=None))
    monkeypatch.setattr(binaries, "case_binaries", lambda *_a, **_k: (BINS, None))
    monkeypatch.setattr(terminal, "print_results", lambda *_a: None)
    yield


def engine(behaviour: Any) -> Callable[..., SimpleNamespace]:
    def run(*_a: Any, **_k: Any) -> SimpleNamespace:
        if isinstance(behaviour, BaseException):
            raise behaviour
        return SimpleNamespace(results=judged(behaviour))

    return run


def exit_of(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert isinstance(info.value.code, int)
    return info.value.code


def the_run_dir(reports: Path) -> Path:
    (run_dir,) = [p for p in reports.glob("*/*") if p.is_dir()]
    return run_dir


@pytest.mark.parametrize("case", list(OUTCOMES))
@pytest.mark.parametrize(
    "command", [["run", str(HEADLINE)], ["demo"], ["load", str(LOAD), "--headless"]], ids=["run", "demo", "load"]
)
def test_run_demo_and_load(
    command: list[str], case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(experiment, "run", engine(OUTCOMES[case]))
    reports = tmp_path / "r"
    assert exit_of([*command, "--reports", str(reports)]) == EXPECTED[case]
    if case == "internal":
        assert (the_run_dir(reports) / "traceback.txt").read_text().endswith("RuntimeError: a bug (FAKE)\n")
        assert "internal error (a bug in onceonly, not a finding): RuntimeError" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["run"], ["load"]], ids=["run", "load"])
def test_run_and_load_refuse_bad_input_with_3(command: list[str], tmp_path: Path) -> None:
    assert exit_of([*command, str(tmp_path / "missing.yaml"), "--reports", str(tmp_path / "r")]) == 3
    assert not (tmp_path / "r").exists()


def test_load_of_a_scenario_without_load_stages_is_bad_input(tmp_path: Path) -> None:
    assert exit_of(["load", str(HEADLINE), "--reports", str(tmp_path / "r")]) == 3
    assert not (tmp_path / "r").exists()


def test_two_runs_of_one_scenario_in_one_second_get_two_run_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run-dir name collision used to be an unhandled FileExistsError (exit 1, read as an anomaly)."""
    monkeypatch.setattr(experiment, "run", engine("pass"))
    monkeypatch.setattr("time.strftime", lambda *_a: "20260101T000000Z")
    for _ in range(2):
        assert exit_of(["run", str(HEADLINE), "--reports", str(tmp_path / "r")]) == 0
    assert sorted(p.name for p in (tmp_path / "r" / "jobs-vs-cron").iterdir())[1].endswith("-2")


@pytest.mark.parametrize("case", list(OUTCOMES))
def test_check(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    behaviour = OUTCOMES[case]

    def rejudge(*_a: Any) -> SimpleNamespace:
        if isinstance(behaviour, BaseException):
            raise behaviour
        return SimpleNamespace(outcome=SimpleNamespace(results=judged(behaviour)), previous=None, now="")

    monkeypatch.setattr(experiment, "finished_scenario", lambda *_a: None)
    monkeypatch.setattr(experiment, "rejudge", rejudge)
    assert exit_of(["check", str(tmp_path)]) == EXPECTED[case]
    if case == "internal":
        assert (tmp_path / "traceback.txt").is_file()


def test_check_of_a_directory_that_is_not_a_run_is_bad_input(tmp_path: Path) -> None:
    assert exit_of(["check", str(tmp_path)]) == 3


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [
        (0, ExitCode.PASS),
        (1, ExitCode.FAIL),
        (InputError("x is not a judged run (FAKE)"), ExitCode.BAD_INPUT),
        (RuntimeError("a bug (FAKE)"), ExitCode.ENVIRONMENT),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED),
    ],
    ids=["no-regression", "regression", "bad-input", "internal", "interrupted"],
)
def test_compare_two_runs(behaviour: Any, code: ExitCode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def compare_runs(*_a: Any) -> tuple[Any, Any, Any]:
        if isinstance(behaviour, BaseException):
            raise behaviour
        return SimpleNamespace(regressions=["dup"] * behaviour), judged("pass"), judged("pass")

    monkeypatch.setattr(versions, "compare_runs", compare_runs)
    monkeypatch.setattr(versions, "write_runs_comparison", lambda *_a: tmp_path / "report.html")
    monkeypatch.setattr(terminal, "print_comparison", lambda *_a: None)
    assert exit_of(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c")]) == code


@pytest.mark.parametrize(
    ("pairs", "interrupted", "code"),
    [
        (["ok"], False, ExitCode.PASS),
        (["regressed", "ok"], False, ExitCode.FAIL),
        (["ok", "failed-run"], False, ExitCode.ENVIRONMENT),
        (["regressed", "failed-run"], False, ExitCode.FAIL),
        (["ok"], True, ExitCode.INTERRUPTED),
    ],
    ids=["pass", "regression", "a-run-failed", "regression-wins", "interrupted"],
)
def test_compare_two_versions(
    pairs: list[str], interrupted: bool, code: ExitCode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def pair(kind: str) -> SimpleNamespace:
        if kind == "failed-run":
            return SimpleNamespace(comparison=None)
        return SimpleNamespace(comparison=SimpleNamespace(regressions=["dup"] if kind == "regressed" else []))

    monkeypatch.setattr(versions, "prepare", lambda *_a: SimpleNamespace(cases=[("c", None)] * len(pairs)))
    done = SimpleNamespace(pairs=[pair(k) for k in pairs], page=tmp_path / "report.html", interrupted=interrupted)
    monkeypatch.setattr(versions, "run", lambda *_a: done)
    monkeypatch.setattr(terminal, "versions_table", lambda *_a: "")
    argv = ["compare", str(HEADLINE), "--dapr", "1.16.0", "--dapr", "1.18.2", "--out", str(tmp_path / "c")]
    assert exit_of(argv) == code
    assert exit_of(["compare", str(HEADLINE), "--dapr", "1.16.0"]) == 3


@pytest.mark.parametrize("case", list(OUTCOMES))
def test_suite(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case predicts pass; what the FAKE engine returns decides the outcome."""
    monkeypatch.setattr(experiment, "run", engine(OUTCOMES[case]))
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({"name": "s", "cases": [{"scenario": str(HEADLINE)}]}))
    reports, junit = tmp_path / "r", tmp_path / "junit.xml"
    assert exit_of(["suite", str(suite), "--reports", str(reports), "--junit", str(junit)]) == EXPECTED[case]
    if case == "internal":
        assert (the_run_dir(reports) / "traceback.txt").is_file()
        assert '<error message="the run did not finish: internal error: RuntimeError' in junit.read_text()


def test_a_suite_that_is_not_valid_is_bad_input(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: s\ncases: [{scenario: nope.yaml}]\n")
    assert exit_of(["suite", str(suite), "--reports", str(tmp_path / "r")]) == 3
