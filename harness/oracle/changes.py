"""What is worse and what is better between two runs' figures, and by how much (``harness.oracle.compare`` applies it
to every source).

The rule, one figure at a time:

- **counts** (``duplicates``, ``missed``, ``early``, ``spurious``): more is a regression, fewer an improvement;
- **verdict** (pass < unknown < fail): worse is a regression, better an improvement;
- **lateness**: worse by more than ``threshold_pct`` percent *and* by more than ``floor_ms`` milliseconds (``new >
  old x (1 + pct/100)`` and ``new - old > floor``); better by the same rule seen from the other side (``old > new x
  (1 + pct/100)`` and ``old - new > floor``): an improvement is a change that would be a regression with the two runs
  swapped. Only **p99** gates: a worse p99 is a regression. **p50** and **max** are shown both ways, better as an
  improvement, worse as a change that does not gate (``worse``): each side is one run, its max is one delivery and
  its p50 moves with where a fault landed, so gating on them would fail comparisons on single-run noise. p99 gates
  because a stall that grew shows there, and ``floor_ms`` keeps it from gating on milliseconds of noise.

Every change carries its size: ``jobs:job-a: duplicates 1 → 4 (+3)``, ``jobs:job-a: lateness_p50_ms 2800 → 4.2
(-99.8%)``; a verdict's change is its size (``run: verdict pass → fail``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from harness.model import rank

LATENESS_FLOOR_MS = 5.0
LATENESS_THRESHOLD_PCT = 20.0
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
GATING_LATENESS = "lateness_p99_ms"
SHOWN_LATENESS = ("lateness_p50_ms", "lateness_max_ms")  # improvements, and changes that do not gate
GATED = (*WORSE_WHEN_MORE, GATING_LATENESS, "verdict")  # the figures a regression can be in

Kind = Literal["regression", "improvement", "worse", ""]


@dataclass(frozen=True)
class Change:
    """One figure of one source that changed by the rule: a regression, an improvement, or worse (not gating).
    ``key`` is ``source:name`` or ``run``; ``where`` adds why it counts (a source only the new run has); ``note``
    what a baseline said of it (a waiver exceeded or expired)."""

    key: str
    figure: str
    old: Any
    new: Any
    where: str = ""
    note: str = ""

    @property
    def size(self) -> str:
        """``+3``, ``-99.8%``, ``+12.0 ms`` (lateness from 0), or "" for a verdict."""
        if self.figure == "verdict" or self.new is None:
            return ""
        old = 0 if self.old is None else self.old
        if self.figure.startswith("lateness_"):
            if float(old) > 0:
                return f"{(float(self.new) - float(old)) / float(old) * 100:+.1f}%"
            return f"{float(self.new) - float(old):+.1f} ms"
        diff = self.new - old
        return f"{diff:+d}" if isinstance(diff, int) else f"{diff:+.4g}"

    def __str__(self) -> str:
        size = f" ({self.size})" if self.size else ""
        note = f" [{self.note}]" if self.note else ""
        return f"{self.key}: {self.figure} {show(self.old)} → {show(self.new)}{size}{self.where}{note}"


def _later(old: Any, new: Any, pct: float, floor_ms: float) -> bool:
    """``new`` is later than ``old`` by more than ``pct`` percent and ``floor_ms`` milliseconds."""
    over_floor = float(new) - float(old) > floor_ms
    return over_floor and (float(old) <= 0 or float(new) > float(old) * (1 + pct / 100))


def assess(name: str, old: Any, new: Any, pct: float, floor_ms: float) -> Kind:
    """How a figure present in both runs changed, by the rule above."""
    if old is None or new is None:
        return ""
    if name in WORSE_WHEN_MORE:
        return "regression" if new > old else "improvement" if new < old else ""
    if name == "verdict":
        worse, better = rank(str(new)) > rank(str(old)), rank(str(new)) < rank(str(old))
        return "regression" if worse else "improvement" if better else ""
    if name == GATING_LATENESS or name in SHOWN_LATENESS:
        if _later(old, new, pct, floor_ms):
            return "regression" if name == GATING_LATENESS else "worse"
        return "improvement" if _later(new, old, pct, floor_ms) else ""
    return ""


def assess_new_source(name: str, new: Any) -> Kind:
    """A source only the new run has regresses when it has an anomaly or fails; nothing else counts."""
    bad = (name in WORSE_WHEN_MORE and bool(new)) or (name == "verdict" and new == "fail")
    return "regression" if bad else ""


def show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:.0f}"
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.4g}"
    return str(value)
