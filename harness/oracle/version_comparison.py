"""A version comparison's document (``onceonly compare TARGET --dapr OLD --dapr NEW``'s comparison.json): one
entry per scenario (its two runs' ``Comparison``, or the error that stopped a run), and the baseline's waivers
over all of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.oracle.compare import Comparison
from harness.oracle.gate import Gate
from harness.oracle.results import Results
from harness.oracle.waivers import NO_BASELINE, merged


@dataclass(frozen=True)
class VersionPair:
    """One scenario of ``onceonly compare TARGET --dapr OLD --dapr NEW``: its two runs, judged and compared."""

    name: str
    comparison: Comparison | None  # None when a run failed (``error``)
    old_doc: Results | None = None
    new_doc: Results | None = None
    error: str = ""


def versions_document(target: str, old: str, new: str, gate: Gate, pairs: list[VersionPair]) -> dict[str, Any]:
    """comparison.json of a version comparison: one entry per scenario (its ``compare`` document, or its error);
    ``regression`` when any scenario has a regression no waiver accepted."""
    done = [p.comparison for p in pairs if p.comparison is not None]
    settlement = merged(c.baseline for c in done if c.baseline is not None) or gate.unsettled()
    return {
        "target": target,
        "old": old,
        "new": new,
        "lateness_threshold_pct": float(gate.threshold_pct),
        "lateness_floor_ms": float(gate.floor_ms),
        "regression": any(c.regressions for c in done),
        "errors": [f"{p.name}: {p.error}" for p in pairs if p.comparison is None],
        **(NO_BASELINE if settlement is None else settlement.to_dict()),
        "scenarios": [
            {"name": p.name, **(p.comparison.to_dict() if p.comparison is not None else {"error": p.error})}
            for p in pairs
        ],
    }
