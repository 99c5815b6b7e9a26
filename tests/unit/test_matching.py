"""choose_skips on bare numbers: which due occurrences a delivery skips (the checker's tests cover it in context)."""

from __future__ import annotations

from harness.matching import choose_skips

P = 1_000  # a period, in arbitrary ns


def dues(n: int) -> list[int]:
    return [k * P for k in range(1, n + 1)]


def test_on_time_history_skips_nothing() -> None:
    received = [d + 10 for d in dues(5)]
    assert choose_skips(dues(5), [True] * 5, received, [True] * 5, 0, 4) == {}


def test_lost_trigger_is_skipped_where_it_was_lost() -> None:
    received = [d + 10 for d in dues(6) if d != 3 * P]  # occurrence 3 (index 2) never came
    assert choose_skips(dues(6), [True] * 6, received, [True] * 5, 0, 4) == {2: 1}


def test_burst_after_a_stall_skips_nothing_even_past_the_next_due() -> None:
    received = [1 * P + 10, 5 * P - 1, 5 * P + 100, 5 * P + 200, 5 * P + 300, 6 * P + 10]  # 2..5 back to back
    assert choose_skips(dues(6), [True] * 6, received, [True] * 6, 0, 4) == {}


def test_retries_stay_on_their_occurrence() -> None:
    received = [1 * P + 10, 2 * P + 10, 2 * P + 400, 2 * P + 800, 3 * P + 10]  # 2 fails twice, then succeeds
    success = [True, False, False, True, True]
    assert choose_skips(dues(3), [True] * 3, received, success, 0, 4) == {}


def test_a_narrow_beam_still_answers() -> None:
    received = [d + 10 for d in dues(40) if d % (7 * P)]
    skips = choose_skips(dues(40), [True] * 40, received, [True] * len(received), 0, 4, beam=2)
    assert sum(skips.values()) == 5
