"""The gate a comparison or a suite judges by: the command's lateness rule, and the ``--baseline`` file (if any)
read, checked against the scenarios it will be applied to, and put in force on today's date (UTC), all before
anything is built or started. The date is read here, once; the oracle is handed it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path

from harness.oracle.changes import LATENESS_FLOOR_MS, LATENESS_THRESHOLD_PCT
from harness.oracle.gate import Gate
from harness.scenario.baseline import check_scenarios, load_baseline
from harness.scenario.schema import Scenario

DEFAULT_LATENESS = (LATENESS_THRESHOLD_PCT, LATENESS_FLOOR_MS)  # a suite compares no lateness


def today() -> date:
    """The day a baseline's expiries are read against: UTC, so every CI machine agrees."""
    return datetime.now(UTC).date()


def gate(
    lateness: tuple[float, float],
    baseline: Path | None,
    scenarios: Mapping[str, Scenario] | None = None,
    target: Path | None = None,
) -> Gate:
    """``lateness``: (threshold %, floor ms) from the command line. With ``scenarios`` (and the ``target`` file they
    come from), every scenario and source the baseline names must be one of them. Raises ``BaselineError``."""
    if baseline is None:
        return Gate(*lateness)
    model = load_baseline(baseline)
    if scenarios is not None:
        check_scenarios(model, baseline, scenarios, target or Path("the target"))
    return Gate(lateness[0], lateness[1], model, str(baseline), today())
