"""A baseline applied to what one scenario found: which findings (a comparison's regressions, a suite case's
prediction differences) its waivers accept, and how each waiver fared. Pure: today's date is an argument.

For each finding, the waivers that cover it (its scenario, its source or ``*``, its figure), in file order:

- the first one that has not expired and whose bound holds **waives** it (the finding is kept, with the reason);
- else, when one that has not expired covers it, the finding stands and says the bound was **exceeded**;
- else, when only expired ones cover it, the finding stands and says the waiver **expired** (a pipeline sees why
  it turned red).

Each waiver of the scenario is then listed: **used** (the findings it waived), **exceeded** (the ones it covered
but did not accept), **expired** (every expired waiver, with the findings it would have covered), **unused**
(not expired, covered nothing: a stale baseline, or a difference that did not show this time).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from harness.oracle.baseline import Baseline, Waiver


@dataclass(frozen=True)
class Finding:
    """What a waiver may accept: ``key`` (``jobs:job-a``, ``job-a`` in a suite, or ``run``), its figure, the new
    value, and the line that shows it."""

    key: str
    figure: str
    new: Any
    line: str


@dataclass(frozen=True)
class Waived:
    line: str
    waiver: Waiver
    key: str = ""
    figure: str = ""

    def __str__(self) -> str:
        return f"{self.line} (waived until {self.waiver.expires.isoformat()}: {self.waiver.reason})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "reason": self.waiver.reason,
            "expires": self.waiver.expires.isoformat(),
            "waiver": self.waiver.label,
        }


@dataclass(frozen=True)
class WaiverUse:
    waiver: Waiver
    lines: tuple[str, ...] = ()  # waived (used), covered but not accepted (exceeded), would have covered (expired)

    def to_dict(self) -> dict[str, Any]:
        return {**self.waiver.to_dict(), "lines": list(self.lines)}


@dataclass(frozen=True)
class Settlement:
    """What a baseline did to one scenario's findings (or, merged, to a whole comparison's)."""

    name: str
    path: str
    waived: tuple[Waived, ...] = ()
    used: tuple[WaiverUse, ...] = ()
    exceeded: tuple[WaiverUse, ...] = ()
    expired: tuple[WaiverUse, ...] = ()
    unused: tuple[WaiverUse, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The baseline's part of comparison.json (``NO_BASELINE`` without one)."""
        return {
            "baseline": {"name": self.name, "path": self.path},
            "waived": [w.to_dict() for w in self.waived],
            "waivers_used": [u.to_dict() for u in self.used],
            "waivers_exceeded": [u.to_dict() for u in self.exceeded],
            "waivers_expired": [u.to_dict() for u in self.expired],
            "waivers_unused": [u.to_dict() for u in self.unused],
        }

    def lines(self) -> list[str]:
        """For people: the waived findings, then each waiver exceeded, expired or unused."""
        out = [f"waived: {w}" for w in self.waived]
        out += [f"waiver exceeded: {u.waiver.label}: {'; '.join(u.lines)}" for u in self.exceeded]
        out += [f"waiver expired: {u.waiver.label}: {u.waiver.reason}" for u in self.expired]
        out += [f"waiver unused: {u.waiver.label}" for u in self.unused]
        return out


NO_BASELINE: dict[str, Any] = {
    "baseline": None,
    "waived": [],
    "waivers_used": [],
    "waivers_exceeded": [],
    "waivers_expired": [],
    "waivers_unused": [],
}


def merged(settlements: Iterable[Settlement]) -> Settlement | None:
    """Several scenarios' settlements as one (each waiver names one scenario, so none is listed twice)."""
    found = list(settlements)
    if not found:
        return None
    return Settlement(
        found[0].name,
        found[0].path,
        waived=tuple(w for s in found for w in s.waived),
        used=tuple(u for s in found for u in s.used),
        exceeded=tuple(u for s in found for u in s.exceeded),
        expired=tuple(u for s in found for u in s.expired),
        unused=tuple(u for s in found for u in s.unused),
    )


Outcome = Waiver | str  # the waiver that waived a finding, or the note it stands with ("" when nothing covered it)


def settle(
    baseline: Baseline, path: str, scenario: str, findings: Sequence[Finding], today: date
) -> tuple[list[Outcome], Settlement]:
    """Each finding's outcome (in order) and the settlement of ``scenario``'s waivers."""
    waivers = [w for w in baseline.waivers if w.scenario == scenario]
    used: dict[int, list[str]] = {}
    exceeded: dict[int, list[str]] = {}
    would: dict[int, list[str]] = {}
    outcomes: list[Outcome] = []
    waived: list[Waived] = []
    for f in findings:
        covering = [(i, w) for i, w in enumerate(waivers) if w.covers(scenario, f.key, f.figure)]
        live = [(i, w) for i, w in covering if not w.expired(today)]
        accepting = next(((i, w) for i, w in live if w.accepts(f.new)), None)
        if accepting is not None:
            used.setdefault(accepting[0], []).append(f.line)
            waived.append(Waived(f.line, accepting[1], f.key, f.figure))
            outcomes.append(accepting[1])
        elif live:
            for i, _ in live:
                exceeded.setdefault(i, []).append(f.line)
            outcomes.append(f"beyond the waiver: up to {' / '.join(w.bound for _, w in live)}")
        elif covering:
            for i, _ in covering:
                would.setdefault(i, []).append(f.line)
            outcomes.append(f"waiver expired {max(w.expires for _, w in covering).isoformat()}")
        else:
            outcomes.append("")

    def uses(which: dict[int, list[str]]) -> tuple[WaiverUse, ...]:
        return tuple(WaiverUse(waivers[i], tuple(lines)) for i, lines in sorted(which.items()))

    expired = tuple(WaiverUse(w, tuple(would.get(i, ()))) for i, w in enumerate(waivers) if w.expired(today))
    unused = tuple(
        WaiverUse(w) for i, w in enumerate(waivers) if not w.expired(today) and i not in used and i not in exceeded
    )
    settlement = Settlement(baseline.name, path, tuple(waived), uses(used), uses(exceeded), expired, unused)
    return outcomes, settlement
