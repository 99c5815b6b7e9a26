"""``--baseline`` through the CLI (issue 13, item 4): ``compare OLD_RUN NEW_RUN`` on kept real runs passes with the
shipped 1.16.0 -> 1.18.2 baseline and fails when its ack-loss waiver is removed; a bad baseline exits 3 before
anything is built or started (compare with --dapr). Today's date is pinned so that no test depends on the day it
runs."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml

from harness.campaign import experiment, versions
from harness.campaign import gate as gates
from harness.io.stage_files import write_results
from harness.oracle.results import Results
from tests.unit.test_baseline import REGRESSION, SHIPPED
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
    assert "waiver unused: network-ack-loss jobs:job-fan duplicates up to 19" in text
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
    assert [u["source"] for u in data["waivers_unused"]] == ["jobs:job-fan"]
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
