"""--json (issue 13, item 7): run, demo, load, check, suite and compare print a machine-readable summary on stdout and
nothing else there (every human line, the progress spinner too, on stderr); ``json.loads(stdout)`` must succeed.

The engine is a FAKE as in test_exit_codes.py and test_output_modes.py (it reports progress and counts down, so a
spinner runs); two runs are compared offline for real. Every key the summaries have is documented in
reports/README.md (a test reads it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from harness.campaign import experiment, versions
from harness.errors import ExitCode
from harness.io.stage_files import write_results
from harness.report import json_summary
from tests.unit.test_exit_codes import HEADLINE, LOAD, exit_of, isolated  # noqa: F401 (isolated: an autouse fixture)
from tests.unit.test_output_modes import STEP, drawing, engine  # noqa: F401 (drawing: an autouse fixture)
from tests.unit.test_report import DUPLICATED, PASSING, UNKNOWN_BINDING, document

ROOT = Path(__file__).resolve().parents[2]


def stdout_json(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], str]:
    """stdout parsed as JSON (it must hold nothing else), and stderr."""
    captured = capsys.readouterr()
    parsed: dict[str, Any] = json.loads(captured.out)
    return parsed, captured.err


@pytest.mark.parametrize(
    "command", [["run", str(HEADLINE)], ["demo"], ["load", str(LOAD), "--headless"]], ids=["run", "demo", "load"]
)
@pytest.mark.parametrize(("verdict", "code"), [("pass", 0), ("fail", 1), ("unknown", 2)])
def test_run_demo_and_load_print_the_run_summary(
    command: list[str],
    verdict: str,
    code: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(experiment, "run", engine(verdict))
    reports = tmp_path / "r"
    assert exit_of([*command, "--json", "--reports", str(reports)]) == code
    summary, err = stdout_json(capsys)
    assert (summary["verdict"], summary["exit_code"]) == (verdict, code)
    assert Path(summary["run_dir"]).parent.parent == reports
    assert summary["dapr"] == {"daprd": "1.18.3", "scheduler": "1.18.3"}
    assert [s["name"] for s in summary["sources"]] == ["ok-job", "tick-job", "tick"]
    assert f"verdict: {verdict}  (" in err  # the human line moved to stderr


@pytest.mark.parametrize(
    ("mode", "on_stderr"), [("-q", ["verdict: fail"]), ("-v", [STEP, "after a success", "verdict: fail"])]
)
def test_quiet_and_verbose_json_keep_stdout_json(
    mode: str, on_stderr: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """-q: the JSON and the verdict line (stderr) only; -v: its steps and every witness on stderr, stdout JSON still."""
    monkeypatch.setattr(experiment, "run", engine("fail"))
    assert exit_of([mode, "run", str(HEADLINE), "--json", "--reports", str(tmp_path / "r")]) == 1
    summary, err = stdout_json(capsys)
    assert (summary["verdict"], summary["sources"][1]["witnesses"]) == ("fail", 2)
    assert [line for line in on_stderr if line not in err] == []
    assert (mode == "-q") == err.startswith("verdict: fail")  # quiet: nothing before the verdict line


def test_the_run_summary_of_a_document() -> None:
    doc = document(PASSING, DUPLICATED, UNKNOWN_BINDING, verdict="fail")
    doc["onceonly"] = "0.1.0"
    summary = json_summary.run_summary(doc, Path("reports/x/1"))
    assert summary == {
        "schema": json_summary.SCHEMA,
        "verdict": "fail",
        "exit_code": 1,
        "run_dir": "reports/x/1",
        "scenario": {"name": "jobs-vs-cron", "hash": "abc123"},
        "dapr": {"daprd": "1.18.3", "scheduler": "1.18.3"},
        "onceonly": "0.1.0",
        "sources": summary["sources"],
    }
    assert summary["sources"][1] == {
        "source": "jobs",
        "name": "tick-job",
        "policy": "exactly-once",
        "verdict": "fail",
        "occurrences": 30,
        "deliveries": 31,
        "duplicates": 1,
        "missed": 0,
        "early": 0,
        "spurious": 0,
        "retries": 2,
        "lateness_ms": {"p50": 1.25, "p99": 4.75},
        "witnesses": 2,
    }
    assert summary["sources"][2]["lateness_ms"] == {"p50": None, "p99": None}
    assert json.loads(json.dumps(summary)) == summary


def test_check_prints_the_run_summary_and_whether_it_was_reproduced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for previous, reproduced in (("a", True), ("b", False), (None, None)):
        rejudged = SimpleNamespace(outcome=SimpleNamespace(results=document()), previous=previous, now="a")
        monkeypatch.setattr(experiment, "finished_scenario", lambda *_a: None)
        monkeypatch.setattr(experiment, "rejudge", lambda *_a, r=rejudged: r)
        assert exit_of(["check", str(tmp_path), "--json"]) == 1
        summary, _ = stdout_json(capsys)
        assert (summary["run_dir"], summary["verdict"], summary["reproduced"]) == (str(tmp_path), "fail", reproduced)


def test_suite_prints_its_outcome_and_each_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(experiment, "run", engine("fail"))
    suite = tmp_path / "suite.yaml"
    cases = [{"scenario": str(HEADLINE), "predict": "pass"}, {"scenario": str(LOAD), "predict": "fail"}]
    suite.write_text(yaml.safe_dump({"name": "s", "cases": cases}))
    junit = tmp_path / "junit.xml"
    argv = ["suite", str(suite), "--json", "--reports", str(tmp_path / "r"), "--junit", str(junit)]
    assert exit_of(argv) == ExitCode.FAIL
    summary, err = stdout_json(capsys)
    assert (summary["suite"], summary["outcome"], summary["exit_code"], summary["junit"]) == (
        "s",
        "fail",
        1,
        str(junit),
    )
    first, second = summary["cases"]
    assert (first["name"], first["outcome"], first["verdict"]) == ("jobs-vs-cron", "fail", "fail")
    assert first["differences"] == ["verdict: predicted pass, got fail"]
    assert Path(first["run_dir"]).is_dir() and first["error"] is None
    assert (second["name"], second["outcome"], second["differences"]) == ("load-smoke", "pass", [])
    assert "suite s: fail" in err


def test_compare_two_runs_prints_the_comparison_and_its_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for path, doc in ((old, document(PASSING, verdict="pass")), (new, document(DUPLICATED, verdict="fail"))):
        path.mkdir()
        write_results(path, doc)
    assert exit_of(["compare", str(old), str(new), "--json", "--out", str(tmp_path / "c")]) == 1
    summary, _ = stdout_json(capsys)
    written = json.loads((tmp_path / "c" / "comparison.json").read_text())
    assert summary == {**written, "exit_code": 1}
    assert summary["regression"] is True


def test_compare_two_versions_prints_comparison_json_and_its_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The version comparison's loop is a FAKE that writes a comparison.json, as the real one does."""
    written = {"target": str(HEADLINE), "old": "1.16.0", "new": "1.18.2", "regression": False, "scenarios": []}

    def run(_plan: Any, _lateness: Any, target: Path, _display: Any) -> SimpleNamespace:
        target.mkdir(parents=True)
        (target / "comparison.json").write_text(json.dumps(written))
        return SimpleNamespace(pairs=[], page=target / "report.html", interrupted=False)

    monkeypatch.setattr(versions, "prepare", lambda *_a: SimpleNamespace(cases=[]))
    monkeypatch.setattr(versions, "run", run)
    argv = ["compare", str(HEADLINE), "--dapr", "1.16.0", "--dapr", "1.18.2", "--json", "--out", str(tmp_path / "c")]
    assert exit_of(argv) == 0
    summary, _ = stdout_json(capsys)
    assert summary == {**written, "exit_code": 0}


