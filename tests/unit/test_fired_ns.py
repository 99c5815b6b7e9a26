"""A binding delivery's fire time from its ``readtimeutc`` header: the quick UTC path reads what ``strptime`` reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.model import NS, Delivery
from harness.oracle.fire_times import _utc_day_s, fired_ns


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
