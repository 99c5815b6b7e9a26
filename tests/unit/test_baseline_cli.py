"""``--baseline`` through the CLI (issue 13, item 4): ``compare OLD_RUN NEW_RUN`` on kept real runs passes with the
shipped 1.16.0 -> 1.18.2 baseline and fails when its ack-loss waiver is removed; so does ``compare
scenarios/regression.yaml --dapr 1.16.0 --dapr 1.18.2`` on a FAKE engine (``experiment.run`` returns judged
documents; binaries and fault proxy FAKE too); a bad baseline exits 3 before anything is built or started (compare
with --dapr, suite); a suite case whose differences are all waived passes and says so. Today's date is pinned so
that no test depends on the day it runs."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from harness.campaign import experiment, versions
from harness.campaign import gate as gates
from harness.io.stage_files import write_results
from harness.oracle.results import Results
from tests.unit.test_baseline import HEADLINE, REGRESSION, SHIPPED
from tests.unit.test_exit_codes import exit_of, isolated  # noqa: F401 (isolated: an autouse fixture, used here too)
from tests.unit.test_improvements import kept

TODAY = date(2026, 12, 1)


@pytest.fixture(autouse=True)
def pinned(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Beside test_exit_codes.py's ``isolated`` (autouse here too: its FAKE binaries, environment, wide consoles):
    today pinned, and nothing may be built or started unless a test says so."""
    monkeypatch.setattr(gates, "today", lambda: TODAY)
    monkeypatch.setattr(versions, "prepare", lambda *_a: pytest.fail("nothing may be built or started"))
    monkeypatch.setattr(experiment, "run", lambda *_a, **_k: pytest.fail("nothing may be started"))
    yield


def ack_loss_on_1_16_0() -> Results:
    """The kept 1.18.2 network-ack-loss run with what docs/findings.md measured on 1.16.0 put in ("Ack loss
    duplicates more on 1.18.2": exactly 1 duplicate per recurring job, both runs). job-fan was not measured on
    1.16.0: left as it is."""
    old = copy.deepcopy(kept("network-ack-loss"))
    old["dapr"] = {"daprd": "1.16.0", "scheduler": "1.16.0"}
    for src in old["sources"]:
        if src["name"] in ("job-a", "job-b"):
            src["duplicates"] = 1
    return old


def runs(tmp_path: Path) -> tuple[Path, Path]:
    dirs = tmp_path / "old", tmp_path / "new"
    for d, doc in zip(dirs, (ack_loss_on_1_16_0(), kept("network-ack-loss")), strict=True):
        d.mkdir()
        write_results(d, doc)
    return dirs


