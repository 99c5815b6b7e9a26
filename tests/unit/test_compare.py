"""compare on hand-built results: exactly the planted regressions, thresholds, load folding, and the CLI's exits."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from harness import cli
from harness.campaign import binaries
from harness.io import csv_files
from harness.io.stage_files import write_results
from harness.model import Lateness
from harness.oracle.compare import LOAD_KEY, compare
from harness.oracle.results import Results
from tests.unit.test_report import document, source


def doc() -> Results:
    return document(verdict="fail")


def regressions_of(old: Results, new: Results, **kw: Any) -> list[str]:
    return [str(r) for r in compare(old, new, **kw).regressions]


def test_identical_runs_have_no_regression() -> None:
    result = compare(doc(), doc())
    assert result.regressions == () and result.warnings == ()
    assert [r.key for r in result.rows] == ["jobs:ok-job", "jobs:tick-job", "binding:tick"]
    assert all(not f.changed for r in result.rows for f in r.figures)
    assert {f.name for f in result.rows[0].figures} >= {"occurrences", "duplicates", "lateness_p99_ms", "verdict"}


def test_exactly_the_planted_regressions_are_flagged() -> None:
    old, new = doc(), doc()
    ok, dup, _ = new["sources"]
    ok["duplicates"], ok["missed"], ok["verdict"] = 2, 1, "fail"  # three regressions on ok-job
    dup["spurious"], dup["early"] = 1, 3  # two on tick-job
    dup["retries"], dup["deliveries"] = 9, 40  # changes, not regressions
    regs = regressions_of(old, new)
    assert regs == [
        "jobs:ok-job: duplicates 0 → 2 (+2)",
        "jobs:ok-job: missed 0 → 1 (+1)",
        "jobs:ok-job: verdict pass → fail",
        "jobs:tick-job: early 0 → 3 (+3)",
        "jobs:tick-job: spurious 0 → 1 (+1)",
    ]


def test_fewer_anomalies_and_a_better_verdict_are_not_regressions() -> None:
    old, new = doc(), doc()
    new["sources"][1]["duplicates"], new["sources"][1]["verdict"], new["verdict"] = 0, "pass", "pass"
    assert regressions_of(old, new) == []
    assert regressions_of(new, old) == [
        "jobs:tick-job: duplicates 0 → 1 (+1)",
        "jobs:tick-job: verdict pass → fail",
        "run: verdict pass → fail",
    ]


@pytest.mark.parametrize(
    ("old_p99", "new_p99", "pct", "flagged"),
    [
        (100.0, 119.0, 20, ""),  # +19 %
        (100.0, 121.0, 20, "100.0 → 121.0 (+21.0%)"),  # +21 %, +21 ms
        (100.0, 121.0, 25, ""),  # under a looser threshold
        (2.0, 6.0, 20, ""),  # +200 % but only +4 ms: noise
        (2.0, 7.5, 20, "2 → 7.5 (+275.0%)"),  # +5.5 ms and +275 %
        (0.0, 7.5, 20, "0 → 7.5 (+7.5 ms)"),  # from nothing: the size in ms
        (None, 50.0, 20, ""),
        (50.0, None, 20, ""),
    ],
)
def test_lateness_threshold(old_p99: float | None, new_p99: float | None, pct: float, flagged: str) -> None:
    old, new = doc(), doc()
    old["sources"][0]["lateness_ms"]["p99"], new["sources"][0]["lateness_ms"]["p99"] = old_p99, new_p99
    regs = regressions_of(old, new, lateness_threshold_pct=pct)
    assert regs == ([f"jobs:ok-job: lateness_p99_ms {flagged}"] if flagged else [])


def test_sources_only_in_one_run() -> None:
    old, new = doc(), doc()
    gone = new["sources"].pop(2)
    new["sources"].append({**copy.deepcopy(gone), "name": "fresh", "verdict": "pass"})
    result = compare(old, new)
    assert result.regressions == ()
    assert result.warnings == ("binding:tick: only in the old run",)
    assert [r.key for r in result.rows] == ["jobs:ok-job", "jobs:tick-job", "binding:tick", "binding:fresh"]
    bad = doc()
    bad["sources"].append({**copy.deepcopy(bad["sources"][1]), "name": "new-dup"})
    assert "jobs:new-dup: duplicates - → 1 (+1) (a source only the new run has)" in regressions_of(doc(), bad)


def load_doc(duplicates_in: int | None = None, offset: int = 0) -> Results:
    jobs = [
        source(name=f"load-{offset + i}-1", occurrences=3, deliveries=3, lateness_ms=Lateness(5.0, 6.0, 7.0, 8.0))
        for i in range(30)
    ]
    d = document(source(name="steady"), *jobs, verdict="pass")
    if duplicates_in is not None:
        d["sources"][duplicates_in]["duplicates"] = 1
    return d


def test_load_jobs_are_compared_as_one_row_even_when_their_names_differ() -> None:
    result = compare(load_doc(), load_doc(offset=1000))
    assert [r.key for r in result.rows] == ["jobs:steady", LOAD_KEY]
    assert result.regressions == ()
    assert result.rows[1].figure("occurrences").new == 90
    assert regressions_of(load_doc(), load_doc(duplicates_in=5)) == [f"{LOAD_KEY}: duplicates 0 → 1 (+1)"]


# ---------------------------------------------------------------- the CLI


@pytest.fixture(autouse=True)
def wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "console", Console(stderr=True, width=200, color_system=None))
    monkeypatch.setattr(cli, "out", Console(width=200, color_system=None))


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert isinstance(info.value.code, int)
    return info.value.code


def run_dir(path: Path, d: Results) -> Path:
    path.mkdir()
    write_results(path, d)
    return path


def test_cli_compare_identical_exits_0_and_writes_both_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = run_dir(tmp_path / "old", doc()), run_dir(tmp_path / "new", doc())
    assert run(["compare", str(old), str(new), "--out", str(tmp_path / "cmp")]) == 0
    assert "0 regression(s)" in capsys.readouterr().out
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert data["regression"] is False and data["regressions"] == []
    assert data["sources"][1]["figures"]["duplicates"] == {
        "old": 1,
        "new": 1,
        "regression": False,
        "improvement": False,
        "worse": False,
        "waived": False,
    }
    assert data["improvements"] == [] and data["baseline"] is None and data["waived"] == []
    page = (tmp_path / "cmp" / "report.html").read_text()
    assert 'id="key-figures"' in page and page.count('<script id="plotlyjs">') == 1
    for pattern in ('src="http', 'href="http', "<script src", "@import url(http"):
        assert pattern not in page


def test_cli_compare_regression_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    worse = doc()
    worse["sources"][0]["missed"] = 4
    old, new = run_dir(tmp_path / "old", doc()), run_dir(tmp_path / "new", worse)
    assert run(["compare", str(old), str(new), "--out", str(tmp_path / "cmp")]) == 1
    assert "regression: jobs:ok-job: missed 0 → 4 (+4)" in capsys.readouterr().out
    assert json.loads((tmp_path / "cmp" / "comparison.json").read_text())["regression"] is True


def test_cli_compare_threshold_option(tmp_path: Path) -> None:
    slower = doc()
    slower["sources"][0]["lateness_ms"]["p99"] = 40.0  # from 4.75 ms
    old, new = run_dir(tmp_path / "old", doc()), run_dir(tmp_path / "new", slower)
    assert run(["compare", str(old), str(new), "--out", str(tmp_path / "a")]) == 1
    assert run(["compare", str(old), str(new), "--lateness-threshold", "1000", "--out", str(tmp_path / "b")]) == 0


def test_cli_compare_bad_input_exits_3_naming_the_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = run_dir(tmp_path / "good", doc())
    (tmp_path / "empty").mkdir()
    assert run(["compare", str(good), str(tmp_path / "empty"), "--out", str(tmp_path / "cmp")]) == 3
    assert "results.json" in capsys.readouterr().err
    assert run(["compare", str(tmp_path / "nowhere"), str(good)]) == 3
    assert "nowhere" in capsys.readouterr().err
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "results.json").write_text("{not json")
    assert run(["compare", str(good), str(tmp_path / "junk")]) == 3
    assert not (tmp_path / "cmp").exists()


def test_a_version_comparison_document_and_page_hold_every_scenario(tmp_path: Path) -> None:
    from harness.oracle.gate import Gate
    from harness.oracle.version_comparison import VersionPair, versions_document
    from harness.report.html.compare import write_versions_html

    worse = doc()
    worse["sources"][0]["missed"] = 2
    pairs = [
        VersionPair("same", compare(doc(), doc()), doc(), doc()),
        VersionPair("worse", compare(doc(), worse), doc(), worse),
        VersionPair("broken", None, error="old-1.16.0: cluster did not start"),
    ]
    data = versions_document("suite.yaml", "1.16.0", "1.18.2", Gate(), pairs)
    assert data["regression"] is True and data["errors"] == ["broken: old-1.16.0: cluster did not start"]
    assert [s["name"] for s in data["scenarios"]] == ["same", "worse", "broken"]
    assert data["scenarios"][1]["regressions"] == ["jobs:ok-job: missed 0 → 2 (+2)"]
    assert data["scenarios"][2] == {"name": "broken", "error": "old-1.16.0: cluster did not start"}
    page = write_versions_html(tmp_path, "suite.yaml", "1.16.0", "1.18.2", pairs).read_text()
    assert "Dapr 1.16.0 → 1.18.2" in page and "run failed: old-1.16.0: cluster did not start" in page
    assert page.count('<script id="plotlyjs">') == 1
    assert 'id="key-figures-0"' in page and 'id="key-figures-1"' in page and 'id="key-figures-2"' not in page
    assert '<a href="#s1">worse</a>' in page


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compare", "scenarios/jobs-vs-cron.yaml", "--dapr", "1.16.0"], "--dapr exactly twice"),
        (["compare", "a", "b", "--dapr", "1.16.0", "--dapr", "1.18.2"], "one TARGET"),
        (["compare", "scenarios/jobs-vs-cron.yaml", "--dapr", "1.16.0", "--dapr", "9.9"], "neither a directory"),
        (["compare", "nope.yaml", "--dapr", "1.16.0", "--dapr", "1.18.2"], "nope.yaml: no such file"),
        (["compare", "only-one-run"], "two finished run directories"),
    ],
)
def test_cli_compare_versions_bad_input_exits_3_and_starts_nothing(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    monkeypatch.setattr(binaries, "prepare_binaries", lambda *a: pytest.fail("nothing may be built or started"))
    assert run([*argv, "--out", str(tmp_path / "cmp")]) == 3
    assert message in capsys.readouterr().err
    assert not (tmp_path / "cmp").exists()


def test_a_scenarios_own_version_is_not_silently_overridden_and_an_upgrade_is_never_a_no_op(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 13: `--dapr-version 1.18.2` used to turn rolling-upgrade's 1.16.0 -> 1.18.2 into a 1.18.2 -> 1.18.2
    "upgrade" that passed. A FAKE prepare_binaries returns the version it was asked for (nothing is built)."""
    from harness.errors import InputError
    from harness.scenario.loader import load_scenario

    asked: list[tuple[str, Path | None]] = []

    def fake_prepare(version: str, bin_dir: Path | None, _display: object) -> SimpleNamespace:
        asked.append((version, bin_dir))
        return SimpleNamespace(daprd_version=version, scheduler_version=version)

    monkeypatch.setattr(binaries, "prepare_binaries", fake_prepare)
    scenarios = Path(__file__).resolve().parents[2] / "scenarios"
    sc = load_scenario(scenarios / "rolling-upgrade.yaml")
    shown = cli.display()
    bins, upgrade = binaries.case_binaries(sc, None, None, shown)
    assert (bins.daprd_version, upgrade and upgrade.daprd_version) == ("1.16.0", "1.18.2")
    with pytest.raises(
        InputError,
        match=r"runs on Dapr 1\.16\.0 \(its dapr section\); the command line asks for "
        r"1\.18\.2: remove the override, or pass --override-scenario-dapr",
    ):
        binaries.case_binaries(sc, "1.18.2", None, shown)
    with pytest.raises(InputError, match=r"would upgrade Dapr 1\.18\.2 to 1\.18\.2: the same version"):
        binaries.case_binaries(sc, "1.18.2", None, shown, override=True)
    assert asked == [("1.16.0", None), ("1.18.2", None)]  # the refusals built nothing
    headline = load_scenario(scenarios / "jobs-vs-cron.yaml")  # names no version: the command line's is used
    assert binaries.override_note(headline, "1.16.0", None) is None
    assert binaries.case_binaries(headline, "1.16.0", None, shown)[0].daprd_version == "1.16.0"


