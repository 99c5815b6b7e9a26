"""Two judged runs side by side: every results.json figure per source, old vs new, and which ones regressed.

``compare`` is pure (two results.json documents in, a ``Comparison`` out). Sources are matched by
``source:name``; a load run's ``load-*`` jobs are always folded into one row, ``jobs:load-*`` (their names differ
from run to run, so only the aggregate can be compared; ``harness.oracle.results.load_aggregate``).

A regression is: more duplicates, missed, early or spurious deliveries; a worse verdict (pass < unknown < fail,
for each source and for the run); lateness p99 worse by more than ``lateness_threshold_pct`` percent *and* by
more than ``lateness_floor_ms`` (default ``LATENESS_FLOOR_MS``: noise at a few milliseconds is not a regression);
a source only the new run has, with an anomaly or a failing verdict. A source only the old run has is a warning,
not a regression.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.model import LOAD_PREFIX, rank
from harness.oracle import results
from harness.oracle.results import Results

LATENESS_FLOOR_MS = 5.0
LATENESS_CAVEAT = (
    "Each side is one run: p99 over a few dozen deliveries is close to their maximum, so repeat a comparison "
    "before believing a lateness regression (counts of duplicates and missed are steadier)."
)
LOAD_KEY = f"jobs:{LOAD_PREFIX}*"
# Every results.json figure of a source, as named in comparison.json (lateness_* from lateness_ms, side_effects_*).
FIGURES: tuple[str, ...] = (
    "occurrences",
    "deliveries",
    "deliveries_per_occurrence",
    "duplicates",
    "retries",
    "missed",
    "early",
    "spurious",
    "lateness_p50_ms",
    "lateness_p95_ms",
    "lateness_p99_ms",
    "lateness_max_ms",
    "side_effects_naive",
    "side_effects_idempotent",
    "verdict",
)
WORSE_WHEN_MORE = ("duplicates", "missed", "early", "spurious")
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
    regression: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.old != self.new)


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
    regressions: tuple[str, ...]  # one line each, e.g. "jobs:tick-job: duplicates 0 → 2"
    warnings: tuple[str, ...] = ()
    lateness_threshold_pct: float = 20.0
    lateness_floor_ms: float = LATENESS_FLOOR_MS
    old_dir: str = ""
    new_dir: str = ""
    scenario: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """comparison.json (documented in reports/README.md)."""
        return {
            "old": {"run_dir": self.old_dir, "verdict": self.old_verdict},
            "new": {"run_dir": self.new_dir, "verdict": self.new_verdict},
            "lateness_threshold_pct": self.lateness_threshold_pct,
            "lateness_floor_ms": self.lateness_floor_ms,
            "regression": bool(self.regressions),
            "regressions": list(self.regressions),
            "warnings": list(self.warnings),
            "sources": [
                {
                    "key": r.key,
                    "in_old": r.in_old,
                    "in_new": r.in_new,
                    "figures": {f.name: {"old": f.old, "new": f.new, "regression": f.regression} for f in r.figures},
                }
                for r in self.rows
            ],
        }


@dataclass(frozen=True)
class VersionPair:
    """One scenario of ``onceonly compare TARGET --dapr OLD --dapr NEW``: its two runs, judged and compared."""

    name: str
    comparison: Comparison | None  # None when a run failed (``error``)
    old_doc: Results | None = None
    new_doc: Results | None = None
    error: str = ""


def versions_document(
    target: str, old: str, new: str, threshold_pct: float, pairs: list[VersionPair]
) -> dict[str, Any]:
    """comparison.json of a version comparison: one entry per scenario (its ``compare`` document, or its error)."""
    return {
        "target": target,
        "old": old,
        "new": new,
        "lateness_threshold_pct": float(threshold_pct),
        "regression": any(p.comparison is not None and p.comparison.regressions for p in pairs),
        "errors": [f"{p.name}: {p.error}" for p in pairs if p.comparison is None],
        "scenarios": [
            {"name": p.name, **(p.comparison.to_dict() if p.comparison is not None else {"error": p.error})}
            for p in pairs
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


def _worse_verdict(old: Any, new: Any) -> bool:
    return old is not None and new is not None and rank(str(new)) > rank(str(old))


def _lateness_worse(old: Any, new: Any, pct: float, floor_ms: float) -> bool:
    if old is None or new is None:
        return False
    over_floor = float(new) - float(old) > floor_ms
    return over_floor and (old <= 0 or float(new) > float(old) * (1 + pct / 100))


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
    regressions: list[str] = []
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
                bad = (name in WORSE_WHEN_MORE and bool(b)) or (name == "verdict" and b == "fail")
            elif n is None:
                bad = False
            elif name in WORSE_WHEN_MORE:
                bad = b > a
            elif name == "verdict":
                bad = _worse_verdict(a, b)
            elif name == "lateness_p99_ms":
                bad = _lateness_worse(a, b, lateness_threshold_pct, lateness_floor_ms)
            else:
                bad = False
            figures.append(Figure(name, a, b, bad))
            if bad:
                where = "" if o is not None else " (a source only the new run has)"
                regressions.append(f"{key}: {name} {show(a)} → {show(b)}{where}")
        if n is None:
            warnings.append(f"{key}: only in the old run")
        rows.append(SourceComparison(key, o is not None, n is not None, tuple(figures)))
    if _worse_verdict(old_doc["verdict"], new_doc["verdict"]):
        regressions.append(f"run: verdict {old_doc['verdict']} → {new_doc['verdict']}")
    return Comparison(
        old_verdict=old_doc["verdict"],
        new_verdict=new_doc["verdict"],
        rows=tuple(rows),
        regressions=tuple(regressions),
        warnings=tuple(warnings),
        lateness_threshold_pct=float(lateness_threshold_pct),
        lateness_floor_ms=float(lateness_floor_ms),
        old_dir=old_dir,
        new_dir=new_dir,
        scenario=dict(new_doc["scenario"]),
    )


def show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.4g}"
    return str(value)
