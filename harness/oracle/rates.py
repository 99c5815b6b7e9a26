"""Repeated runs of one scenario as rates: each anomaly kind per 1,000 occurrences with a 95% interval, and the
share of runs that had it, run-level (summed over sources) and per source.

Two intervals, both exact or close to it, both computed here in pure Python (no scipy):

- **Events per 1,000 occurrences**: the exact (Garwood) Poisson interval for the count of events over all runs,
  divided by the occurrences over all runs. A count can pass the occurrences (a cron binding under exactly-once
  delivers about three times per tick), so it is a rate, not a proportion. It assumes events independent of one
  another; they are not always (one killed replica duplicates every source it held at once), so when events
  cluster the interval is narrower than the truth: read it beside the share of runs.
- **Share of runs with the kind** (k of N runs had at least one): the Wilson score interval, which behaves at 0
  and N, where the textbook normal interval collapses to a point.

``judge`` holds a rate bound (``duplicates_per_1000: "<=20"``) against the interval, never the point estimate
alone: the whole interval inside the bound holds, the whole interval outside fails, and an interval across the
bound is ``unknown`` (more runs would decide), so one race cannot decide a gate either way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from harness.model import LOAD_PREFIX
from harness.oracle.results import Results

KINDS = ("duplicates", "retries", "missed", "early", "spurious")
Z95 = 1.959963984540054  # the standard normal's 97.5% quantile: two-sided 95%
ALPHA = 0.05
PER = 1000
RUN = "(run)"  # the row that sums every source
LOAD_ROW = f"{LOAD_PREFIX}*"  # every load job folded into one row (their names differ from run to run)


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float

    def __str__(self) -> str:
        return f"[{figure(self.low)}, {figure(self.high)}]"


@dataclass(frozen=True, slots=True)
class KindRate:
    """One anomaly kind of one row over N runs."""

    kind: str
    events: int  # summed over the runs
    occurrences: int  # summed over the runs
    runs_with: int  # runs with at least one event of this kind
    runs: int

    @property
    def per_1000(self) -> float | None:
        return None if self.occurrences == 0 else PER * self.events / self.occurrences

    @property
    def interval(self) -> Interval | None:
        """95% interval of the rate per 1,000 occurrences (exact Poisson); None without occurrences."""
        if self.occurrences == 0:
            return None
        low, high = poisson_interval(self.events)
        scale = PER / self.occurrences
        return Interval(low * scale, high * scale)

    @property
    def share_interval(self) -> Interval:
        """95% Wilson interval of the share of runs with this kind."""
        return Interval(*wilson_interval(self.runs_with, self.runs))

    def describe(self) -> str:
        """``duplicates 3.7 per 1,000 [0.8, 11] (2 in 540 occurrences), in 1 of 3 runs [6%, 79%]``."""
        share = self.share_interval
        where = f"in {self.runs_with} of {self.runs} runs [{share.low:.0%}, {share.high:.0%}]"
        if self.per_1000 is None:
            return f"{self.kind} {self.events} (no occurrences to rate), {where}"
        return (
            f"{self.kind} {figure(self.per_1000)} per 1,000 {self.interval} "
            f"({self.events} in {self.occurrences} occurrences), {where}"
        )


@dataclass(frozen=True, slots=True)
class RowRates:
    name: str  # a source's name, LOAD_ROW, or RUN
    occurrences: int
    kinds: tuple[KindRate, ...]

    def kind(self, name: str) -> KindRate:
        return next(k for k in self.kinds if k.kind == name)


@dataclass(frozen=True, slots=True)
class Rates:
    runs: int
    verdicts: tuple[tuple[str, int], ...]  # (verdict, how many runs), in pass, unknown, fail order
    run: RowRates
    sources: tuple[RowRates, ...]

    def row(self, name: str) -> RowRates | None:
        return self.run if name == RUN else next((s for s in self.sources if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """rates.json's ``rates`` (documented in reports/README.md)."""
        return {
            "runs": self.runs,
            "verdicts": dict(self.verdicts),
            "interval": "95%: exact (Garwood) Poisson for events per 1,000 occurrences; Wilson for shares of runs",
            "run": _row_dict(self.run),
            "sources": [_row_dict(s) for s in self.sources],
        }


def _row_dict(row: RowRates) -> dict[str, Any]:
    out: dict[str, Any] = {"name": row.name, "occurrences": row.occurrences}
    for k in row.kinds:
        rate, interval, share = k.per_1000, k.interval, k.share_interval
        out[k.kind] = {
            "events": k.events,
            "per_1000": None if rate is None else round(rate, 3),
            "per_1000_interval": None if interval is None else [round(interval.low, 3), round(interval.high, 3)],
            "runs_with": k.runs_with,
            "share_of_runs_interval": [round(share.low, 4), round(share.high, 4)],
        }
    return out


