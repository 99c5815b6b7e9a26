"""The trend across runs as tables (pandas): one row per judged run, and per scenario and Dapr version its latest run
held against the median of the runs before it.

A run's figures are its sources' summed (``occurrences``, ``duplicates``, ``missed``, ``early``), duplicates per
1,000 occurrences, the worst source's lateness p99 and the run's verdict. A figure some source's results.json does
not have (the schema grew over time; ``reports/README.md``) is missing for that run (NaN: an empty cell, a gap in a
chart), never 0; so is a rate without occurrences and a p99 with nothing delivered.

The flag (``Rule``): the latest run of a group is *worse* on a figure when it exceeds the median of the runs before it
by more than ``threshold_pct`` percent and (lateness p99 only) by more than ``lateness_floor_ms``; the verdict when it
is worse (pass < unknown < fail) than the runs' median verdict. A figure is judged only with at least
``min_history`` runs before the latest that have it: with fewer the group says "too few runs", never a flag from
one point. Pure: no files, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.io.run_index import FoundRun

# (column, what a person reads) of the numeric figures a flag looks at, in order
FIGURES = (
    ("duplicates_per_1000", "duplicates per 1,000 occurrences"),
    ("missed", "missed"),
    ("early", "early"),
    ("lateness_p99_ms", "lateness p99 ms"),
)
RANK = {"pass": 0, "unknown": 1, "fail": 2}
VERDICTS = {rank: verdict for verdict, rank in RANK.items()}
RUN_COLUMNS = (
    "scenario",
    "dapr",
    "started",
    "run",
    "verdict",
    "occurrences",
    "duplicates",
    "duplicates_per_1000",
    "missed",
    "early",
    "lateness_p99_ms",
    "scenario_hash",
    "onceonly",
    "started_from",
)
COUNTS = ("occurrences", "duplicates", "missed", "early")
WORSE, OK, TOO_FEW = "worse", "ok", "too few runs"


@dataclass(frozen=True, slots=True)
class Rule:
    """When the latest run is flagged (module docstring)."""

    threshold_pct: float = 20.0
    lateness_floor_ms: float = 5.0
    min_history: int = 3

    def words(self) -> str:
        return (
            f"the latest run is flagged when a figure is worse than the median of the runs before it by more than "
            f"{self.threshold_pct:g}% (lateness p99: and by more than {self.lateness_floor_ms:g} ms), or its verdict "
            f"is worse than their median verdict; only with at least {self.min_history} runs before it"
        )


def dapr_label(dapr: Mapping[str, Any]) -> str:
    """``1.18.2``; ``1.18.2 (scheduler 1.16.0)`` when they differ; ``1.16.0 → 1.18.2`` for a rolling upgrade."""
    daprd, scheduler = str(dapr.get("daprd", "?")), str(dapr.get("scheduler", "?"))
    label = daprd if scheduler == daprd else f"{daprd} (scheduler {scheduler})"
    upgrade = dapr.get("upgrade_to")
    if isinstance(upgrade, Mapping):
        label += f" → {upgrade.get('daprd', '?')}"
    return label


def _summed(sources: Sequence[Mapping[str, Any]], key: str) -> float:
    """The sources' ``key`` summed; NaN when a source has no such figure (an older results.json)."""
    if any(not isinstance(s.get(key), int | float) for s in sources):
        return math.nan
    return float(sum(s[key] for s in sources))


def _worst_p99(sources: Sequence[Mapping[str, Any]]) -> float:
    values = [s.get("lateness_ms", {}).get("p99") for s in sources if isinstance(s.get("lateness_ms"), Mapping)]
    numbers = [float(v) for v in values if isinstance(v, int | float)]
    return max(numbers) if numbers else math.nan


def run_row(run: FoundRun, folder: Path) -> dict[str, Any]:
    doc = run.doc
    sources: list[Mapping[str, Any]] = list(doc["sources"])
    occurrences, duplicates = _summed(sources, "occurrences"), _summed(sources, "duplicates")
    per_1000 = duplicates / occurrences * 1000 if occurrences > 0 else math.nan  # NaN > 0 is False
    run_dir = run.path.parent
    return {
        "scenario": str(doc["scenario"].get("name", "?")),
        "dapr": dapr_label(doc["dapr"]),
        "started": pd.Timestamp(run.started),
        "run": run_dir.relative_to(folder).as_posix() if run_dir.is_relative_to(folder) else str(run_dir),
        "verdict": str(doc["verdict"]),
        "occurrences": occurrences,
        "duplicates": duplicates,
        "duplicates_per_1000": per_1000,
        "missed": _summed(sources, "missed"),
        "early": _summed(sources, "early"),
        "lateness_p99_ms": _worst_p99(sources),
        "scenario_hash": str(doc["scenario"].get("hash", "")),
        "onceonly": str(doc.get("onceonly", "")),
        "started_from": run.started_from,
    }


