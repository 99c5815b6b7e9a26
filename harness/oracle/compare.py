"""Two judged runs side by side: every results.json figure per source, old vs new, and what changed by the rule of
``harness.oracle.changes``: regressions, improvements, and lateness worse where it does not gate, each with its size.

``compare`` is pure (two results.json documents in, a ``Comparison`` out). Sources are matched by
``source:name``; a load run's ``load-*`` jobs are always folded into one row, ``jobs:load-*`` (their names differ
from run to run, so only the aggregate can be compared; ``harness.oracle.results.load_aggregate``).

A regression is: more duplicates, missed, early or spurious deliveries; a worse verdict (pass < unknown < fail,
for each source and for the run); lateness p99 worse by more than ``lateness_threshold_pct`` percent *and* by
more than ``lateness_floor_ms`` (default ``LATENESS_FLOOR_MS``: noise at a few milliseconds is not a regression);
a source only the new run has, with an anomaly or a failing verdict. An improvement is the same rule the other way
(fewer, a better verdict, lateness p50, p99 or max better by both margins). A source only the old run has is a
warning, not a regression. A baseline (``harness.oracle.gate``) may then waive regressions: ``regressions`` holds
the ones that gate, ``baseline.waived`` the ones a waiver accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.model import LOAD_PREFIX
from harness.oracle import results
from harness.oracle.changes import (
    FIGURES,
    LATENESS_FLOOR_MS,
    Change,
    Kind,
    assess,
    assess_new_source,
    show,
)
from harness.oracle.results import Results
from harness.oracle.waivers import NO_BASELINE, Settlement, Waived

__all__ = ["FIGURES", "LATENESS_FLOOR_MS", "Change", "Comparison", "Figure", "SourceComparison", "compare", "show"]

LATENESS_CAVEAT = (
    "Each side is one run: p99 over a few dozen deliveries is close to their maximum, so repeat a comparison "
    "before believing a lateness regression (counts of duplicates and missed are steadier)."
)
LOAD_KEY = f"jobs:{LOAD_PREFIX}*"
KEY_FIGURES = (  # the comparison page's bar charts
    ("deliveries_per_occurrence", "deliveries / occurrence"),
    ("duplicates", "duplicates"),
    ("missed", "missed"),
    ("early", "early"),
    ("spurious", "spurious"),
    ("retries", "retries"),
    ("lateness_p50_ms", "lateness p50 ms"),
    ("lateness_p99_ms", "lateness p99 ms"),
)


@dataclass(frozen=True)
class Figure:
    name: str
    old: Any
    new: Any
    kind: Kind = ""  # regression, improvement, worse (not gating), or ""

    @property
    def changed(self) -> bool:
        return bool(self.old != self.new)

    @property
    def regression(self) -> bool:
        return self.kind == "regression"

    @property
    def improvement(self) -> bool:
        return self.kind == "improvement"


@dataclass(frozen=True)
class SourceComparison:
    key: str  # "jobs:name", or LOAD_KEY for the load's jobs
    in_old: bool
    in_new: bool
    figures: tuple[Figure, ...]

    def figure(self, name: str) -> Figure:
        return next(f for f in self.figures if f.name == name)


@dataclass(frozen=True)
class Comparison:
    old_verdict: str
    new_verdict: str
    rows: tuple[SourceComparison, ...]
    regressions: tuple[Change, ...]  # the ones that gate: every regression no waiver accepted
    improvements: tuple[Change, ...] = ()
    worse: tuple[Change, ...] = ()  # lateness p50 / max worse by the rule: shown, never gating
    warnings: tuple[str, ...] = ()
    lateness_threshold_pct: float = 20.0
    lateness_floor_ms: float = LATENESS_FLOOR_MS
    old_dir: str = ""
    new_dir: str = ""
    scenario: Mapping[str, Any] = field(default_factory=dict)
    baseline: Settlement | None = None  # what a baseline waived, and how each of its waivers fared

    @property
    def waived(self) -> tuple[Waived, ...]:
        return () if self.baseline is None else self.baseline.waived

    def to_dict(self) -> dict[str, Any]:
        """comparison.json (documented in reports/README.md)."""
        waived = {(w.key, w.figure) for w in self.waived}
        return {
            "old": {"run_dir": self.old_dir, "verdict": self.old_verdict},
            "new": {"run_dir": self.new_dir, "verdict": self.new_verdict},
            "lateness_threshold_pct": self.lateness_threshold_pct,
            "lateness_floor_ms": self.lateness_floor_ms,
            "regression": bool(self.regressions),
            "regressions": [str(r) for r in self.regressions],
            "improvements": [str(i) for i in self.improvements],
            "worse": [str(w) for w in self.worse],
            "warnings": list(self.warnings),
            **(NO_BASELINE if self.baseline is None else self.baseline.to_dict()),
            "sources": [
                {
                    "key": r.key,
                    "in_old": r.in_old,
                    "in_new": r.in_new,
                    "figures": {
                        f.name: {
                            "old": f.old,
                            "new": f.new,
                            "regression": f.regression,
                            "improvement": f.improvement,
                            "worse": f.kind == "worse",
                            "waived": (r.key, f.name) in waived,
                        }
                        for f in r.figures
                    },
                }
                for r in self.rows
            ],
        }


def comparable_sources(doc: Results) -> dict[str, Mapping[str, Any]]:
    """``source:name`` → results.json source; every ``load-*`` job folded into one ``LOAD_KEY`` row, however many
    (``results.shown_sources`` folds only past 10, but load job names never match across runs). An anomalous load job
    is in the aggregate's counts, not a row of its own."""
    load = [s for s in doc["sources"] if s["source"] == "jobs" and str(s["name"]).startswith(LOAD_PREFIX)]
    out: dict[str, Mapping[str, Any]] = {results.source_label(s): s for s in doc["sources"] if s not in load}
    if load:
        out[LOAD_KEY] = results.load_aggregate(load)
    return out


