"""span_dues pairs the dues read from either end of the schedule call at once when each has its own: what _pair,
one by one, gives then."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from harness.oracle.overwrites import _pair


@given(st.lists(st.integers(0, 10_000), max_size=30, unique=True).map(sorted), st.integers(0, 50), st.data())
def test_dues_that_each_have_their_own_are_paired_alike(early: list[int], latency: int, data: st.DataObject) -> None:
    late = [e + data.draw(st.integers(0, latency)) for e in early]
    if any(b <= a for a, b in pairwise(late)):
        return  # dues come in order from either end
    assert _pair(early, late, latency, 20_000) == [(e, t, 0) for e, t in zip(early, late, strict=True)]