def runs_table(runs: Iterable[FoundRun], folder: Path) -> pd.DataFrame:
    """One row per run (``RUN_COLUMNS``), by scenario, Dapr version, then start time."""
    table = pd.DataFrame([run_row(r, folder) for r in runs], columns=list(RUN_COLUMNS))
    table["started"] = pd.to_datetime(table["started"], utc=True)
    return table.sort_values(["scenario", "dapr", "started", "run"], kind="stable").reset_index(drop=True)


def _number(value: float) -> str:
    return "missing" if math.isnan(value) else f"{value:.1f}".removesuffix(".0")


def _figure_flag(column: str, label: str, latest: float, past: pd.Series, rule: Rule) -> tuple[str, str]:
    """(status, words) of one figure of the latest run against the runs before it."""
    if len(past) < rule.min_history:
        return TOO_FEW, f"{label}: {TOO_FEW} ({len(past)} before the latest with it, {rule.min_history} needed)"
    median = float(past.median())
    if math.isnan(latest):
        return OK, f"{label}: missing in the latest run"
    floor = rule.lateness_floor_ms if column == "lateness_p99_ms" else 0.0
    if latest > median * (1 + rule.threshold_pct / 100) and latest - median > floor:
        return WORSE, f"{label} {_number(latest)}, median of {len(past)} runs before {_number(median)}"
    return OK, ""


def group_row(scenario: str, dapr: str, group: pd.DataFrame, rule: Rule) -> dict[str, Any]:
    """One scenario and Dapr version: its latest run's figures, the medians before it, its status and flags."""
    latest, history = group.iloc[-1], group.iloc[:-1]
    row: dict[str, Any] = {
        "scenario": scenario,
        "dapr": dapr,
        "runs": len(group),
        "latest_started": latest["started"],
        "latest_run": latest["run"],
    }
    flags: list[tuple[str, str]] = []  # (column, words)
    notes = []
    for column, label in FIGURES:
        past = history[column].dropna()
        row[column] = float(latest[column])
        row[f"{column}_median"] = float(past.median()) if len(past) else math.nan
        status, text = _figure_flag(column, label, float(latest[column]), past, rule)
        if status == WORSE:
            flags.append((column, text))
        else:
            notes.append(text)
    ranks = history["verdict"].map(RANK).dropna()
    row["verdict"] = latest["verdict"]
    # the median verdict; of an even number, the worse of the two middle ones (never flagged between them)
    row["verdict_median"] = VERDICTS[int(sorted(ranks)[len(ranks) // 2])] if len(ranks) else ""
    if len(ranks) >= rule.min_history and RANK.get(latest["verdict"], 0) > RANK[row["verdict_median"]]:
        flags.append(
            ("verdict", f"verdict {latest['verdict']}, median of {len(ranks)} runs before {row['verdict_median']}")
        )
    if group["scenario_hash"].nunique() > 1:
        notes.append(f"the scenario changed over these runs ({group['scenario_hash'].nunique()} hashes)")
    row["status"] = WORSE if flags else TOO_FEW if len(history) < rule.min_history else OK
    row["flags"] = "; ".join(text for _, text in flags)
    row["flagged"] = ",".join(column for column, _ in flags)
    if row["status"] == TOO_FEW:  # one note for the group rather than one per figure
        notes = [f"{TOO_FEW}: {len(history)} before the latest, {rule.min_history} needed"] + [
            n for n in notes if TOO_FEW not in n
        ]
    row["notes"] = "; ".join(n for n in notes if n)
    return row


def latest_table(runs: pd.DataFrame, rule: Rule) -> pd.DataFrame:
    """One row per scenario and Dapr version (``group_row``), by scenario then version."""
    rows = [
        group_row(str(scenario), str(dapr), group, rule)
        for (scenario, dapr), group in runs.groupby(["scenario", "dapr"], sort=True)
    ]
    return pd.DataFrame(rows)


def csv_table(runs: pd.DataFrame, latest: pd.DataFrame) -> pd.DataFrame:
    """trend.csv: every run (``RUN_COLUMNS``, the time as ``2026-12-01T14:41:49Z``), and on each group's latest run
    its ``status`` and ``flags``; a missing figure is an empty cell."""
    table = runs.copy()
    for column in COUNTS:
        table[column] = table[column].round().astype("Int64")  # 6, not 6.0; missing stays missing
    for column in ("duplicates_per_1000", "lateness_p99_ms"):
        table[column] = table[column].round(3)
    table["started"] = table["started"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    table["latest"] = False
    table["status"] = ""
    table["flags"] = ""
    for _, group in latest.iterrows():
        at = table.index[(runs["scenario"] == group["scenario"]) & (runs["dapr"] == group["dapr"])][-1]
        table.loc[at, ["latest", "status", "flags"]] = [True, group["status"], group["flags"]]
    return table
