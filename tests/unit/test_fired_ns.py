"""A binding delivery's fire time from its ``readtimeutc`` header: the quick UTC path reads what ``strptime`` reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.model import NS, Delivery
from harness.oracle.fire_times import _utc_day_s, fired_ns
from harness.oracle.records import VECTOR_FROM


def fired(text: str) -> Delivery:
    return Delivery("x", "binding", "cron", 0, 0, 200, {"readtimeutc": text})


def by_strptime(text: str) -> int:
    head, _, rest = text.partition(".")
    frac, offset = (rest.split(" ")[0], rest.split(" ")[1]) if rest else ("0", head.split(" ")[2])
    whole = datetime.strptime(" ".join(head.split(" ")[:2]) + " " + offset, "%Y-%m-%d %H:%M:%S %z")
    return int(whole.timestamp()) * NS + int(frac.ljust(9, "0"))


@given(st.integers(0, 4_000_000_000), st.integers(0, NS - 1))
def test_a_utc_fire_time_reads_as_strptime_reads_it(seconds: int, frac: int) -> None:
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")
    text += ("." + f"{frac:09d}".rstrip("0")) if frac else ""
    text += " +0000 UTC"
    assert fired_ns(fired(text)) == by_strptime(text) == seconds * NS + frac


def test_an_offset_other_than_utc_is_read_the_slow_way() -> None:
    assert fired_ns(fired("2026-01-01 01:00:03.5 +0100 CET")) == by_strptime("2026-01-01 00:00:03.5 +0000 UTC")


def test_a_day_that_does_not_exist_is_refused_as_before() -> None:
    assert _utc_day_s("2026-01-02") - _utc_day_s("2026-01-01") == 86_400
    with pytest.raises(ValueError):
        fired_ns(fired("2026-02-30 00:00:03 +0000 UTC"))


def test_a_time_of_day_that_does_not_exist_is_refused_as_before() -> None:
    from harness.oracle.fire_times import _clock_s

    assert _clock_s("23:59:59") == 86_399 and _clock_s("24:00:00") is None and _clock_s("00:60:00") is None
    with pytest.raises(ValueError):
        fired_ns(fired("2026-01-01 24:00:00 +0000 UTC"))


def texts_like_daprds() -> st.SearchStrategy[str]:
    """daprd's UTC form, and texts a character or two away from it (each must read as ``fired_ns`` reads it)."""
    valid = st.builds(
        lambda s, f: (
            datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%d %H:%M:%S") + (f".{f}" if f else "") + " +0000 UTC"
        ),
        st.integers(-100 * 86_400, 8_000_000_000),
        st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=11)),
    )
    bent = st.builds(
        lambda text, at, char: text[:at] + char + text[at + 1 :],
        valid,
        st.integers(0, 40),
        st.sampled_from(["0", "9", "3", "1", "2", " ", ".", "-", ":", "+", "x", "\u0663", ""]),
    )
    named = st.sampled_from(
        [
            "2024-02-29 23:59:59.5 +0000 UTC",
            "2023-02-29 00:00:01.5 +0000 UTC",
            "2100-02-29 00:00:01.5 +0000 UTC",
            "2000-02-29 00:00:01.5 +0000 UTC",
            "2026-13-01 00:00:01.5 +0000 UTC",
            "2026-00-01 00:00:01.5 +0000 UTC",
            "2026-04-31 00:00:01.5 +0000 UTC",
            "2026-01-01 24:00:00.5 +0000 UTC",
            "2026-01-01 23:60:00.5 +0000 UTC",
            "2026-01-01 00:00:60.5 +0000 UTC",
            "2026-01-01 01:00:03.5 +0100 CET",
            "2026-01-01 00:00:03.123456789 +0000 UTC",
            "2026-01-01 00:00:03.1234567890 +0000 UTC",
            "2026-01-01 00:00:03. +0000 UTC",
            "2026-01-01 00:00:03.5+0000 UTC",
            "2026-01-01 00:00:03.5 +0000",
            "2026-01-01 00:00:03.5",
            "2262-01-01 00:00:03.5 +0000 UTC",
            "1969-12-31 23:59:59.5 +0000 UTC",
            "2000-03-01 00:00:00.5 +0000 UTC",
            "2100-03-01 00:00:00.5 +0000 UTC",
            "2101-01-01 00:00:00.5 +0000 UTC",
            "2199-12-31 23:59:59.5 +0000 UTC",
            "2200-01-01 00:00:00.5 +0000 UTC",
            "",
        ]
    )
    return st.one_of(valid, bent, named)


def one_by_one(text: str | None) -> int | type[ValueError] | None:
    try:
        return fired_ns(Delivery("x", "binding", "cron", 0, 0, 200, {} if text is None else {"readtimeutc": text}))
    except ValueError:
        return ValueError


@settings(max_examples=300)
@given(st.lists(st.one_of(st.none(), texts_like_daprds()), min_size=1, max_size=40))
def test_a_long_lists_fire_times_read_as_one_table_are_each_ones(texts: list[str | None]) -> None:
    """``fire_times`` reads a long list as a numpy table; every text reads as ``fired_ns`` reads it, and a text
    ``fired_ns`` refuses is refused in a long list too."""
    from harness.oracle.fire_times import fire_times

    def long(some: list[str | None]) -> list[Delivery]:
        copies = -(-VECTOR_FROM // len(some))  # long enough to be read as a table
        return [
            Delivery("x", "binding", "cron", 0, 0, 200, {} if t is None else {"readtimeutc": t}) for t in some
        ] * copies

    read = [t for t in texts if one_by_one(t) is not ValueError]
    if read:
        assert fire_times(long(read)) == [one_by_one(t) for t in read] * -(-VECTOR_FROM // len(read))
    for refused in (t for t in texts if one_by_one(t) is ValueError):
        with pytest.raises(ValueError):
            fire_times(long([refused]))