def without_first_waiver(tmp_path: Path) -> Path:
    data = yaml.safe_load(SHIPPED.read_text())
    assert data["waivers"][0]["scenario"] == "network-ack-loss" and data["waivers"][0]["figure"] == "duplicates"
    data["waivers"] = data["waivers"][1:]
    path = tmp_path / "fewer.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_compare_two_kept_runs_passes_inside_the_shipped_baseline_and_fails_without_its_waiver(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = runs(tmp_path)
    assert exit_of(["compare", str(old), str(new), "--out", str(tmp_path / "plain")]) == 1  # no baseline: 2 regressions
    capsys.readouterr()

    assert exit_of(["compare", str(old), str(new), "--baseline", str(SHIPPED), "--out", str(tmp_path / "a")]) == 0
    text = capsys.readouterr().out
    assert "waived: jobs:job-a: duplicates 1 → 5 (+4) (waived until 2027-06-30: 1.18.2 added gRPC keepalive" in text
    assert "waived: jobs:job-b: duplicates 1 → 2 (+1)" in text
    assert "waiver unused: network-ack-loss jobs:job-fan duplicates up to 24" in text
    assert "0 regression(s) that gate, 2 waived" in text
    data = json.loads((tmp_path / "a" / "comparison.json").read_text())
    assert data["regression"] is False and data["regressions"] == []
    assert data["baseline"] == {"name": "dapr-1.16.0-to-1.18.2", "path": str(SHIPPED)}
    assert [w["line"] for w in data["waived"]] == [
        "jobs:job-a: duplicates 1 → 5 (+4)",
        "jobs:job-b: duplicates 1 → 2 (+1)",
    ]
    assert {w["expires"] for w in data["waived"]} == {"2027-06-30"}
    assert [(u["source"], len(u["lines"])) for u in data["waivers_used"]] == [("*", 2)]
    # job-fan's two waivers (its duplicates, its lateness) have nothing to waive in these fixtures
    assert [(u["source"], u["figure"]) for u in data["waivers_unused"]] == [
        ("jobs:job-fan", "duplicates"),
        ("jobs:job-fan", "lateness_p99_ms"),
    ]
    page = (tmp_path / "a" / "report.html").read_text()
    assert (
        "Waived by the baseline dapr-1.16.0-to-1.18.2" in page and '<li class="waived">jobs:job-a: duplicates' in page
    )

    fewer = without_first_waiver(tmp_path)
    assert exit_of(["compare", str(old), str(new), "--baseline", str(fewer), "--out", str(tmp_path / "b")]) == 1
    assert "regression: jobs:job-a: duplicates 1 → 5 (+4)" in capsys.readouterr().out
    data = json.loads((tmp_path / "b" / "comparison.json").read_text())
    assert data["regression"] is True and data["waived"] == []


def test_an_expired_waiver_turns_the_comparison_red_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = runs(tmp_path)
    monkeypatch.setattr(gates, "today", lambda: date(2027, 7, 1))
    assert exit_of(["compare", str(old), str(new), "--baseline", str(SHIPPED), "--out", str(tmp_path / "a")]) == 1
    text = capsys.readouterr().out
    assert "regression: jobs:job-a: duplicates 1 → 5 (+4) [waiver expired 2027-06-30]" in text
    assert "waiver expired: network-ack-loss * duplicates up to 5 (expires 2027-06-30)" in text


REAL_PREPARE = versions.prepare


