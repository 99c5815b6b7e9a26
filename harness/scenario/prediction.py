"""What a suite case predicts: the run's verdict, and the anomalies, of the run and of each source it names.

``predict`` in a suite case is the verdict shorthand (``predict: pass``) or a mapping::

    predict: {verdict: fail, duplicates: ">=1", missed: 0, early: 0, spurious: 0}
    predict:
      verdict: fail
      sources: {tick-job: {verdict: fail, duplicates: ">=1", missed: 0}, tick-fan: {duplicates: ">=1"}}

``verdict`` is required at the top of a mapping and optional per source; a list (``verdict: [pass, unknown]``)
accepts any of its verdicts (a recurring job after a stall: its catch-up may or may not read two ways). A count
(``duplicates``, ``retries``, ``missed``, ``early``, ``spurious``) is a whole number (exact) or a comparison
string: ``">=1"``, ``"<=2"``, ``">0"``, ``"<3"``, ``"==0"``, ``"0"``. Run-level counts are sums over the run's
sources (results.json ``sources``); a source is named by its name as in the scenario (a fan-out by its own name,
not its members').

A **rate bound** (``duplicates_per_1000: "<=20"``, any count kind with ``_per_1000``; ``<=``, ``<``, ``>=``, ``>``
and a number) is judged over all the runs of a repeated case (``repeat:``, ``--repeat``) against the rate's 95%
interval (``harness.oracle.rates.judge``): it holds when the whole interval is inside the bound, fails when the
whole interval is outside, and is unknown when the interval straddles it (more runs would decide). Counts and the
verdict are held against every run.
``parse`` checks all of it before anything runs; ``Prediction.differences`` names each way a run differs,
e.g. ``tick-job duplicates: predicted >=1, got 0``.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from harness.model import Verdict
from harness.oracle.rates import RUN, Judged, Rates, figure, judge
from harness.oracle.results import Results
from harness.scenario.schema import show

__all__ = ["COUNTS", "RATES", "Count", "Difference", "Expected", "Prediction", "RateBound", "parse"]

COUNTS = ("duplicates", "retries", "missed", "early", "spurious")
RATE_SUFFIX = "_per_1000"
RATES = tuple(f"{kind}{RATE_SUFFIX}" for kind in COUNTS)
VERDICTS: tuple[Verdict, ...] = ("pass", "fail", "unknown")
_OPS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}
_COMPARISON = re.compile(r"\s*(>=|<=|==|>|<)?\s*(\d+)\s*")
COUNT_HINT = 'give a whole number (2) or a comparison such as ">=1", "<=2", ">0", "==0"'
_RATE = re.compile(r"\s*(>=|<=|>|<)\s*(\d+(?:\.\d+)?)\s*")
RATE_HINT = 'give a bound on the rate per 1,000 occurrences such as "<=20", "<0.5", ">=100"'


@dataclass(frozen=True, slots=True)
class Count:
    """A predicted count: ``op`` one of >=, <=, >, <, == (an exact number is ==)."""

    op: str
    value: int

    def holds(self, n: int) -> bool:
        return _OPS[self.op](n, self.value)

    def __str__(self) -> str:
        return str(self.value) if self.op == "==" else f"{self.op}{self.value}"


@dataclass(frozen=True, slots=True)
class RateBound:
    """A predicted bound on a kind's rate per 1,000 occurrences over repeated runs."""

    kind: str  # one of COUNTS
    op: str  # <=, <, >=, >
    value: float

    def __str__(self) -> str:
        return f"{self.kind}{RATE_SUFFIX} {self.op}{self.value:g}"


@dataclass(frozen=True, slots=True)
class Expected:
    """What is predicted of the run (sums over its sources) or of one source; None: not predicted."""

    verdict: Verdict | None
    counts: tuple[tuple[str, Count], ...] = ()
    also: tuple[Verdict, ...] = ()  # other verdicts that hold (``verdict: [pass, unknown]``)
    rates: tuple[RateBound, ...] = ()

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        return () if self.verdict is None else (self.verdict, *self.also)

    def describe(self) -> str:
        parts = ([" or ".join(self.verdicts)] if self.verdict else []) + [f"{k} {c}" for k, c in self.counts]
        return ", ".join(parts + [str(r) for r in self.rates])