def test_a_version_comparison_leaves_out_a_rolling_upgrade_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.campaign import versions

    steps: list[str] = []
    monkeypatch.setattr(
        binaries, "prepare_binaries", lambda v, d, _s: SimpleNamespace(daprd_version=v, scheduler_version=v)
    )
    monkeypatch.setattr(versions, "prepare_fault_proxy", lambda _s: Path("/fake/toxiproxy-server"))
    shown = SimpleNamespace(step=steps.append)
    plan = versions.prepare(
        Path(__file__).resolve().parents[2] / "scenarios" / "regression.yaml", "1.16.0", "1.18.2", shown
    )
    assert "rolling-upgrade" not in [name for name, _ in plan.cases] and len(plan.cases) >= 10
    assert steps == [
        "rolling-upgrade: left out: it upgrades Dapr itself, and a comparison runs each scenario on one Dapr"
    ]


def test_the_lateness_floor_is_settable(tmp_path: Path) -> None:
    slower = doc()
    slower["sources"][0]["lateness_ms"]["p99"] = 40.0  # from 4.75 ms: +35 ms
    assert regressions_of(doc(), slower, lateness_floor_ms=50.0) == []
    assert compare(doc(), slower, lateness_floor_ms=50.0).lateness_floor_ms == 50.0
    old, new = run_dir(tmp_path / "old", doc()), run_dir(tmp_path / "new", slower)
    assert run(["compare", str(old), str(new), "--lateness-floor", "50", "--out", str(tmp_path / "a")]) == 0
    assert run(["compare", str(old), str(new), "--lateness-floor", "30", "--out", str(tmp_path / "b")]) == 1


def test_the_comparison_page_overlays_both_lateness_distributions_when_both_runs_have_them(tmp_path: Path) -> None:
    from dataclasses import replace

    from tests.unit.test_report import DUE, PASSING, delivery

    old, new = run_dir(tmp_path / "old", doc()), run_dir(tmp_path / "new", doc())
    assert run(["compare", str(old), str(new), "--out", str(tmp_path / "a")]) == 0
    assert "Lateness distribution, old vs new" not in (tmp_path / "a" / "report.html").read_text()
    for path, late_ms in ((old, 3.0), (new, 900.0)):
        samples = ((DUE, delivery(0, late_ms)),)
        csv_files.write_lateness_csv(path, [replace(PASSING, lateness_samples=samples)])
    assert run(["compare", str(old), str(new), "--out", str(tmp_path / "b")]) == 0
    page = (tmp_path / "b" / "report.html").read_text()
    assert (
        "Lateness distribution, old vs new" in page and "old jobs:ok-job (1)" in page and "new jobs:ok-job (1)" in page
    )
