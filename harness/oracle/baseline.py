"""A baseline: the differences a comparison (or a suite) accepts, each with its reason and expiry, and per-scenario
lateness thresholds. The model only (pure); reading the YAML file is ``harness.scenario.baseline``, applying it
``harness.oracle.waivers``.

```yaml
name: dapr-1.16.0-to-1.18.2
waivers:                      # accepted differences: a regression inside a waiver does not fail the gate
  - scenario: network-ack-loss
    source: jobs:job-a        # a source as in comparison.json (jobs:job-a, binding:tick-cron), its bare name
                              # (job-a), run (the run's verdict; a suite's run-level sums), or * (every one)
    figure: duplicates        # duplicates, retries, missed, early, spurious, lateness_p99_ms, verdict
    up_to: 5                  # the new value accepted, at most: per source (a count, or ms for lateness);
                              # for verdict, the accepted verdicts: [pass, unknown]
    reason: "1.18.2's gRPC keepalive re-sends the un-acked trigger (docs/findings.md)"
    expires: 2027-06-30       # the last day it applies (UTC); after it the output lists it as expired
thresholds:                   # per-scenario lateness rule, instead of the command's defaults
  - scenario: scheduler-kill-one-of-three
    lateness_threshold_pct: 50
    lateness_floor_ms: 50
```

Every key but ``source`` (default ``*``) is required in a waiver; a threshold gives either rule or both. A figure
that is never a regression nor a prediction (``deliveries``, ``lateness_p50_ms``, ...) cannot be waived.
"""

from __future__ import annotations

import difflib
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from harness.model import Verdict
from harness.oracle.changes import FIGURES

# What a waiver can accept: the figures a comparison gates on, and the counts a suite case predicts
# (harness.scenario.prediction.COUNTS: retries too).
WAIVABLE = ("duplicates", "retries", "missed", "early", "spurious", "lateness_p99_ms", "verdict")
VERDICTS: tuple[Verdict, ...] = ("pass", "unknown", "fail")
RUN = "run"  # the key of the run's own verdict (and of a suite case's run-level sums)


def source_matches(pattern: str, key: str) -> bool:
    """A waiver's ``source`` against a finding's key: ``*`` matches every key; ``jobs:job-a`` and ``job-a`` match
    ``jobs:job-a`` (a suite names sources bare); two kinds never match each other (``binding:tick``, ``jobs:tick``)."""
    if pattern in ("*", key):
        return True
    if ":" in pattern and ":" in key:
        return False
    return pattern.split(":", 1)[-1] == key.split(":", 1)[-1]


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: str = Field(min_length=1)
    source: str = Field(default="*", min_length=1)
    figure: str
    up_to: int | float | tuple[Verdict, ...]
    reason: str
    expires: date

    @field_validator("figure")
    @classmethod
    def _waivable(cls, value: str) -> str:
        if value in WAIVABLE:
            return value
        if value in FIGURES:
            raise ValueError(
                f"{value!r} is never a regression nor a prediction, so there is nothing to waive; "
                f"waivable figures: {', '.join(WAIVABLE)}"
            )
        close = difflib.get_close_matches(value, WAIVABLE, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"{value!r} is not a figure{hint}; waivable figures: {', '.join(WAIVABLE)}")

    @field_validator("up_to", mode="before")
    @classmethod
    def _bound(cls, value: Any, info: ValidationInfo) -> Any:
        figure = info.data.get("figure")
        if figure is None:  # the figure itself is wrong: said there
            return value
        if figure == "verdict":
            verdicts = [value] if isinstance(value, str) else value
            if not isinstance(verdicts, list) or not verdicts or any(v not in VERDICTS for v in verdicts):
                raise ValueError(
                    f"for figure verdict, give the accepted verdicts as a list, e.g. [pass, unknown] "
                    f"(of {', '.join(VERDICTS)}), got {value!r}"
                )
            return tuple(verdicts)
        whole = figure != "lateness_p99_ms"
        kind = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind) or value < 0:
            what = "a whole number, at least 0" if whole else "a number of milliseconds, at least 0"
            raise ValueError(f"for figure {figure}, up_to is {what} (the new value accepted, at most), got {value!r}")
        return value

    @field_validator("reason")
    @classmethod
    def _said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("say why this difference is accepted (a finding, a ticket, docs/findings.md)")
        return value

    @field_validator("expires", mode="before")
    @classmethod
    def _day(cls, value: Any) -> date:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise ValueError(f"expected a date YYYY-MM-DD (the last day the waiver applies), got {value!r}")

    def covers(self, scenario: str, key: str, figure: str) -> bool:
        return self.scenario == scenario and self.figure == figure and source_matches(self.source, key)

    def accepts(self, value: Any) -> bool:
        """The new value is inside the waiver (``None``: the figure is absent, nothing to accept)."""
        if value is None:
            return False
        if isinstance(self.up_to, tuple):
            return str(value) in self.up_to
        return float(value) <= float(self.up_to)

    def expired(self, today: date) -> bool:
        """The day of expiry still applies."""
        return today > self.expires

    @property
    def bound(self) -> str:
        if isinstance(self.up_to, tuple):
            return " or ".join(self.up_to)
        return f"{self.up_to:g} ms" if self.figure == "lateness_p99_ms" else str(self.up_to)

    @property
    def label(self) -> str:
        """``network-ack-loss jobs:job-a duplicates up to 5 (expires 2027-06-30)``."""
        return f"{self.scenario} {self.source} {self.figure} up to {self.bound} (expires {self.expires.isoformat()})"

    def to_dict(self) -> dict[str, Any]:
        up_to = list(self.up_to) if isinstance(self.up_to, tuple) else self.up_to
        return {
            "scenario": self.scenario,
            "source": self.source,
            "figure": self.figure,
            "up_to": up_to,
            "reason": self.reason,
            "expires": self.expires.isoformat(),
        }


class Threshold(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: str = Field(min_length=1)
    lateness_threshold_pct: float | None = Field(default=None, ge=0)
    lateness_floor_ms: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _some_rule(self) -> Threshold:
        if self.lateness_threshold_pct is None and self.lateness_floor_ms is None:
            raise ValueError("give lateness_threshold_pct, lateness_floor_ms, or both")
        return self


class Baseline(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    waivers: tuple[Waiver, ...] = ()
    thresholds: tuple[Threshold, ...] = ()

    @field_validator("thresholds")
    @classmethod
    def _once_each(cls, value: tuple[Threshold, ...]) -> tuple[Threshold, ...]:
        seen = [t.scenario for t in value]
        twice = sorted({s for s in seen if seen.count(s) > 1})
        if twice:
            raise ValueError(f"scenario {', '.join(twice)} given more than once: one threshold entry per scenario")
        return value

    def lateness(self, scenario: str, default: tuple[float, float]) -> tuple[float, float]:
        """(threshold %, floor ms) for ``scenario``: its threshold entry's, else ``default`` (the command's)."""
        entry = next((t for t in self.thresholds if t.scenario == scenario), None)
        if entry is None:
            return default
        pct, floor = entry.lateness_threshold_pct, entry.lateness_floor_ms
        return (default[0] if pct is None else pct, default[1] if floor is None else floor)

    def names(self, scenario: str) -> bool:
        """Whether any waiver or threshold is about ``scenario``."""
        return any(w.scenario == scenario for w in self.waivers) or any(t.scenario == scenario for t in self.thresholds)