@pytest.mark.parametrize(("fewer", "code"), [(False, 0), (True, 1)], ids=["shipped", "ack-loss-waiver-removed"])
def test_the_done_when_on_a_fake_engine(
    fewer: bool, code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`compare scenarios/regression.yaml --dapr 1.16.0 --dapr 1.18.2 --baseline FILE`, every scenario run by a FAKE
    engine (old, then new, per scenario): network-ack-loss gives the kept run and its 1.16.0 side, every other
    scenario the same empty document twice. Passes with the shipped baseline, fails without its ack-loss waiver.
    The real comparison is run on real Dapr, elsewhere."""
    calls: list[str] = []

    def fake_run(sc: Any, *_a: Any, **_k: Any) -> SimpleNamespace:
        side = len([c for c in calls if c == sc.name])  # 0: old, 1: new
        calls.append(sc.name)
        if sc.name == "network-ack-loss":
            return SimpleNamespace(results=(ack_loss_on_1_16_0(), kept("network-ack-loss"))[side])
        doc = {"verdict": "pass", "sources": [], "scenario": {"name": sc.name, "hash": "h"}, "dapr": {}, "notes": []}
        return SimpleNamespace(results=doc)

    monkeypatch.setattr(versions, "prepare", REAL_PREPARE)
    monkeypatch.setattr(versions, "prepare_fault_proxy", lambda _d: Path("/FAKE/toxiproxy-server"))
    monkeypatch.setattr(versions, "write_versions_html", lambda target, *_a: target / "report.html")  # FAKE page
    monkeypatch.setattr(experiment, "run", fake_run)
    baseline = without_first_waiver(tmp_path) if fewer else SHIPPED
    argv = ["compare", str(REGRESSION), "--dapr", "1.16.0", "--dapr", "1.18.2", "--baseline", str(baseline)]
    assert exit_of([*argv, "--out", str(tmp_path / "c")]) == code
    assert len(calls) == 2 * 21  # every scenario of the suite (22, with byo-app) but rolling-upgrade, on both sides
    data = json.loads((tmp_path / "c" / "comparison.json").read_text())
    assert data["regression"] is bool(code)
    assert data["baseline"]["name"] == "dapr-1.16.0-to-1.18.2"
    ack = next(s for s in data["scenarios"] if s["name"] == "network-ack-loss")
    assert len(ack["waived"]) == (0 if fewer else 2) and len(ack["regressions"]) == (2 if fewer else 0)
    # every waiver but the ack-loss duplicates one: the FAKE engine's other scenarios give the same document twice
    assert len(data["waivers_unused"]) == 10
    said = " ".join(capsys.readouterr().out.split())  # the overview's caption wraps
    assert f"waivers used {0 if fewer else 1}, exceeded 0, expired 0, unused 10" in said


def bad_baseline(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text("name: b\nwaivers: [{scenario: network-ack-loss, figure: dupes, up_to: 4, reason: r}]\n")
    return path


def test_a_bad_baseline_exits_3_before_two_runs_are_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = runs(tmp_path)
    assert (
        exit_of(
            ["compare", str(old), str(new), "--baseline", str(bad_baseline(tmp_path)), "--out", str(tmp_path / "c")]
        )
        == 3
    )
    err = capsys.readouterr().err
    assert "waivers.0.figure: 'dupes' is not a figure (did you mean 'duplicates'?)" in err
    assert "waivers.0: missing key 'expires'" in err
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    ("waivers", "message"),
    [
        ("[{scenario: network-ack-loss, figure: dupes}]", "waivers.0.figure: 'dupes' is not a figure"),
        (
            "[{scenario: ack-loss, figure: duplicates, up_to: 4, reason: r, expires: 2027-01-01}]",
            "waivers.0.scenario: 'ack-loss' is not a scenario of",
        ),
        (
            "[{scenario: network-ack-loss, source: job-z, figure: duplicates, up_to: 4, reason: r, "
            "expires: 2027-01-01}]",
            "waivers.0.source: 'job-z' is not a source of scenario network-ack-loss; give one of run, jobs:job-a,",
        ),
    ],
)
def test_a_version_comparison_refuses_a_bad_baseline_before_anything_is_built(
    waivers: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(f"name: b\nwaivers: {waivers}\n")
    argv = ["compare", str(REGRESSION), "--dapr", "1.16.0", "--dapr", "1.18.2", "--baseline", str(path)]
    assert exit_of([*argv, "--out", str(tmp_path / "c")]) == 3
    err = capsys.readouterr().err
    assert message in err
    if "is not a scenario" in message:
        assert "(did you mean 'network-ack-loss'?); its scenarios: jobs-vs-cron, cron-exactly-once," in err
    assert not (tmp_path / "c").exists()


# ---------------------------------------------------------------- the suite


def suite(tmp_path: Path) -> Path:
    path = tmp_path / "suite.yaml"
    predict = {"verdict": "pass", "sources": {"tick-job": {"duplicates": 0}}}
    path.write_text(yaml.safe_dump({"name": "s", "cases": [{"scenario": str(HEADLINE), "predict": predict}]}))
    return path


def judged(verdict: str, duplicates: int) -> dict[str, Any]:
    zero = dict.fromkeys(("retries", "missed", "early", "spurious"), 0)
    rows = [
        {"source": "jobs", "name": "tick-job", "policy": "contract", "verdict": "pass", "duplicates": duplicates}
        | zero,
        {"source": "binding", "name": "tick-cron", "policy": "contract", "verdict": "pass", "duplicates": 0} | zero,
    ]
    return {"verdict": verdict, "sources": rows, "dapr": {"daprd": "1.16.0", "scheduler": "1.16.0"}, "notes": []}


def run_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, result: dict[str, Any], baseline: str | None
) -> tuple[int, ET.Element]:
    """The suite on a FAKE engine that returns ``result`` as the judged run (binaries never looked for)."""
    monkeypatch.setattr(experiment, "run", lambda *_a, **_k: SimpleNamespace(results=result))
    junit = tmp_path / "junit.xml"
    argv = ["suite", str(suite(tmp_path)), "--reports", str(tmp_path / "r"), "--junit", str(junit)]
    if baseline is not None:
        path = tmp_path / "b.yaml"
        path.write_text(baseline)
        argv += ["--baseline", str(path)]
    code = exit_of(argv)
    case = ET.parse(junit).getroot().find("testcase")
    assert case is not None
    return code, case


WAIVE_TWO = (
    "name: b\nwaivers:\n"
    "  - {scenario: jobs-vs-cron, source: tick-job, figure: duplicates, up_to: 2, reason: why, expires: 2027-06-30}\n"
)


def test_a_suite_case_whose_differences_are_all_waived_passes_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, case = run_suite(tmp_path, monkeypatch, judged("pass", 2), WAIVE_TWO)
    assert code == 0 and case.find("failure") is None
    out = case.find("system-out")
    assert out is not None
    assert "waived: tick-job duplicates: predicted 0, got 2 (waived until 2027-06-30: why)" in (out.text or "")
    assert "waived: tick-job duplicates: predicted 0, got 2" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("result", "baseline", "code", "said"),
    [
        (judged("pass", 2), None, 1, "differs: tick-job duplicates: predicted 0, got 2\n"),
        (
            judged("pass", 3),
            WAIVE_TWO,
            1,
            "differs: tick-job duplicates: predicted 0, got 3 [beyond the waiver: up to 2]",
        ),
        (judged("fail", 2), WAIVE_TWO, 1, "differs: verdict: predicted pass, got fail\nwaived: tick-job duplicates"),
        (
            judged("fail", 2),
            WAIVE_TWO + "  - {scenario: jobs-vs-cron, source: run, figure: verdict, up_to: [fail], reason: r, "
            "expires: 2027-06-30}\n",
            0,
            "",
        ),
    ],
    ids=["no-baseline", "beyond-the-waiver", "a-verdict-needs-its-own-waiver", "verdict-waived"],
)
def test_a_suite_waiver_accepts_only_what_it_names(
    result: dict[str, Any],
    baseline: str | None,
    code: int,
    said: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    got, case = run_suite(tmp_path, monkeypatch, result, baseline)
    assert got == code
    failure = case.find("failure")
    assert (failure is None) == (code == 0)
    if failure is not None:
        assert said in (failure.text or "")


def test_a_suite_refuses_a_bad_baseline_before_the_first_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["suite", str(suite(tmp_path)), "--reports", str(tmp_path / "r"), "--junit", str(tmp_path / "j.xml")]
    assert exit_of([*argv, "--baseline", str(bad_baseline(tmp_path))]) == 3
    assert "waivers.0.figure" in capsys.readouterr().err
    other = tmp_path / "other.yaml"
    other.write_text(WAIVE_TWO.replace("jobs-vs-cron", "network-ack-loss"))
    assert exit_of([*argv, "--baseline", str(other)]) == 3
    assert "'network-ack-loss' is not a scenario of" in capsys.readouterr().err
    assert not (tmp_path / "r").exists() and not (tmp_path / "j.xml").exists()


def test_a_suite_baseline_is_checked_against_every_case_not_only_those_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "suite.yaml"
    cases = [{"scenario": str(HEADLINE)}, {"scenario": str(HEADLINE), "set": ["name=other"]}]
    path.write_text(yaml.safe_dump({"name": "s", "cases": cases}))
    baseline = tmp_path / "b.yaml"
    baseline.write_text(WAIVE_TWO.replace("jobs-vs-cron", "other"))
    monkeypatch.setattr(experiment, "run", lambda *_a, **_k: SimpleNamespace(results=judged("pass", 0)))
    argv = ["suite", str(path), "--only", "jobs-vs-cron", "--baseline", str(baseline)]
    assert exit_of([*argv, "--reports", str(tmp_path / "r"), "--junit", str(tmp_path / "j.xml")]) == 0
