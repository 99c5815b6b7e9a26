"""``onceonly trend FOLDER``: every judged run under FOLDER as a trend per scenario and Dapr version, the latest run
held against the median of the runs before it; trend.csv and trend.html written, the table on the terminal. Errors
and output go through ``harness.cli``'s ``fail`` and consoles (imported when the command runs: ``harness.cli``
imports this module). Exit 1 when a latest run is flagged worse, else 0; 3 for bad input (no folder, no run)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from harness.errors import ExitCode, InputError
from harness.report import trend_table as tt

FolderArg = Annotated[
    Path, typer.Argument(metavar="FOLDER", help="A folder of run directories (searched recursively for results.json).")
]
SinceOpt = Annotated[
    str | None,
    typer.Option(
        "--since", metavar="DATE", help="Only runs started on or after DATE (UTC): 2026-11-01 or 2026-11-01T12:00."
    ),
]
ScenarioOpt = Annotated[str | None, typer.Option("--scenario", metavar="NAME", help="Only the runs of this scenario.")]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", metavar="DIR", help="Where to write trend.csv and trend.html (default reports/trend/<UTC>)."),
]
ThresholdOpt = Annotated[
    float,
    typer.Option(
        "--threshold",
        metavar="PERCENT",
        min=0,
        help="Flag the latest run when a figure is worse than the median of the runs before it by more than this.",
    ),
]
FloorOpt = Annotated[
    float,
    typer.Option("--lateness-floor", metavar="MS", min=0, help="Lateness p99 must also be worse by this many ms."),
]
MinHistoryOpt = Annotated[
    int,
    typer.Option(
        "--min-history", metavar="N", min=1, help="Runs before the latest needed to flag it (fewer: too few runs)."
    ),
]


def parse_since(text: str) -> datetime:
    """``--since``: a date or an ISO 8601 time, UTC unless it says otherwise."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--since {text!r} is not a date: give e.g. 2026-11-01 or 2026-11-01T12:00 (UTC)") from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def trend(
    folder: FolderArg,
    since: SinceOpt = None,
    scenario: ScenarioOpt = None,
    out_dir: OutOpt = None,
    threshold: ThresholdOpt = 20.0,
    lateness_floor: FloorOpt = 5.0,
    min_history: MinHistoryOpt = 3,
) -> None:
    """Trends across runs: every results.json under FOLDER, per scenario and Dapr version over time (duplicates per
    1,000 occurrences, missed, early, lateness p99, verdict), the latest run flagged when it is worse than the
    median of the runs before it. Writes trend.csv and trend.html; exit 1 when a run is flagged, 0 otherwise."""
    from harness.campaign.trend import trend as make_trend
    from harness.cli import console, fail, output
    from harness.io import run_index
    from harness.report.terminal_trend import flag_lines, reading, trend_table

    mode = output()
    rule = tt.Rule(threshold, lateness_floor, min_history)
    target = out_dir or Path("reports") / "trend" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    try:
        when = parse_since(since) if since is not None else None
        files = run_index.results_files(folder)
        with reading(console, len(files), mode.quiet) as progress:
            index = run_index.read_runs(folder, progress, files)
        for skip in index.skipped:
            console.print(Text(f"warning: skipped {skip.path}: {skip.reason}", style="yellow"), soft_wrap=True)
        result = make_trend(index, target, rule, when, scenario)
    except InputError as exc:
        fail(exc)
    mode.show(trend_table(result.latest, f"onceonly trend {folder}: {len(result.runs)} run(s)"))
    for line in flag_lines(result.latest):
        mode.show(line)
    mode.info(rule.words())
    mode.final(f"{result.flagged} flagged; wrote {result.csv} and {result.page}")
    raise typer.Exit(ExitCode.FAIL if result.flagged else ExitCode.PASS)
