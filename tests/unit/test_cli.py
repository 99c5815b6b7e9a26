"""The ``onceonly`` command line: exit codes and messages for bad input and a missing tool, and ``dapr which``.

Nothing real is built or started: bad input must be refused before anything starts (the tests check that the
run dir was not created and that no redis-server/daprd/scheduler is a child of the test), and ``dapr which``
looks at FAKE daprd/scheduler scripts.
"""

from __future__ import annotations

import shlex
import stat
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from rich.console import Console

from harness import cli
from toolchain.versions import SUPPORTED

CLUSTER_PROCESSES = {"redis-server", "daprd", "scheduler"}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A private cache and home, and no Dapr settings from the environment the tests run in."""
    monkeypatch.setenv("ONCEONLY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ONCEONLY_DAPR_VERSION", raising=False)
    monkeypatch.delenv("ONCEONLY_DAPR_BIN_DIR", raising=False)
    # Wide, colourless consoles: what the tests look for must not depend on the terminal pytest runs in.
    monkeypatch.setattr(cli, "console", Console(stderr=True, width=200, color_system=None))
    monkeypatch.setattr(cli, "out", Console(width=200, color_system=None))
    (tmp_path / "home").mkdir()
    yield
    assert not (tmp_path / "cache").exists(), "the CLI wrote to the build cache"


def run(argv: list[str]) -> int:
    """``onceonly <argv>`` as the console script runs it; its exit code."""
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    code = info.value.code
    assert isinstance(code, int)
    return code


def cluster_children() -> list[str]:
    names = []
    for child in psutil.Process().children(recursive=True):
        try:
            names.append(child.name())
        except psutil.NoSuchProcess:
            continue
    return [n for n in names if n in CLUSTER_PROCESSES]


def assert_nothing_started(run_dir: Path) -> None:
    assert not run_dir.exists(), f"{run_dir} was created"
    assert cluster_children() == []


# --- bad input: exit 3, nothing started ----------------------------------------------------------------------


def test_dapr_build_unknown_version(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(["dapr", "build", "--version", "9.9.9"]) == 3
    err = capsys.readouterr().err
    assert "error:" in err
    assert "unknown Dapr version '9.9.9'" in err
    for version in SUPPORTED:
        assert version in err
    assert cluster_children() == []


def test_dapr_build_unknown_version_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONCEONLY_DAPR_VERSION", "0.0.1")
    assert run(["dapr", "build"]) == 3
    assert "unknown Dapr version '0.0.1'" in capsys.readouterr().err


def test_dapr_which_unknown_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["dapr", "which", "--version", "9.9.9"]) == 3
    assert "unknown Dapr version '9.9.9'" in capsys.readouterr().err


def test_up_with_zero_replicas(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert run(["up", "--replicas", "0", "--run-dir", str(run_dir)]) == 3
    assert "replicas must be at least 1, got 0" in capsys.readouterr().err
    assert_nothing_started(run_dir)


def test_up_with_two_schedulers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert run(["up", "--schedulers", "2", "--run-dir", str(run_dir)]) == 3
    assert "schedulers must be 1 or 3" in capsys.readouterr().err
    assert_nothing_started(run_dir)


def test_up_with_an_unknown_version(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert run(["up", "--version", "9.9.9", "--run-dir", str(run_dir)]) == 3
    assert "unknown Dapr version '9.9.9'" in capsys.readouterr().err
    assert_nothing_started(run_dir)


def test_unknown_option_is_bad_input_not_unknown(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert run(["up", "--no-such-option", "--run-dir", str(run_dir)]) == 3  # click would exit 2 ("unknown")
    assert "--no-such-option" in capsys.readouterr().err
    assert_nothing_started(run_dir)


def test_unknown_command_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["frobnicate"]) == 3
    assert "frobnicate" in capsys.readouterr().err


def test_option_value_of_the_wrong_type_is_bad_input(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert run(["up", "--replicas", "many", "--run-dir", str(run_dir)]) == 3
    assert_nothing_started(run_dir)


# --- a missing tool: exit 4, nothing started -----------------------------------------------------------------


def test_up_without_redis_server_names_the_package(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    run_dir = tmp_path / "run"

    assert run(["up", "--run-dir", str(run_dir)]) == 4

    err = capsys.readouterr().err
    assert "redis-server is not on PATH" in err
    assert "`apt-get install redis-server`" in err
    assert_nothing_started(run_dir)


# --- dapr which with FAKE binaries ---------------------------------------------------------------------------


def executable(path: Path, script: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def fake_bin_dir(directory: Path, version: str) -> Path:
    """A FAKE daprd (prints ``version`` on --version) and a FAKE scheduler (logs the banner, then sleeps)."""
    executable(
        directory / "daprd",
        f'#!/bin/sh\n# FAKE daprd\nif [ "$1" = "--version" ]; then echo {version}; exit 0; fi\nexit 2\n',
    )
    banner = f'time="x" level=info msg="Starting Dapr Scheduler Service -- version {version} -- commit abc"'
    executable(directory / "scheduler", f"#!/bin/sh\n# FAKE scheduler\necho {shlex.quote(banner)}\nexec sleep 30\n")
    return directory


def test_dapr_which_shows_the_fake_binaries_versions(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bin_dir = fake_bin_dir(tmp_path / "fake-bin", "1.2.3")

    assert run(["dapr", "which", "--dapr-bin-dir", str(bin_dir)]) == 0

    out = capsys.readouterr().out
    assert "Dapr binaries for 1.18.2" in out
    assert out.count("1.2.3") == 2  # daprd --version and the scheduler's start-up log
    assert "→" in out  # the --dapr-bin-dir row is the one used
    assert "Nothing usable" not in out
    assert cluster_children() == []  # the probed scheduler was stopped


def test_dapr_which_without_binaries_says_how_to_build(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["dapr", "which", "--version", "1.16.0"]) == 0
    out = capsys.readouterr().out
    assert "Nothing usable" in out
    assert "`onceonly dapr build --version 1.16.0` builds it" in out
    assert "→" not in out


HEADLINE = Path(__file__).resolve().parents[2] / "scenarios" / "jobs-vs-cron.yaml"


def suite_with(tmp_path: Path, predict: object) -> Path:
    import yaml

    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "cases": [{"scenario": str(HEADLINE), "predict": predict}]}))
    return path


def test_suite_refuses_a_bad_prediction_before_anything_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    suite = suite_with(tmp_path, {"verdict": "fail", "duplicates": "lots"})
    assert run(["suite", str(suite), "--reports", str(tmp_path / "r")]) == 3
    err = capsys.readouterr().err
    assert f"{suite}: cases.0.predict.duplicates: 'lots' is not a count" in err
    assert_nothing_started(tmp_path / "r")


def test_suite_fails_a_case_whose_verdict_held_and_a_count_did_not(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite loop with a FAKE runner (it returns a judged run's results; nothing starts)."""
    from types import SimpleNamespace

    from harness.campaign import binaries, experiment

    def fake_run(scenario: object, bins: object, run_dir: Path, **_: object) -> SimpleNamespace:
        zero = dict.fromkeys(("duplicates", "retries", "missed", "early", "spurious"), 0)
        rows = [
            {"source": "jobs", "name": "tick-job", "policy": "exactly-once", "verdict": "pass", **zero},
            {"source": "binding", "name": "tick-cron", "policy": "contract", "verdict": "fail", **zero, "missed": 3},
        ]
        return SimpleNamespace(results={"verdict": "fail", "sources": rows})

    monkeypatch.setattr(binaries, "case_binaries", lambda *_a, **_k: (SimpleNamespace(daprd_version="1.18.2"), None))
    monkeypatch.setattr(experiment, "run", fake_run)
    suite = suite_with(tmp_path, {"verdict": "fail", "sources": {"tick-job": {"duplicates": ">=1"}}})
    junit = tmp_path / "junit.xml"
    assert run(["suite", str(suite), "--junit", str(junit), "--reports", str(tmp_path / "r")]) == 1
    captured = capsys.readouterr()
    assert "differs: tick-job duplicates: predicted >=1, got 0" in captured.err
    assert "suite s: fail" in captured.out
    failure = ET.parse(junit).getroot().find("testcase/failure")
    assert failure is not None and "differs: tick-job duplicates: predicted >=1, got 0" in (failure.text or "")


