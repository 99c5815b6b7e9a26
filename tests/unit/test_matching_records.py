"""The matching's records made cheaply: occurrences as columns, the shared first-attempt roles, lateness samples
kept in due order without a sort when they already are; one delivery read without the rough pass."""

from __future__ import annotations

import random

import pytest

from harness.model import Delivery, LatenessSamples
from harness.oracle import matching
from harness.oracle.matching import readings
from harness.oracle.records import (
    Arrival,
    ArrivalTable,
    ExtraKind,
    Occurrence,
    OccurrenceTable,
    Outcome,
    Readings,
    Role,
    first_attempts,
)
from harness.oracle.tally import _by_due

S = 1_000_000_000
MS = 1_000_000


def test_a_table_gives_the_occurrences_it_was_made_of() -> None:
    occurrences = [Occurrence(S, True, S // 2, S + 5), Occurrence(2 * S, False, S // 2, None, 2, True)]
    table = OccurrenceTable.of(occurrences)
    assert list(table) == occurrences and len(table) == 2
    assert table[1] is table[1]  # made once
    assert table[-1] == occurrences[-1] and list(table[0:1]) == occurrences[:1]
    assert table.due_by() == [S + 5, 2 * S]
    assert OccurrenceTable.of(table) is table
    assert len(OccurrenceTable.of([])) == 0


def test_first_attempt_roles_are_the_roles_and_shared() -> None:
    assert first_attempts(3, 6) == [Role("attempt", k) for k in (3, 4, 5)]
    assert first_attempts(4, 5)[0] is first_attempts(2, 7)[2]
    assert first_attempts(5, 5) == []


def delivery(at: int) -> Delivery:
    return Delivery(f"d{at}", "jobs", "j", 0, at, 200)


def by_due(pairs: list[tuple[int, Delivery]]) -> LatenessSamples:
    return _by_due([due for due, _ in pairs], [d for _, d in pairs])


def test_samples_in_due_order_stay_as_they_are_others_are_sorted_by_due_then_arrival() -> None:
    ordered = [(S, delivery(S + 3)), (2 * S, delivery(2 * S + 1))]
    assert by_due(ordered) == tuple(ordered)
    tied = [(S, delivery(S + 9)), (S, delivery(S + 2)), (0, delivery(5))]
    assert by_due(tied) == (tied[2], tied[1], tied[0])
    assert by_due([]) == ()


def test_samples_read_as_their_pairs_and_equal_them() -> None:
    pairs = [(S, delivery(S + 3)), (2 * S, delivery(2 * S + 1)), (3 * S, delivery(3 * S))]
    samples = by_due(pairs)
    assert list(samples) == pairs
    assert samples[1] == pairs[1]
    assert samples[1:] == tuple(pairs[1:])
    assert repr(samples) == repr(tuple(pairs))
    assert samples != tuple(pairs[:2])
    assert samples != [(S, delivery(S + 3)), (2 * S, delivery(2 * S + 1)), (3 * S, delivery(3 * S + 1))]
    with pytest.raises(ValueError, match="2 due times for 1 deliveries"):
        LatenessSamples([S, 2 * S], [delivery(S)])


def test_counts_before_each_index() -> None:
    assert OccurrenceTable.before([True, False, True, True]) == [0, 1, 1, 2, 3]
    assert OccurrenceTable.before([]) == [0]
    table = OccurrenceTable.of([Occurrence(k * S, True, S // 2) for k in range(4)])
    assert table.indices[1:3] == (1, 2)


def re_sent_or_spurious(_i: int, _cur: int) -> tuple[ExtraKind, ...]:
    return ("duplicate", "spurious")


@pytest.mark.parametrize("seed", range(40))
def test_one_delivery_is_read_the_same_without_the_rough_pass(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    n = rng.choice((1, 1, 2, 5, 40))
    occ = [Occurrence(k * S, rng.random() < 0.9, S // 2, k * S + rng.randint(0, 30) * MS) for k in range(1, n + 1)]
    at = rng.randint(0, (n + 1) * S)
    outcome: Outcome = rng.choice(("success", "failure", "cut"))
    arrivals = [Arrival(at, None if outcome == "cut" else at + 3 * MS, outcome, rng.random() < 0.1)]

    def read() -> Readings:
        attempts = rng.choice((1, 4, None))
        return readings(occ, arrivals, tolerance_ns=5 * MS, max_attempts=attempts, retry_interval_ns=S,
                        classify=re_sent_or_spurious, idle_from=0)  # fmt: skip

    state = rng.getstate()
    skipped = read()
    monkeypatch.setattr(matching, "ROUGH_FROM", 0)
    rng.setstate(state)
    assert read() == skipped


def test_an_arrival_table_gives_the_arrivals_it_was_made_of_and_keeps_the_last_dues() -> None:
    arrivals = [Arrival(S, S + 5, "success"), Arrival(3 * S, None, "cut", True)]
    table = ArrivalTable.of(arrivals)
    assert list(table) == arrivals and table[1] is table[1] and list(table[1:]) == arrivals[1:]
    assert ArrivalTable.of(table) is table and len(ArrivalTable.of([])) == 0
    dues = [0, 2 * S, 3 * S]
    lasts = table.last_dues(dues, 0)
    assert lasts == [0, 2] and table.last_dues(dues, 0) is lasts  # kept for the same dues
    assert table.last_dues([*dues], 0) == lasts and table.last_dues(dues, S) == [1, 2]
