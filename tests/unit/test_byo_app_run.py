"""A real run of scenarios/byo-app.yaml (Dapr 1.18.2, 2026-12-01), re-judged offline from its stage-1 files
(tests/unit/fixtures/runs/byo-app-1.18.2: the scenario as run, with its `cwd` made a path that does not exist, since
re-judging starts no process).

The run's figures, as it happened: three replicas of examples/cleanup-service each scheduled `cleanup` on start-up
(one 204, two 409), the busy replica's app was killed mid-handler at 12 s and scheduled again when it came back
(a fourth call, 409); the killed delivery was cut off and Dapr delivered the occurrence again 1 s later to another
replica: 6 occurrences, 7 deliveries, 1 duplicate. Its first judging also said Dapr's `jobs created` counter (1)
disagreed with the ledger (0): the cross-check counted only the harness's own schedule calls, not the app's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.campaign import experiment
from harness.report.terminal import print_results

RUN = Path(__file__).resolve().parent / "fixtures" / "runs" / "byo-app-1.18.2"


def rejudged(tmp_path: Path) -> dict[str, Any]:
    run_dir = tmp_path / "run"
    shutil.copytree(RUN, run_dir)
    experiment.rejudge(run_dir, experiment.finished_scenario(run_dir))
    doc = json.loads((run_dir / "results.json").read_text())
    assert isinstance(doc, dict)
    return doc


def test_the_kill_mid_handler_is_one_duplicate_of_the_apps_own_job(tmp_path: Path) -> None:
    doc = rejudged(tmp_path)
    assert doc["verdict"] == "fail"
    (source,) = doc["sources"]
    assert (source["source"], source["name"]) == ("jobs", "cleanup")
    assert (source["occurrences"], source["deliveries"], source["duplicates"]) == (6, 7, 1)
    assert (source["missed"], source["early"], source["spurious"]) == (0, 0, 0)


def test_each_start_up_schedule_call_is_in_the_results(tmp_path: Path) -> None:
    app = rejudged(tmp_path)["app"]
    assert isinstance(app, dict)
    answers = [(call["replica"], call["answer"]) for call in app["startup"]]
    assert sorted(answers[:3]) == [(0, 204), (1, 409), (2, 409)]
    assert answers[3] == (2, 409)  # the killed app, started again, asked once more


def test_the_apps_own_schedule_call_counts_in_the_metrics_cross_check(tmp_path: Path) -> None:
    check = rejudged(tmp_path)["dapr_metrics"]
    assert isinstance(check, dict)
    created = next(r for r in check["rows"] if r["metric"].startswith("dapr_scheduler_jobs_created_total"))
    assert (created["dapr"], created["ledger"], created["status"]) == (1, 1, "agree")
    assert check["counts"]["disagree"] == 0


def test_every_report_lists_the_start_up_calls_and_unknown_side_effects(tmp_path: Path) -> None:
    rejudged(tmp_path)
    run_dir = tmp_path / "run"
    for name in ("summary.md", "report.html"):
        text = (run_dir / name).read_text()
        assert "start-up schedule calls" in text, name
        assert text.count("scheduled cleanup: 409") == 3 and text.count("scheduled cleanup: 204") == 1, name
        assert "unknown for a foreign app" in text, name


def test_the_terminal_lists_the_start_up_calls(tmp_path: Path) -> None:
    console = Console(record=True, width=200)
    print_results(console, rejudged(tmp_path))  # type: ignore[arg-type]
    text = console.export_text()
    assert text.count("start-up: ") == 4 and "replica 2 scheduled cleanup: 409" in text
