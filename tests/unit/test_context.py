"""Each delivery's context for the matching search: the numpy columns a long history's is computed as give the same
lists as the plain way a short one's is (on generated histories with every kind of occurrence and arrival)."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

from harness.oracle.context import delivery_context
from harness.oracle.records import PIN_NS, ArrivalTable, OccurrenceTable, Outcome

MS = 1_000_000
TOL = 5 * MS
T0 = 1_764_000_000_000_000_000  # 2025-11-24, in ns: times as large as a run's


def tables(seed: int) -> tuple[OccurrenceTable, ArrivalTable]:
    """Dues a period apart (some pairs equal, as two plan spans may give), latest dues across a schedule call, the
    ends uncounted, of one creation world or the other, or doubtful; arrivals mostly on time, with failures, cut-off
    ones, re-sends before an answer, lost occurrences, late ones and some after a delete."""
    rng = random.Random(seed)
    period = rng.choice((100 * MS, 500 * MS, 1000 * MS, 3 * PIN_NS))
    due = T0
    dues: list[int] = []
    for _ in range(rng.randint(0, 300)):
        due += 0 if rng.random() < 0.01 else period
        dues.append(due)
    n = len(dues)
    spread = rng.choice((0, 2 * MS, period // 3))
    latest = [d + rng.randint(0, spread) for d in dues]
    half = [max(1, (b - a) // 2) for a, b in pairwise(dues)] + ([period // 2] if dues else [])
    counted = [0 < k < n - 2 or rng.random() < 0.5 for k in range(n)]
    world = [rng.choice((0, 1, 2)) if k in (0, n - 1) else 0 for k in range(n)]
    doubtful = [k == n - 2 and rng.random() < 0.5 for k in range(n)]
    table = OccurrenceTable(dues, counted, half, latest, world, doubtful)
    received: list[int] = []
    answered: list[int | None] = []
    outcome: list[Outcome] = []
    restricted: list[bool] = []

    def arrive(at: int, answer: int | None, kind: Outcome) -> None:
        received.append(at)
        answered.append(answer)
        outcome.append(kind)
        restricted.append(rng.random() < 0.01)

    for k, d in enumerate(dues):
        trouble = rng.random()
        if trouble < 0.03:
            continue  # lost
        at = d + rng.randint(0, 3 * MS) + (rng.randint(1, 3) * period if trouble > 0.98 else 0)
        if 0.1 <= trouble < 0.13:  # on the edge of the pin window
            at = latest[k] + min(half[k], PIN_NS) + rng.choice((0, 1))
        if 0.13 <= trouble < 0.16 and k + 1 < n:  # answered on the edge of the job being idle at the next due
            arrive(at, dues[k + 1] + TOL + rng.choice((0, 1)), "success")
            continue
        if trouble < 0.06:
            arrive(at, at + 2 * MS, "failure")
            at += rng.randint(5, 50) * MS
        elif trouble < 0.08:
            arrive(at, None, "cut")
            at += rng.randint(5, 50) * MS
        elif trouble < 0.1:
            arrive(at, at + 30 * MS, "success")
            at += rng.randint(1, 20) * MS  # a re-send before the first was answered
        arrive(at, at + rng.randint(1, 20) * MS, "success")
    return table, ArrivalTable(received, answered, outcome, restricted)


@pytest.mark.parametrize("seed", range(60))
def test_the_vectorised_context_is_the_listed_one(seed: int) -> None:
    table, arrivals = tables(seed)
    again = ArrivalTable(arrivals.received, arrivals.answered, arrivals.outcome, arrivals.restricted)
    idle_from = None if seed % 7 == 0 else T0 - TOL
    listed = delivery_context(table, arrivals, idle_from, TOL, vectorised=False)
    vectorised = delivery_context(table, again, idle_from, TOL, vectorised=True)
    assert vectorised == listed


def test_the_histories_have_pins_and_stretches() -> None:
    """Not a vacuous comparison: the generated histories pin deliveries and have stretches to cross."""
    contexts = [delivery_context(*tables(seed), T0, TOL) for seed in range(60)]
    assert sum(1 for c in contexts for p in c.pins if p is not None) > 1000
    assert sum(1 for c in contexts if c.forced) > 10
