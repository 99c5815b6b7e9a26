"""Due windows: half the interval to each occurrence's next due time (the stall threshold)."""

from __future__ import annotations

from harness.oracle.due_windows import PERIODLESS, Occ, half_periods

S = 1_000_000_000


def occ(*dues: int) -> list[Occ]:
    return [Occ(d, True, 0, d) for d in dues]


def test_half_the_gap_to_the_next_due_and_after_the_last_to_when_it_would_next_fire() -> None:
    assert half_periods(occ(S, 2 * S, 4 * S), 5 * S) == [S // 2, S, S // 2]


def test_after_the_last_without_a_next_fire_the_gap_before_it() -> None:
    assert half_periods(occ(S, 3 * S), None) == [S, S]
    assert half_periods(occ(S, 3 * S), 3 * S) == [S, S]  # a next fire not after the last one is no help


def test_a_single_due_has_no_period_and_none_has_nothing() -> None:
    assert half_periods(occ(S), None) == [PERIODLESS]
    assert half_periods(occ(S), 2 * S) == [S // 2]
    assert half_periods([], None) == []


def test_never_zero() -> None:
    assert half_periods(occ(S, S, S + 1), None) == [1, 1, 1]