def test_a_version_override_of_a_scenario_that_names_its_own_is_refused_unless_asked_for(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: `suite --dapr-version 1.18.2` made rolling-upgrade a 1.18.2 -> 1.18.2 "upgrade" without a word.
    Now: exit 3 before anything starts, naming the flag; with the flag, said, and the no-op upgrade still refused.
    A FAKE prepare_binaries returns the version asked (nothing is built)."""
    from types import SimpleNamespace

    from harness.campaign import binaries

    monkeypatch.setattr(
        binaries, "prepare_binaries", lambda v, d, _s: SimpleNamespace(daprd_version=v, scheduler_version=v)
    )
    suite = Path(__file__).resolve().parents[2] / "scenarios" / "regression.yaml"
    reports = tmp_path / "r"
    assert run(["suite", str(suite), "--dapr-version", "1.18.2", "--reports", str(reports)]) == 3
    err = capsys.readouterr().err
    assert "scenario rolling-upgrade runs on Dapr 1.16.0 (its dapr section); the command line asks for 1.18.2" in err
    assert "--override-scenario-dapr" in err
    assert (
        run(["suite", str(suite), "--dapr-version", "1.18.2", "--override-scenario-dapr", "--reports", str(reports)])
        == 3
    )
    err = capsys.readouterr().err
    assert "note: scenario rolling-upgrade runs on Dapr 1.16.0" in err
    assert "would upgrade Dapr 1.18.2 to 1.18.2: the same version" in err
    assert_nothing_started(reports)


def test_version_prints_onceonly_s_own(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"onceonly {version('onceonly')}"
