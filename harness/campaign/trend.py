"""``onceonly trend FOLDER``: every judged run under a folder read (``harness.io.run_index``), kept by ``--since`` and
``--scenario``, made a table (``harness.report.trend_table``), and written: ``trend.csv`` and ``trend.html``. Reads
and writes files only (no service, no clock but the runs' own times)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from harness.errors import InputError
from harness.io import run_index
from harness.io.run_index import RunIndex
from harness.report import trend_table as tt
from harness.report.html.trend import write_trend_html

TREND_CSV = "trend.csv"


@dataclass(frozen=True, slots=True)
class Trend:
    index: RunIndex  # every run read, and every file skipped
    runs: pd.DataFrame  # the runs kept (``trend_table.RUN_COLUMNS``)
    latest: pd.DataFrame  # one row per scenario and Dapr version (``trend_table.group_row``)
    csv: Path
    page: Path

    @property
    def flagged(self) -> int:
        return int((self.latest["status"] == tt.WORSE).sum())


def kept(index: RunIndex, since: datetime | None, scenario: str | None) -> list[run_index.FoundRun]:
    """The runs started at or after ``since`` (UTC) of ``scenario``; ``InputError`` when none is left."""
    runs = [r for r in index.runs if since is None or r.started >= since]
    if scenario is not None:
        names = sorted({str(r.doc["scenario"].get("name")) for r in index.runs})
        runs = [r for r in runs if r.doc["scenario"].get("name") == scenario]
        if not any(r.doc["scenario"].get("name") == scenario for r in index.runs):
            raise InputError(
                f"no run of scenario {scenario!r} under {index.folder}; its runs are of: {', '.join(names)}"
            )
    if not runs:
        raise InputError(
            f"no run under {index.folder} started on or after {since:%Y-%m-%d %H:%M:%S} UTC"
            f"{f' of scenario {scenario!r}' if scenario else ''} ({len(index.runs)} run(s) before): give an "
            "earlier --since"
            if since is not None
            else f"no run under {index.folder}"
        )
    return runs


def trend(index: RunIndex, out_dir: Path, rule: tt.Rule, since: datetime | None, scenario: str | None) -> Trend:
    """The table of the runs kept, written to ``out_dir`` as trend.csv and trend.html."""
    runs = tt.runs_table(kept(index, since, scenario), index.folder)
    latest = tt.latest_table(runs, rule)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv = out_dir / TREND_CSV
    tt.csv_table(runs, latest).to_csv(csv, index=False, na_rep="")
    page = write_trend_html(out_dir, index, runs, latest, rule)
    return Trend(index, runs, latest, csv, page)
