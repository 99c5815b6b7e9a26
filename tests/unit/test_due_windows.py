"""Due windows: a job's occurrences as columns, which are counted, and half the interval to each one's next due time
(the stall threshold)."""

from __future__ import annotations

import pytest

from harness.oracle.due_windows import PERIODLESS, Occs, count_expected, half_periods, narrow, path_delays
from harness.oracle.records import Arrival, Reading, Role

S = 1_000_000_000
MS = 1_000_000


def occ(*dues: int) -> Occs:
    return Occs.planned([(d, 0, True, d) for d in dues])


def test_half_the_gap_to_the_next_due_and_after_the_last_to_when_it_would_next_fire() -> None:
    assert half_periods(occ(S, 2 * S, 4 * S), 5 * S) == [S // 2, S, S // 2]


def test_after_the_last_without_a_next_fire_the_gap_before_it() -> None:
    assert half_periods(occ(S, 3 * S), None) == [S, S]
    assert half_periods(occ(S, 3 * S), 3 * S) == [S, S]  # a next fire not after the last one is no help


def test_a_single_due_has_no_period_and_none_has_nothing() -> None:
    assert half_periods(occ(S), None) == [PERIODLESS]
    assert half_periods(occ(S), 2 * S) == [S // 2]
    assert half_periods(occ(), None) == []


def test_never_zero() -> None:
    assert half_periods(occ(S, S, S + 1), None) == [1, 1, 1]


def test_counted_when_expected_and_surely_due_by_the_end_doubtful_when_the_end_cuts_its_window() -> None:
    table = Occs.planned([(S, 0, True, S), (2 * S, 0, True, 3 * S), (4 * S, 0, False, 4 * S)])
    table.add(5 * S, 1, 5 * S, expected=True)
    count_expected(table, 2 * S)
    assert table.counted == [True, False, False, False]
    assert table.doubtful == [False, True, False, False]
    assert len(table) == 4 and table.attempts == [(), (), (), ()]


def reading(n: int, forced: tuple[tuple[int, int], ...]) -> Reading:
    roles = tuple(Role("attempt", k) for k in range(n))
    return Reading(roles, (), 0, (0, 0, 0, 0, 0), forced=forced)


def history(n: int, spans: list[int], late_ms: list[int]) -> tuple[Occs, list[Arrival]]:
    table = Occs.planned([(k * S, spans[k], True, k * S + 20 * MS) for k in range(n)])
    arrivals = [Arrival(k * S + late_ms[k] * MS, k * S + late_ms[k] * MS + 2 * MS, "success") for k in range(n)]
    return table, arrivals


@pytest.mark.parametrize("spans", [[0] * 12, [0] * 6 + [1] * 6])
def test_a_crossed_stretch_narrows_and_delays_as_its_attempts_one_by_one(spans: list[int]) -> None:
    late_ms = [3, 2, 19, 19, 22, 21, 20, 4, 40, 41, 39, 1]  # a delayed path, then a late three
    for forced in [((2, 10),), ((0, 12),), ((1, 3), (5, 11))]:
        one_by_one, arrivals = history(12, spans, late_ms)
        at_once, _ = history(12, spans, late_ms)
        assert narrow(one_by_one, reading(12, ()), arrivals, 5 * MS) == narrow(
            at_once, reading(12, forced), arrivals, 5 * MS
        )
        assert one_by_one.latest == at_once.latest
        delays = path_delays(one_by_one, reading(12, ()), arrivals, 0, 5 * MS)
        assert delays  # the delayed path is found
        assert delays == path_delays(at_once, reading(12, forced), arrivals, 0, 5 * MS)
        assert one_by_one.latest != [k * S + 20 * MS for k in range(12)]  # it did narrow
