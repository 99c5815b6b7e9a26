"""A version comparison's document (``onceonly compare TARGET --dapr OLD --dapr NEW``'s comparison.json): one
entry per scenario (its two runs' ``Comparison``, or the error that stopped a run)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.oracle.compare import Comparison
from harness.oracle.results import Results


@dataclass(frozen=True)
class VersionPair:
    """One scenario of ``onceonly compare TARGET --dapr OLD --dapr NEW``: its two runs, judged and compared."""

    name: str
    comparison: Comparison | None  # None when a run failed (``error``)
    old_doc: Results | None = None
    new_doc: Results | None = None
    error: str = ""


def versions_document(
    target: str, old: str, new: str, lateness: tuple[float, float], pairs: list[VersionPair]
) -> dict[str, Any]:
    """comparison.json of a version comparison: one entry per scenario (its ``compare`` document, or its error);
    ``lateness``: the command's (threshold %, floor ms)."""
    done = [p.comparison for p in pairs if p.comparison is not None]
    return {
        "target": target,
        "old": old,
        "new": new,
        "lateness_threshold_pct": float(lateness[0]),
        "lateness_floor_ms": float(lateness[1]),
        "regression": any(c.regressions for c in done),
        "errors": [f"{p.name}: {p.error}" for p in pairs if p.comparison is None],
        "scenarios": [
            {"name": p.name, **(p.comparison.to_dict() if p.comparison is not None else {"error": p.error})}
            for p in pairs
        ],
    }
