"""One experiment: run a scenario (``harness.run.runner``, stages 0 and 1), judge it (``harness.run.judge``) and
write stage 2 (results.json, lateness.csv, summary.md, junit.xml, report.html); ``rejudge`` does the last two for
a finished run dir (``onceonly check``). A judged run's results.json is read with
``harness.io.stage_files.read_results``; ``rejudge`` reads it as text only to say whether it was reproduced byte
for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, Unpack

from harness.cluster.base import Backend
from harness.errors import InputError
from harness.io import csv_files, store
from harness.io.stage_files import write_results
from harness.oracle.check import CheckResult
from harness.oracle.results import Results
from harness.report import junit, summary
from harness.report.html import run as html_report
from harness.run import runner
from harness.run.judge import Judgement, judge
from harness.scenario.loader import load_scenario
from harness.scenario.schema import Scenario
from toolchain.binaries import Binaries


@dataclass(frozen=True, slots=True)
class RunOutcome:
    run_dir: Path
    results: Results
    check: CheckResult


@dataclass(frozen=True, slots=True)
class Rejudged:
    outcome: RunOutcome
    previous: str | None  # the run dir's results.json before re-judging, None when it had none
    now: str


class RunOptions(TypedDict, total=False):
    """``runner.execute``'s keyword arguments, as ``run`` and the callers that wrap it pass them on."""

    progress: runner.Progress | None
    countdown: runner.Countdown | None
    toxiproxy: Path | None
    web_port: int | None
    workers: int
    upgrade: Binaries | None
    backend: Backend | None


def run(scenario: Scenario, bins: Binaries, run_dir: Path, **options: Unpack[RunOptions]) -> RunOutcome:
    """Run ``scenario`` on ``bins`` into ``run_dir`` (which exists and is empty), judge it and write stage 2."""
    collected = runner.execute(scenario, bins, run_dir, **options)
    csv_files.write_ledger_csv(run_dir, collected.deliveries, collected.operations)
    outcome = write(judge(run_dir, scenario))
    store.EventLog(run_dir / "events.jsonl").emit("judged", verdict=outcome.check.verdict)
    return outcome


def finished_scenario(run_dir: Path) -> Scenario:
    """The scenario of a finished run dir; ``InputError`` when it is not one (no history.json)."""
    if not (run_dir / store.HISTORY).is_file():
        raise InputError(f"{run_dir} is not a finished run: it has no {store.HISTORY}")
    return load_scenario(run_dir / "scenario.yaml", ())


def rejudge(run_dir: Path, scenario: Scenario) -> Rejudged:
    """Judge a finished run again from its stage-1 files (no services) and write stage 2."""
    previous = (run_dir / store.RESULTS).read_text() if (run_dir / store.RESULTS).is_file() else None
    outcome = write(judge(run_dir, scenario))
    return Rejudged(outcome, previous, (run_dir / store.RESULTS).read_text())


def write(j: Judgement) -> RunOutcome:
    """Stage 2 of a judged run: results.json, lateness.csv, summary.md, junit.xml, report.html (in that order)."""
    doc = j.results
    write_results(j.run_dir, doc)
    csv_files.write_lateness_csv(j.run_dir, j.check.sources)
    summary.write_summary_md(j.run_dir, doc)
    junit.write_junit(j.run_dir, doc, suite_name=j.scenario.name)
    html_report.write_report_html(j.run_dir)
    return RunOutcome(j.run_dir, doc, j.check)
