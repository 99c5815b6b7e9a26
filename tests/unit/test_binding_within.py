"""The binding oracle's counted ticks found by bisection: the same ticks, in order, as looking at each one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.oracle.bindings import _in_any, _within


@given(
    st.lists(st.integers(0, 200), max_size=60).map(sorted),
    st.lists(st.tuples(st.integers(-10, 210), st.integers(0, 60)).map(lambda p: (p[0], p[0] + p[1])), max_size=4),
)
def test_the_ticks_within_any_interval_as_looking_at_each(ticks: list[int], intervals: list[tuple[int, int]]) -> None:
    assert _within(ticks, intervals) == [t for t in ticks if _in_any(t, intervals)]


def test_overlapping_intervals_take_each_tick_once() -> None:
    assert _within([1, 2, 3, 4, 5, 6], [(2, 4), (3, 5), (4, 4), (0, 1)]) == [1, 2, 3, 4, 5]
    assert _within([], [(0, 9)]) == []
    assert _within([1, 2], []) == []
