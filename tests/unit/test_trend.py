"""onceonly trend on run folders made of a real results.json (byo-app judged by the real judge,
tests/unit/trend_runs.py): the table over days, a worse latest run flagged, a short history never flagged, a figure
an older results.json lacks shown as missing (never 0), where a run's time comes from, and the CLI's exit codes."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from harness import cli
from harness.errors import InputError
from harness.io import run_index
from harness.report import trend_table as tt
from harness.report.terminal_trend import reading
from tests.unit.trend_runs import DAY_ONE, days, judged_byo, plant


@pytest.fixture(scope="module")
def byo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return judged_byo(tmp_path_factory.mktemp("trend-judged"))


def tables(folder: Path, rule: tt.Rule | None = None) -> tuple[Any, Any]:
    runs = tt.runs_table(run_index.read_runs(folder).runs, folder)
    return runs, tt.latest_table(runs, rule or tt.Rule())


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text().splitlines()))


def test_the_real_judges_figures_become_one_row_per_run(byo: dict[str, Any], tmp_path: Path) -> None:
    days(tmp_path, byo, [1, 1, 1])
    runs, latest = tables(tmp_path)
    assert list(runs.columns) == list(tt.RUN_COLUMNS)
    assert runs["scenario"].tolist() == ["byo-app"] * 3 and runs["dapr"].tolist() == ["1.18.2"] * 3
    assert runs["started"].tolist() == [DAY_ONE + timedelta(days=i) for i in range(3)]
    first = runs.iloc[0]
    assert (first["occurrences"], first["duplicates"], first["missed"], first["early"]) == (6, 1, 0, 0)
    assert first["duplicates_per_1000"] == pytest.approx(1000 / 6)
    assert first["lateness_p99_ms"] == pytest.approx(byo["sources"][0]["lateness_ms"]["p99"])
    assert first["verdict"] == "fail" and first["started_from"] == "dir name"
    assert len(latest) == 1 and latest.iloc[0]["runs"] == 3


def test_a_worse_latest_run_is_flagged_against_the_median_before_it(byo: dict[str, Any], tmp_path: Path) -> None:
    days(tmp_path, byo, [1, 0, 1, 1, 3])  # 166.7 per 1,000 is the median before; the latest has 500
    _, latest = tables(tmp_path)
    (row,) = latest.to_dict("records")
    assert row["status"] == tt.WORSE and row["flagged"] == "duplicates_per_1000"
    assert row["duplicates_per_1000"] == pytest.approx(500.0)
    assert row["duplicates_per_1000_median"] == pytest.approx(1000 / 6)
    assert row["flags"] == "duplicates per 1,000 occurrences 500, median of 4 runs before 166.7"


def test_the_same_history_without_the_worse_run_is_not_flagged(byo: dict[str, Any], tmp_path: Path) -> None:
    days(tmp_path, byo, [1, 0, 1, 1, 1])
    (row,) = tables(tmp_path)[1].to_dict("records")
    assert row["status"] == tt.OK and row["flags"] == "" and row["flagged"] == ""


@pytest.mark.parametrize("before", [0, 1, 2])
def test_a_history_too_short_is_never_flagged(byo: dict[str, Any], tmp_path: Path, before: int) -> None:
    days(tmp_path, byo, [0] * before + [5], lateness_p99=900.0, verdict="fail")
    (row,) = tables(tmp_path)[1].to_dict("records")
    assert row["status"] == tt.TOO_FEW and row["flags"] == ""
    assert row["notes"].startswith(f"too few runs: {before} before the latest, 3 needed")


def test_min_history_is_an_option(byo: dict[str, Any], tmp_path: Path) -> None:
    days(tmp_path, byo, [0, 0, 5])
    assert tables(tmp_path)[1].iloc[0]["status"] == tt.TOO_FEW
    assert tables(tmp_path, tt.Rule(min_history=2))[1].iloc[0]["status"] == tt.WORSE


@pytest.mark.parametrize(
    ("p99s", "rule", "flagged"),
    [
        ([100.0, 100.0, 100.0, 119.0], tt.Rule(), False),  # +19 %
        ([100.0, 100.0, 100.0, 121.0], tt.Rule(), True),  # +21 %, +21 ms
        ([100.0, 100.0, 100.0, 121.0], tt.Rule(threshold_pct=25), False),
        ([2.0, 2.0, 2.0, 6.0], tt.Rule(), False),  # +200 % but only +4 ms: under the floor
        ([2.0, 2.0, 2.0, 6.0], tt.Rule(lateness_floor_ms=3), True),
        ([10.0, 500.0, 11.0, 40.0], tt.Rule(), True),  # one slow run before: the median (11) is not moved by it
    ],
)
def test_lateness_threshold_and_floor(
    byo: dict[str, Any], tmp_path: Path, p99s: list[float], rule: tt.Rule, flagged: bool
) -> None:
    for i, p99 in enumerate(p99s):
        plant(tmp_path, byo, DAY_ONE + timedelta(days=i), lateness_p99=p99)
    (row,) = tables(tmp_path, rule)[1].to_dict("records")
    assert (row["flagged"] == "lateness_p99_ms") is flagged, row


def test_a_worse_verdict_is_flagged(byo: dict[str, Any], tmp_path: Path) -> None:
    for i, verdict in enumerate(["pass", "pass", "unknown", "fail"]):
        plant(tmp_path, byo, DAY_ONE + timedelta(days=i), verdict=verdict, duplicates=0)
    (row,) = tables(tmp_path)[1].to_dict("records")
    assert row["verdict_median"] == "pass" and row["flagged"] == "verdict"
    assert row["flags"] == "verdict fail, median of 3 runs before pass"


def test_the_median_verdict_of_an_even_history_is_the_worse_middle_one(byo: dict[str, Any], tmp_path: Path) -> None:
    for i, verdict in enumerate(["pass", "pass", "fail", "fail", "fail"]):
        plant(tmp_path, byo, DAY_ONE + timedelta(days=i), verdict=verdict, duplicates=0)
    (row,) = tables(tmp_path)[1].to_dict("records")
    assert row["verdict_median"] == "fail" and row["status"] == tt.OK  # not "unknown" between pass and fail


def test_reading_many_files_shows_progress_and_a_few_none() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with reading(console, 5, quiet=False) as few:
        assert few is None
    with reading(console, 40, quiet=True) as hushed:
        assert hushed is None
    with reading(console, 40, quiet=False) as many:
        assert many is not None
        for i in range(1, 41):
            many(i, 40, Path(f"runs/run-{i}/results.json"))
    assert "reading results.json" in screen.getvalue()


def test_a_figure_an_older_results_json_lacks_is_missing_not_zero(byo: dict[str, Any], tmp_path: Path) -> None:
    plant(tmp_path, byo, DAY_ONE, early=None, missed=None)  # older: no `early`, no `missed`
    plant(tmp_path, byo, DAY_ONE + timedelta(days=1), early=None)
    plant(tmp_path, byo, DAY_ONE + timedelta(days=2), lateness_ms={"p50": 1.0})  # no p99
    plant(tmp_path, byo, DAY_ONE + timedelta(days=3), early=2)
    runs, latest = tables(tmp_path)
    assert [math.isnan(v) for v in runs["early"]] == [True, True, False, False]
    assert [math.isnan(v) for v in runs["missed"]] == [True, False, False, False]
    assert [math.isnan(v) for v in runs["lateness_p99_ms"]] == [False, False, True, False]
    # early: 2 in the latest, but only one run before it has the figure: not flagged from one point
    (row,) = latest.to_dict("records")
    assert row["status"] == tt.OK and "early" not in row["flagged"]
    assert "early: too few runs (1 before the latest with it, 3 needed)" in row["notes"]
    assert math.isnan(row["missed_median"]) is False and row["early_median"] == 0
    cells = tt.csv_table(runs, latest)
    written = tmp_path / "trend.csv"
    cells.to_csv(written, index=False, na_rep="")
    rows = csv_rows(written)
    assert [r["early"] for r in rows] == ["", "", "0", "2"]
    assert [r["missed"] for r in rows] == ["", "0", "0", "0"]
    assert rows[2]["lateness_p99_ms"] == ""
    assert [r["latest"] for r in rows] == ["False", "False", "False", "True"]


def test_groups_are_scenario_and_dapr_version(byo: dict[str, Any], tmp_path: Path) -> None:
    days(tmp_path, byo, [0, 0, 0, 4])
    days(tmp_path / "old", byo, [0, 0], daprd="1.16.0")
    upgrade = {**byo, "dapr": {**byo["dapr"], "upgrade_to": {"daprd": "1.18.2", "scheduler": "1.18.2"}}}
    plant(tmp_path / "upgrade", upgrade, DAY_ONE, daprd="1.16.0")
    _, latest = tables(tmp_path)
    assert latest[["dapr", "runs", "status"]].values.tolist() == [
        ["1.16.0", 2, tt.TOO_FEW],
        ["1.16.0 → 1.18.2", 1, tt.TOO_FEW],
        ["1.18.2", 4, tt.WORSE],
    ]


def test_when_a_run_started_events_first_then_the_dir_name_then_mtime(byo: dict[str, Any], tmp_path: Path) -> None:
    with_events = plant(tmp_path, byo, DAY_ONE)
    at_ns = int((DAY_ONE + timedelta(hours=3)).timestamp()) * 10**9
    (with_events / "events.jsonl").write_text(json.dumps({"at_ns": at_ns, "event": "run_started"}) + "\n")
    in_a_set = tmp_path / "byo-app" / "20261102T000000Z-08873fd80d2b-x3" / "run-2"
    in_a_set.mkdir(parents=True)
    (in_a_set / "results.json").write_text(json.dumps(byo))
    bare = tmp_path / "copied" / "results.json"
    bare.parent.mkdir()
    bare.write_text(json.dumps(byo))
    found = {r.path.parent.name: (r.started, r.started_from) for r in run_index.read_runs(tmp_path).runs}
    assert found[with_events.name] == (DAY_ONE + timedelta(hours=3), "events")
    assert found["run-2"] == (DAY_ONE + timedelta(hours=12), "dir name")
    assert found["copied"][1] == "mtime"


def test_an_unreadable_results_json_is_skipped_with_the_file_and_why(byo: dict[str, Any], tmp_path: Path) -> None:
    days(tmp_path, byo, [0])
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "results.json").write_text("{not json")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "results.json").write_text('{"verdict": "pass"}')
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "results.json").write_text('{"verdict": "pass", "sources": [1], "scenario": {}, "dapr": {}}')
    index = run_index.read_runs(tmp_path)
    assert len(index.runs) == 1
    assert [(s.path.parent.name, s.reason.split(":")[0]) for s in index.skipped] == [
        ("broken", "cannot be read as JSON"),
        ("odd", "is not a onceonly results.json (a source is not an object)"),
        ("other", "is not a onceonly results.json (no verdict, sources, scenario, dapr)"),
    ]


def test_a_folder_without_a_readable_run_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"holds no results\.json"):
        run_index.read_runs(tmp_path)
    (tmp_path / "results.json").write_text("[]")
    with pytest.raises(InputError, match=r"holds 1 results\.json, none readable"):
        run_index.read_runs(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        run_index.read_runs(tmp_path / "nowhere")


# ---------------------------------------------------------------- the CLI


@pytest.fixture(autouse=True)
def wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "console", Console(stderr=True, width=200, color_system=None))
    monkeypatch.setattr(cli, "out", Console(width=200, color_system=None))


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as info:
        cli.main(["trend", *argv])
    assert isinstance(info.value.code, int)
    return info.value.code


def test_cli_flagged_exits_1_and_writes_both_files(
    byo: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    days(tmp_path / "runs", byo, [1, 0, 1, 1, 3])
    assert run(str(tmp_path / "runs"), "--out", str(tmp_path / "out")) == 1
    printed = capsys.readouterr()
    assert "worse: byo-app on Dapr 1.18.2: duplicates per 1,000 occurrences 500" in printed.out
    assert "1 flagged; wrote" in printed.out and "more than 20%" in printed.err
    rows = csv_rows(tmp_path / "out" / "trend.csv")
    assert [r["status"] for r in rows] == ["", "", "", "", "worse"]
    page = (tmp_path / "out" / "trend.html").read_text()
    assert page.count('<script id="plotlyjs">') == 1 and tt.WORSE.upper() in page
    for pattern in ('src="http', 'href="http', "<script src", "@import url(http"):
        assert pattern not in page


def test_cli_nothing_flagged_exits_0_and_threshold_is_an_option(byo: dict[str, Any], tmp_path: Path) -> None:
    days(tmp_path / "runs", byo, [2, 2, 2, 3])  # +50 %
    assert run(str(tmp_path / "runs"), "--out", str(tmp_path / "a")) == 1
    assert run(str(tmp_path / "runs"), "--out", str(tmp_path / "b"), "--threshold", "60") == 0


def test_cli_since_and_scenario_keep_runs(
    byo: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    days(tmp_path / "runs", byo, [0, 0, 0, 5])
    args = [str(tmp_path / "runs"), "--out", str(tmp_path / "out")]
    assert run(*args, "--since", "2026-11-03") == 0  # two runs left: too few to flag
    assert "2 run(s)" in capsys.readouterr().out
    assert run(*args, "--scenario", "byo-app") == 1
    assert run(*args, "--scenario", "nope") == 3
    assert "no run of scenario 'nope'" in capsys.readouterr().err
    assert run(*args, "--since", "2027-01-01") == 3
    assert run(*args, "--since", "yesterday") == 3
    assert "is not a date" in capsys.readouterr().err


def test_cli_bad_folder_exits_3_and_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(str(tmp_path / "nowhere")) == 3
    assert f"{tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert run(str(tmp_path / "file")) == 3
    assert "is not a directory" in capsys.readouterr().err
    assert run(str(tmp_path), "--out", str(tmp_path / "out")) == 3
    assert "holds no results.json" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing written


def test_cli_warns_of_a_skipped_file_and_goes_on(
    byo: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    days(tmp_path / "runs", byo, [0])
    broken = tmp_path / "runs" / "broken" / "results.json"
    broken.parent.mkdir()
    broken.write_text("{")
    assert run(str(tmp_path / "runs"), "--out", str(tmp_path / "out")) == 0
    assert f"warning: skipped {broken}: cannot be read as JSON" in capsys.readouterr().err