def rates(docs: Sequence[Results]) -> Rates:
    """The rates of N judged runs of one scenario (their results.json documents, N >= 1)."""
    if not docs:
        raise ValueError("rates of no runs")
    per_run = [_rows(d) for d in docs]
    names = list(dict.fromkeys(name for rows in per_run for name in rows))
    sources = tuple(_row(name, [rows.get(name) for rows in per_run]) for name in names)
    totals = [_sum(rows.values()) for rows in per_run]
    order = {"pass": 0, "unknown": 1, "fail": 2}
    seen = sorted({str(d["verdict"]) for d in docs}, key=lambda v: order.get(v, 3))
    verdicts = tuple((v, sum(1 for d in docs if d["verdict"] == v)) for v in seen)
    return Rates(len(docs), verdicts, _row(RUN, totals), sources)


def _rows(doc: Results) -> dict[str, Mapping[str, Any]]:
    """A run's sources by name, every load job folded into one row."""
    load = [s for s in doc["sources"] if s["source"] == "jobs" and str(s["name"]).startswith(LOAD_PREFIX)]
    rows: dict[str, Mapping[str, Any]] = {str(s["name"]): s for s in doc["sources"] if s not in load}
    if load:
        rows[LOAD_ROW] = _sum(load)
    return rows


def _sum(rows: Sequence[Mapping[str, Any]] | Any) -> dict[str, int]:
    rows = list(rows)
    return {key: sum(int(r[key]) for r in rows) for key in ("occurrences", *KINDS)}


def _row(name: str, per_run: Sequence[Mapping[str, Any] | None]) -> RowRates:
    present = [r for r in per_run if r is not None]
    occurrences = sum(int(r["occurrences"]) for r in present)
    kinds = tuple(
        KindRate(
            kind,
            events=sum(int(r[kind]) for r in present),
            occurrences=occurrences,
            runs_with=sum(1 for r in present if int(r[kind]) > 0),
            runs=len(per_run),
        )
        for kind in KINDS
    )
    return RowRates(name, occurrences, kinds)


Judged = Literal["holds", "fails", "unknown"]


def judge(interval: Interval | None, op: str, bound: float) -> Judged:
    """A rate bound (``op`` one of <=, <, >=, >) against a rate's 95% interval: ``holds`` when all of the interval
    is inside the bound, ``fails`` when all of it is outside, ``unknown`` when it straddles the bound (or the row
    had no occurrences to rate)."""
    if interval is None:
        return "unknown"
    inside = {
        "<=": (interval.high <= bound, interval.low > bound),
        "<": (interval.high < bound, interval.low >= bound),
        ">=": (interval.low >= bound, interval.high < bound),
        ">": (interval.low > bound, interval.high <= bound),
    }
    holds, fails = inside[op]
    return "holds" if holds else "fails" if fails else "unknown"


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion k/n (n > 0); (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def poisson_interval(k: int, alpha: float = ALPHA) -> tuple[float, float]:
    """The exact (Garwood) two-sided interval of a Poisson mean given k events: the means at which seeing k or
    more (lower end), or k or fewer (upper end), has probability alpha/2. Found by bisection on the Poisson CDF."""
    if k < 0:
        raise ValueError(f"a count of events cannot be negative: {k}")
    tail = alpha / 2
    low = 0.0 if k == 0 else _bisect(lambda mu: 1 - _poisson_cdf(k - 1, mu) - tail, 0.0, float(k))
    high = _bisect(lambda mu: tail - _poisson_cdf(k, mu), float(k), k + 10 * math.sqrt(k + 1) + 10)
    return low, high


def _poisson_cdf(k: int, mu: float) -> float:
    """P(X <= k) for X ~ Poisson(mu), summed in log space (k in the thousands stays exact enough)."""
    if mu <= 0:
        return 1.0
    log_mu = math.log(mu)
    terms = [i * log_mu - mu - math.lgamma(i + 1) for i in range(k + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * math.fsum(math.exp(t - top) for t in terms))


def _bisect(f: Any, lo: float, hi: float) -> float:
    """The root of an increasing f on [lo, hi] (f(lo) <= 0 <= f(hi)), to well under a thousandth."""
    for _ in range(100):
        mid = (lo + hi) / 2
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-9 * max(1.0, hi):
            break
    return (lo + hi) / 2


def figure(x: float) -> str:
    """A rate for people: whole above 100, three significant digits below."""
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.3g}"