@dataclass(frozen=True, slots=True)
class Difference:
    """One way a run differs from its prediction: the source ("" for the run: its verdict, sums over its sources),
    the figure (``verdict`` or a count), what the run got, and the line that says it."""

    source: str
    figure: str
    got: int | str | None
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Prediction:
    run: Expected
    sources: tuple[tuple[str, Expected], ...] = ()

    @property
    def verdict(self) -> Verdict:
        assert self.run.verdict is not None
        return self.run.verdict

    def describe(self) -> str:
        """One line for people: ``fail, duplicates >=1, missed 0; tick-job: fail, duplicates >=1``."""
        return "; ".join([self.run.describe(), *(f"{name}: {e.describe()}" for name, e in self.sources)])

    def differences(self, results: Results) -> list[str]:
        """Every way ``results`` (a results.json document) differs from the prediction, one line each."""
        return [d.text for d in self.differing(results)]

    def differing(self, results: Results) -> list[Difference]:
        """Every way ``results`` differs from the prediction (what a baseline's waivers may accept)."""
        rows: dict[str, Mapping[str, Any]] = {str(s["name"]): s for s in results.get("sources", [])}
        total = {k: sum(int(s[k]) for s in rows.values()) for k in COUNTS}
        found = _differ("", self.run, str(results.get("verdict")), total)
        for name, expected in self.sources:
            row = rows.get(name)
            if row is None:
                found.append(Difference(name, "source", None, f"{name}: predicted, but the run has no such source"))
                continue
            found += _differ(f"{name} ", expected, str(row["verdict"]), {k: int(row[k]) for k in COUNTS})
        return found

    @property
    def has_rates(self) -> bool:
        return bool(self.run.rates) or any(e.rates for _, e in self.sources)

    def rate_findings(self, measured: Rates) -> list[tuple[Judged, str]]:
        """Each rate bound judged against the repeated runs' rates, with a line that shows the interval, e.g.
        ``duplicates_per_1000 <=20: 3.7 per 1,000 [0.8, 11] over 540 occurrences in 3 runs``."""
        found: list[tuple[Judged, str]] = []
        for name, expected in [(RUN, self.run), *self.sources]:
            row = measured.row(name)
            for bound in expected.rates:
                prefix = "" if name == RUN else f"{name} "
                if row is None:
                    found.append(("unknown", f"{prefix}{bound}: no run has this source"))
                    continue
                rate = row.kind(bound.kind)
                judged = judge(rate.interval, bound.op, bound.value)
                shown = (
                    "no occurrences" if rate.per_1000 is None else f"{figure(rate.per_1000)} per 1,000 {rate.interval}"
                )
                found.append(
                    (judged, f"{prefix}{bound}: {shown} over {rate.occurrences} occurrences in {rate.runs} run(s)")
                )
        return found


def _differ(prefix: str, expected: Expected, verdict: str, counts: Mapping[str, int]) -> list[Difference]:
    found = []
    source = prefix.strip()
    if expected.verdict is not None and verdict not in expected.verdicts:
        said = f"{prefix}verdict: predicted {' or '.join(expected.verdicts)}, got {verdict}"
        found.append(Difference(source, "verdict", verdict, said))
    for key, want in expected.counts:
        got = counts[key]
        if not want.holds(got):
            found.append(Difference(source, key, got, f"{prefix}{key}: predicted {want}, got {got}"))
    return found


class PredictionError(ValueError):
    """The problems with one case's ``predict``, one line each (the suite adds the file)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def parse(raw: object, where: str, scenario: str, sources: Sequence[str]) -> Prediction:
    """``predict`` as written at ``where`` (e.g. ``cases.3.predict``) for a scenario with these source names."""
    problems: list[str] = []
    if isinstance(raw, str) and raw in VERDICTS:
        return Prediction(Expected(raw))
    if not isinstance(raw, Mapping):
        raise PredictionError([f"{where}: expected {', '.join(VERDICTS)} or a mapping, got {show(raw)}"])
    run = _expected(raw, where, problems, top=True)
    if "verdict" not in raw:
        problems.append(f"{where}: missing key 'verdict' (the run's predicted verdict: {', '.join(VERDICTS)})")
    predicted: list[tuple[str, Expected]] = []
    named = raw.get("sources", {})
    if not isinstance(named, Mapping):
        problems.append(f"{where}.sources: expected a mapping of source name to prediction, got {show(named)}")
        named = {}
    for name, entry in named.items():
        here = f"{where}.sources.{name}"
        if name not in sources:
            close = difflib.get_close_matches(str(name), list(sources), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{here}: not a source of scenario {scenario}{hint}; its sources: {', '.join(sources)}")
        elif not isinstance(entry, Mapping):
            problems.append(
                f"{here}: expected a mapping such as {{verdict: fail, duplicates: '>=1'}}, got {show(entry)}"
            )
        else:
            predicted.append((str(name), _expected(entry, here, problems, top=False)))
    if problems:
        raise PredictionError(problems)
    return Prediction(run, tuple(predicted))


def _expected(raw: Mapping[Any, Any], where: str, problems: list[str], *, top: bool) -> Expected:
    valid = ["verdict", *COUNTS, *RATES, *(["sources"] if top else [])]
    listed = ["verdict", *COUNTS, f"<count>{RATE_SUFFIX}", *(["sources"] if top else [])]
    for key in raw:
        if key not in valid:
            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{where}: unknown key {show(key)}{hint}; valid keys: {', '.join(listed)}")
    verdict = raw.get("verdict")
    also: list[str] = []
    if isinstance(verdict, list) and verdict:  # several verdicts hold: [pass, unknown]
        verdict, also = verdict[0], list(verdict[1:])
    for v in [verdict, *also]:
        if v is not None and v not in VERDICTS:
            problems.append(f"{where}.verdict: {show(v)} is not valid: must be one of {', '.join(VERDICTS)}")
            verdict = None
    counts = []
    for key in COUNTS:
        if key in raw:
            count = _count(raw[key])
            if count is None:
                problems.append(f"{where}.{key}: {show(raw[key])} is not a count: {COUNT_HINT}")
            else:
                counts.append((key, count))
    bounds = []
    for key in RATES:
        if key in raw:
            m = _RATE.fullmatch(raw[key]) if isinstance(raw[key], str) else None
            if m is None:
                problems.append(f"{where}.{key}: {show(raw[key])} is not a rate bound: {RATE_HINT}")
            else:
                bounds.append(RateBound(key.removesuffix(RATE_SUFFIX), m.group(1), float(m.group(2))))
    also_verdicts = tuple(cast(list[Verdict], also))
    return Expected(cast(Verdict | None, verdict), tuple(counts), also_verdicts, tuple(bounds))


def _count(value: object) -> Count | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return Count("==", value) if value >= 0 else None
    if isinstance(value, str):
        m = _COMPARISON.fullmatch(value)
        if m is not None:
            return Count(m.group(1) or "==", int(m.group(2)))
    return None
