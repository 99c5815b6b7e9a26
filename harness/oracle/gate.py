"""What a comparison gates by: the command's lateness rule (``--lateness-threshold``, ``--lateness-floor``) and,
when one is given, a baseline in force on a day (per-scenario thresholds, and waivers applied by
``harness.oracle.waivers``). Pure: the day is given, never read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from harness.oracle.baseline import Baseline
from harness.oracle.changes import LATENESS_FLOOR_MS, LATENESS_THRESHOLD_PCT
from harness.oracle.compare import Comparison, compare
from harness.oracle.results import Results
from harness.oracle.waivers import Finding, Outcome, Settlement, settle


@dataclass(frozen=True)
class Gate:
    threshold_pct: float = LATENESS_THRESHOLD_PCT
    floor_ms: float = LATENESS_FLOOR_MS
    baseline: Baseline | None = None
    path: str = ""  # the baseline file, as given
    today: date | None = None  # required with a baseline: the day its expiries are read against

    def __post_init__(self) -> None:
        if self.baseline is not None and self.today is None:
            raise ValueError("a baseline is applied on a given day: pass today")

    def lateness(self, scenario: str) -> tuple[float, float]:
        """(threshold %, floor ms) for ``scenario``: the baseline's threshold entry, else the command's."""
        default = (self.threshold_pct, self.floor_ms)
        return default if self.baseline is None else self.baseline.lateness(scenario, default)

    def compare(self, old_doc: Results, new_doc: Results, *, old_dir: str = "", new_dir: str = "") -> Comparison:
        """Two judged runs compared by the scenario's lateness rule, then the baseline's waivers applied."""
        scenario = str(new_doc["scenario"]["name"])
        pct, floor = self.lateness(scenario)
        result = compare(old_doc, new_doc, pct, old_dir=old_dir, new_dir=new_dir, lateness_floor_ms=floor)
        return self.waive(result, scenario)

    def waive(self, result: Comparison, scenario: str) -> Comparison:
        """``result`` with the regressions a waiver accepts moved to ``baseline.waived`` (each kept, with its
        reason); the rest stay in ``regressions``, noting a waiver exceeded or expired."""
        if self.baseline is None:
            return result
        findings = [Finding(c.key, c.figure, c.new, str(c)) for c in result.regressions]
        outcomes, settlement = self.settle(scenario, findings)
        kept = tuple(
            replace(c, note=o) for c, o in zip(result.regressions, outcomes, strict=True) if isinstance(o, str)
        )
        said = self.baseline.names(scenario)
        silent = () if said else (f"baseline {self.baseline.name!r} has no waiver or threshold for {scenario}",)
        return replace(result, regressions=kept, warnings=(*result.warnings, *silent), baseline=settlement)

    def settle(self, scenario: str, findings: Sequence[Finding]) -> tuple[list[Outcome], Settlement]:
        """Each finding's outcome and the settlement of ``scenario``'s waivers (``harness.oracle.waivers``)."""
        if self.baseline is None or self.today is None:
            raise ValueError("no baseline to settle by")
        return settle(self.baseline, self.path, scenario, findings, self.today)

    def unsettled(self) -> Settlement | None:
        """The baseline named, before any scenario was settled (a comparison where no pair finished)."""
        return None if self.baseline is None else Settlement(self.baseline.name, self.path)
