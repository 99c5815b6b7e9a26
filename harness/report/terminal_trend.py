"""``onceonly trend`` on the terminal, with rich: one row per scenario and Dapr version (the latest run's figures, the
median of the runs before it in brackets, the status), then each flag in red; and the progress of reading many
results.json files (stderr, transient)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from harness.io.run_index import Progress as OnFile
from harness.report import trend_table as tt

STATUS_STYLE = {tt.WORSE: "bold red", tt.OK: "green", tt.TOO_FEW: "yellow"}
PROGRESS_FROM = 20  # files: fewer are read before a bar would show


def _num(value: Any) -> str:
    return "missing" if isinstance(value, float) and math.isnan(value) else f"{value:.1f}".removesuffix(".0")


def trend_table(latest: pd.DataFrame, title: str) -> Table:
    table = Table(title=title, caption="each figure: the latest run (the median of the runs before it)")
    for col in ("scenario", "Dapr", "runs", "latest (UTC)", "verdict", "dup./1000", "missed", "early", "p99 ms"):
        table.add_column(col, justify="right" if col in ("runs",) else "left", overflow="fold")
    table.add_column("status")
    for _, g in latest.iterrows():
        figures = [f"{_num(g[c])} ({_num(g[c + '_median'])})" for c, _ in tt.FIGURES]
        table.add_row(
            str(g["scenario"]),
            str(g["dapr"]),
            str(g["runs"]),
            f"{g['latest_started']:%m-%d %H:%M}",
            f"{g['verdict']} ({g['verdict_median'] or '-'})",
            *figures,
            Text(str(g["status"]), style=STATUS_STYLE[str(g["status"])]),
        )
    return table


def flag_lines(latest: pd.DataFrame) -> list[Text]:
    """One red line per flagged scenario and Dapr version: its flags and its latest run."""
    return [
        Text(f"worse: {g['scenario']} on Dapr {g['dapr']}: {g['flags']} ({g['latest_run']})", style="red")
        for _, g in latest.iterrows()
        if g["status"] == tt.WORSE
    ]


@contextmanager
def reading(console: Console, files: int, quiet: bool) -> Iterator[OnFile | None]:
    """A progress bar for reading ``files`` results.json (none for a few, or in quiet mode)."""
    if quiet or files < PROGRESS_FROM:
        yield None
        return
    columns = (TextColumn("reading results.json"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("", total=files)

        def on_file(done: int, total: int, path: Path) -> None:
            progress.update(task, completed=done, total=total, description=path.parent.name)

        yield on_file
