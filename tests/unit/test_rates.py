"""Repeated runs as rates (issue 13, item 3): the intervals against published values, the rates of a set of
results documents, and rate bounds judged against the interval (``unknown`` when it straddles the bound)."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.oracle.rates import RUN, Interval, judge, poisson_interval, rates, wilson_interval
from harness.oracle.results import Results
from harness.scenario.loader import parse_scenario
from harness.scenario.prediction import PredictionError, parse
from harness.scenario.schema import ScenarioError

# Exact (Garwood) 95% Poisson limits, as tabulated (e.g. Ulm 1990; the chi-square identity gives the same).
HEADLINE = Path(__file__).resolve().parents[2] / "scenarios" / "jobs-vs-cron.yaml"
GARWOOD = {0: (0.0, 3.689), 1: (0.0253, 5.572), 2: (0.2422, 7.225), 5: (1.6235, 11.668), 10: (4.7954, 18.390)}


@pytest.mark.parametrize("k", list(GARWOOD))
def test_the_poisson_interval_is_garwoods(k: int) -> None:
    low, high = poisson_interval(k)
    assert (round(low, 4), round(high, 3)) == GARWOOD[k]


def test_the_poisson_interval_covers_about_95_percent() -> None:
    """Exact intervals are conservative: at any mean they cover at least 95% (checked by simulation, seeded)."""
    rng = random.Random(7)
    for mu in (0.5, 3.0, 20.0):
        hits = 0
        for _ in range(2000):
            k, t = 0, rng.expovariate(1.0)
            while t < mu:
                k, t = k + 1, t + rng.expovariate(1.0)
            low, high = poisson_interval(k)
            hits += low <= mu <= high
        assert hits / 2000 >= 0.94


def test_a_large_count_is_near_the_normal_interval() -> None:
    low, high = poisson_interval(5000)
    assert abs(low - (5000 - 1.96 * math.sqrt(5000))) < 2 and abs(high - (5000 + 1.96 * math.sqrt(5000))) < 3


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [(0, 10, (0.0, 0.2775)), (5, 10, (0.2366, 0.7634)), (10, 10, (0.7225, 1.0)), (1, 3, (0.0615, 0.7923))],
)
def test_the_wilson_interval(k: int, n: int, expected: tuple[float, float]) -> None:
    assert tuple(round(x, 4) for x in wilson_interval(k, n)) == expected


def source(name: str, occurrences: int, **counts: int) -> dict[str, Any]:
    row: dict[str, Any] = {"source": "jobs", "name": name, "occurrences": occurrences, "deliveries": occurrences}
    row.update({k: counts.get(k, 0) for k in ("duplicates", "retries", "missed", "early", "spurious")})
    row.update({"policy": "exactly-once", "verdict": "fail" if counts else "pass", "lateness_ms": {}})
    return row


def doc(verdict: str, *sources: dict[str, Any]) -> Results:
    return {"verdict": verdict, "sources": list(sources)}  # type: ignore[typeddict-item]


def test_rates_sum_the_runs_and_count_the_runs_with_each_kind() -> None:
    runs = [
        doc("fail", source("a", 60, duplicates=2), source("b", 30)),
        doc("pass", source("a", 60), source("b", 30)),
        doc("fail", source("a", 60, duplicates=1), source("b", 30, missed=1)),
    ]
    measured = rates(runs)
    assert measured.runs == 3 and measured.verdicts == (("pass", 1), ("fail", 2))
    dup = measured.run.kind("duplicates")
    assert (dup.events, dup.occurrences, dup.runs_with, dup.runs) == (3, 270, 2, 3)
    assert dup.per_1000 == pytest.approx(1000 * 3 / 270)
    assert dup.interval is not None  # Garwood for 3 events, [0.6187, 8.767], per 1,000 of 270 occurrences
    assert (dup.interval.low, dup.interval.high) == pytest.approx((0.6187 / 0.27, 8.767 / 0.27), rel=1e-3)
    a = measured.row("a")
    assert a is not None and a.kind("duplicates").events == 3 and a.occurrences == 180
    b = measured.row("b")
    assert b is not None and b.kind("missed").runs_with == 1 and b.kind("duplicates").events == 0
    assert "in 2 of 3 runs" in dup.describe()


def test_load_jobs_fold_into_one_row_and_a_missing_source_counts_as_absent() -> None:
    runs = [
        doc("pass", source("load-0-0", 1), source("load-0-1", 1, duplicates=1)),
        doc("pass", source("load-1-0", 1), source("only-here", 5)),
    ]
    measured = rates(runs)
    assert [s.name for s in measured.sources] == ["load-*", "only-here"]
    load = measured.row("load-*")
    assert load is not None and load.occurrences == 3 and load.kind("duplicates").events == 1
    only = measured.row("only-here")
    assert only is not None and only.kind("duplicates").runs == 2


def test_a_row_without_occurrences_has_no_rate() -> None:
    measured = rates([doc("pass", source("gone", 0))])
    kind = measured.row("gone").kind("missed")  # type: ignore[union-attr]
    assert kind.per_1000 is None and kind.interval is None
    assert judge(kind.interval, "<=", 5) == "unknown"


@pytest.mark.parametrize(
    ("op", "bound", "expected"),
    [
        ("<=", 20, "holds"),  # [2, 11] all under 20
        ("<=", 1, "fails"),  # all over 1
        ("<=", 5, "unknown"),  # straddles 5: more runs would decide
        (">=", 1, "holds"),
        (">", 11, "fails"),
        ("<", 11, "unknown"),
    ],
)
def test_a_bound_is_held_against_the_whole_interval(op: str, bound: float, expected: str) -> None:
    assert judge(Interval(2.0, 11.0), op, bound) == expected


def test_a_rate_bound_in_a_prediction() -> None:
    prediction = parse(
        {"verdict": "fail", "duplicates_per_1000": "<=20", "sources": {"a": {"missed_per_1000": "<0.5"}}},
        "cases.0.predict",
        "s",
        ["a", "b"],
    )
    assert prediction.has_rates
    assert prediction.describe() == "fail, duplicates_per_1000 <=20; a: missed_per_1000 <0.5"
    many = rates([doc("fail", source("a", 600, duplicates=1), source("b", 600))] * 3)
    findings = prediction.rate_findings(many)
    assert [judged for judged, _ in findings] == ["holds", "unknown"]  # 0 missed of 1,800: at most 2.05 per 1,000
    assert findings[0][1].startswith("duplicates_per_1000 <=20: 0.833 per 1,000 [")
    assert findings[0][1].endswith("over 3600 occurrences in 3 run(s)")


@pytest.mark.parametrize("bad", ["20", "==3", "<= twenty", 20, "<=-1"])
def test_a_rate_bound_that_is_not_one_is_refused_naming_the_field(bad: object) -> None:
    with pytest.raises(PredictionError) as exc:
        parse({"verdict": "pass", "duplicates_per_1000": bad}, "cases.2.predict", "s", ["a"])
    assert exc.value.lines[0].startswith("cases.2.predict.duplicates_per_1000: ")
    assert exc.value.lines[0].endswith(
        'is not a rate bound: give a bound on the rate per 1,000 occurrences such as "<=20", "<0.5", ">=100"'
    )


@pytest.mark.parametrize("section", ["jobs", "bindings"])
def test_a_source_cannot_be_named_like_the_run_row(section: str) -> None:
    """The rates table's row of the whole run is RUN; the scenario format refuses a source of that name."""
    doc = yaml.safe_load(HEADLINE.read_text())
    doc["sources"][section][0]["name"] = RUN
    with pytest.raises(ScenarioError, match=rf"sources\.{section}\.0\.name"):
        parse_scenario(doc, str(HEADLINE))
