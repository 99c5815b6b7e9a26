"""Due windows: a job's occurrences as columns, which are counted, and half the interval to each one's next due time
(the stall threshold)."""

from __future__ import annotations

from harness.oracle.due_windows import PERIODLESS, Occs, count_expected, half_periods

S = 1_000_000_000


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