def _value(src: Mapping[str, Any] | None, name: str) -> Any:
    if src is None:
        return None
    if name.startswith("lateness_"):
        return src["lateness_ms"][name.split("_")[1]]
    if name.startswith("side_effects_"):
        return src["side_effects"].get(name.removeprefix("side_effects_"))
    return src[name]


def compare(
    old_doc: Results,
    new_doc: Results,
    lateness_threshold_pct: float = 20,
    *,
    old_dir: str = "",
    new_dir: str = "",
    lateness_floor_ms: float = LATENESS_FLOOR_MS,
) -> Comparison:
    old, new = comparable_sources(old_doc), comparable_sources(new_doc)
    keys = list(old) + [k for k in new if k not in old]
    rows: list[SourceComparison] = []
    found: dict[Kind, list[Change]] = {"regression": [], "improvement": [], "worse": []}
    warnings: list[str] = []
    if old_doc["scenario"]["hash"] != new_doc["scenario"]["hash"]:
        warnings.append(
            f"different experiments: old {old_doc['scenario']['name']} ({old_doc['scenario']['hash']}), "
            f"new {new_doc['scenario']['name']} ({new_doc['scenario']['hash']})"
        )
    for key in keys:
        o, n = old.get(key), new.get(key)
        figures = []
        for name in FIGURES:
            a, b = _value(o, name), _value(n, name)
            if o is None:
                kind = assess_new_source(name, b)
            elif n is None:
                kind = ""
            else:
                kind = assess(name, a, b, lateness_threshold_pct, lateness_floor_ms)
            figures.append(Figure(name, a, b, kind))
            if kind:
                found[kind].append(Change(key, name, a, b, "" if o is not None else " (a source only the new run has)"))
        if n is None:
            warnings.append(f"{key}: only in the old run")
        rows.append(SourceComparison(key, o is not None, n is not None, tuple(figures)))
    run_kind = assess("verdict", old_doc["verdict"], new_doc["verdict"], 0, 0)
    if run_kind:
        found[run_kind].append(Change("run", "verdict", old_doc["verdict"], new_doc["verdict"]))
    return Comparison(
        old_verdict=old_doc["verdict"],
        new_verdict=new_doc["verdict"],
        rows=tuple(rows),
        regressions=tuple(found["regression"]),
        improvements=tuple(found["improvement"]),
        worse=tuple(found["worse"]),
        warnings=tuple(warnings),
        lateness_threshold_pct=float(lateness_threshold_pct),
        lateness_floor_ms=float(lateness_floor_ms),
        old_dir=old_dir,
        new_dir=new_dir,
        scenario=dict(new_doc["scenario"]),
    )