def documented_keys(part: str) -> set[str]:
    """The keys reports/README.md's --json section names for ``part`` (``run, demo, load, check``, ``suite``,
    ``compare``): every name in backticks in the first cell of its table's rows."""
    readme = (ROOT / "reports" / "README.md").read_text()
    section = readme.split("### `--json`", 1)[1].split("\n### ", 1)[0]
    table = section.split(f"**{part}**", 1)[1].split("\n**", 1)[0]
    cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    return {key for cell in cells for key in re.findall(r"`([^`]+)`", cell)}


def flattened(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value: ``sources``, ``sources[].name``, ``sources[].lateness_ms.p50``, ..."""
    if isinstance(value, dict):
        keys = set()
        for key, inner in value.items():
            keys |= {f"{prefix}{key}"} | flattened(inner, f"{prefix}{key}.")
        return keys
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return flattened(value[0], prefix.rstrip(".") + "[].")
    return set()


def test_every_summary_key_is_documented() -> None:
    doc = document(PASSING, verdict="pass")
    doc["onceonly"] = "0.1.0"
    run = {**json_summary.run_summary(doc, "r"), "reproduced": True}
    case = SimpleNamespace(name="c")
    outcome = SimpleNamespace(
        case=case, outcome="pass", verdict="pass", differences=(), run_dir=None, detail="", rates=None, runs=()
    )
    suite = json_summary.suite_summary("s", [outcome], "j.xml", ExitCode.PASS)  # type: ignore[list-item]
    for part, summary in (("run, demo, load, check", run), ("suite", suite), ("compare", {"exit_code": 0})):
        missing = sorted(flattened(summary) - documented_keys(part))
        assert missing == [], f"reports/README.md's --json section ({part}) does not document {missing}"
