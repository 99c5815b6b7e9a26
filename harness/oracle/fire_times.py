"""A cron binding's deliveries by when daprd fired them: the ``readtimeutc`` header read, and the deliveries put
in fire order for the binding oracle (``harness.oracle.bindings``). Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import compress, islice
from operator import eq

import numpy as np

from harness.model import NS, Delivery
from harness.oracle.records import VECTOR_FROM, Flags, Ints, ints

_GO_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))? ([+-]\d{4})")
_GO_UTC_SECOND = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)


def fired_ns(d: Delivery) -> int | None:
    """When daprd's cron fired this delivery, from its ``readtimeutc`` header (Go's ``Time.String()``, e.g.
    ``2026-01-01 00:00:03.000412 +0000 UTC``); None without the header or when it does not parse."""
    return _text_ns(d.headers.get("readtimeutc"))


def fire_times(ds: Sequence[Delivery]) -> list[int | None]:
    """``fired_ns`` of each delivery. A long list's headers are read as one numpy table of characters
    (``_read_utc``); a header that is not daprd's UTC form with a fraction is read one by one, as ever."""
    texts = [d.headers.get("readtimeutc") for d in ds]
    if len(texts) < VECTOR_FROM:
        return [_text_ns(text) for text in texts]
    read, ok = _read_utc(texts)
    out: list[int | None] = read.tolist()
    for i in np.flatnonzero(~ok).tolist():
        out[i] = _text_ns(texts[i])
    return out


# daprd's form, "YYYY-MM-DD HH:MM:SS.f +0000 UTC" (1-9 fraction digits): where each character must be
_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
_MARKS = ((4, "-"), (7, "-"), (10, " "), (13, ":"), (16, ":"), (19, "."))
_AFTER_FRACTION = " +0000"
_FRACTION_AT = 20
_WIDTH = _FRACTION_AT + 10 + len(_AFTER_FRACTION)  # room for a tenth fraction digit (refused) and the offset
_YEARS = (1970, 2200)  # int64 nanoseconds span 1678-2262: a year outside these is read one by one (Python's integers)
_TENS = 10 ** np.arange(8, -1, -1, dtype=np.int64)  # a fraction digit's weight by its place
_DAYS_IN = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _read_utc(texts: Sequence[str | None]) -> tuple[Ints, Flags]:
    """(nanoseconds, whether read) of each text in daprd's UTC form with a fraction; what ``_text_ns`` reads by
    slicing, read for all at once: a character table (one row per text, code points), its digit places, marks,
    fraction and offset checked, its date and time range-checked as ``strptime`` does (a day the month has, hours
    under 24), and the day number computed from the civil date (proleptic Gregorian, as Python's)."""
    table = np.array([t or "" for t in texts])
    chars = table.view(np.uint32).reshape(len(texts), -1)  # code points, as they are (no copy)
    if chars.shape[1] < _WIDTH:
        chars = np.pad(chars, ((0, 0), (0, _WIDTH - chars.shape[1])))
    digits = (chars[:, :19].astype(np.int64) - 48)[:, _DIGITS]  # (only the columns read are widened)
    ok = ((digits >= 0) & (digits <= 9)).all(axis=1)
    for place, mark in _MARKS:
        ok &= chars[:, place] == ord(mark)
    fraction = chars[:, _FRACTION_AT : _FRACTION_AT + 10].astype(np.int64) - 48
    is_digit = (fraction >= 0) & (fraction <= 9)
    length = np.where(is_digit.all(axis=1), 10, np.argmin(is_digit, axis=1))  # leading fraction digits
    ok &= (length >= 1) & (length <= 9)
    rows = np.arange(len(texts))
    for j, mark in enumerate(_AFTER_FRACTION):
        ok &= chars[rows, np.minimum(_FRACTION_AT + length + j, _WIDTH - 1)] == ord(mark)
    d = digits  # (a row that is not ok computes nonsense below, and is read one by one)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month, day = d[:, 4] * 10 + d[:, 5], d[:, 6] * 10 + d[:, 7]
    hour, minute, second = d[:, 8] * 10 + d[:, 9], d[:, 10] * 10 + d[:, 11], d[:, 12] * 10 + d[:, 13]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days_in = _DAYS_IN[np.clip(month, 0, 12)] + (leap & (month == 2))
    ok &= (year >= _YEARS[0]) & (year < _YEARS[1]) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= days_in)
    ok &= (hour < 24) & (minute < 60) & (second < 60)
    y = year - (month <= 2)  # days from 1970-01-01 to the civil date (March-based years: leap day last)
    era, of_era = y // 400, y % 400
    of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    days = era * 146_097 + of_era * 365 + of_era // 4 - of_era // 100 + of_year - 719_468
    frac = (fraction[:, :9] * (np.arange(9) < length[:, None])) @ _TENS  # the leading digits, zeros after
    whole = days * 86_400 + hour * 3600 + minute * 60 + second
    return np.where(ok, whole * NS + frac, 0), ok


def _text_ns(text: str | None) -> int | None:
    """``fired_ns`` of one header text."""
    if text is None:
        return None
    # What daprd sends (UTC, a fraction, ASCII digits) is read by slicing, its whole second looked up: a third
    # cheaper than the pattern, and the pattern reads it the same. Anything else goes the general way below.
    if text[19:20] == ".":
        end = text.find(" ", 20)
        frac = text[20:end]
        if 0 < len(frac) <= 9 and frac.isascii() and frac.isdigit() and text.startswith("+0000", end + 1):
            whole = _utc_second(text[:19])
            if whole is not None:
                return whole * NS + int(frac.ljust(9, "0"))
    return _go_time_ns(text)


def _go_time_ns(text: str) -> int | None:
    m = _GO_TIME.match(text)
    if m is None:
        return None
    date, clock, frac, offset = m.groups()
    of_day = _clock_s(clock) if offset == "+0000" else None
    if of_day is not None:  # UTC, as daprd sends it: the day and the time of day looked up
        whole = _utc_day_s(date) + of_day
    else:
        whole = int(datetime.strptime(f"{date} {clock} {offset}", "%Y-%m-%d %H:%M:%S %z").timestamp())
    return whole * 1_000_000_000 + (int(frac.ljust(9, "0")) if frac else 0)


@lru_cache(maxsize=86_400)
def _utc_second(head: str) -> int | None:
    """The Unix time (s) of ``YYYY-MM-DD HH:MM:SS`` in UTC; None when ``_go_time_ns`` must decide (not ASCII
    digits, or no such day or time of day: it refuses those as ``strptime`` does)."""
    if _GO_UTC_SECOND.fullmatch(head) is None:
        return None
    of_day = _clock_s(head[11:])
    if of_day is None:
        return None
    try:
        return _utc_day_s(head[:10]) + of_day
    except ValueError:
        return None


@lru_cache(maxsize=86_400)
def _clock_s(clock: str) -> int | None:
    """The second of the day of ``HH:MM:SS``; None when it is no time of day (``strptime`` refuses it)."""
    hours, minutes, seconds = int(clock[:2]), int(clock[3:5]), int(clock[6:])
    if hours < 24 and minutes < 60 and seconds < 60:
        return hours * 3600 + minutes * 60 + seconds
    return None


@lru_cache(maxsize=1024)
def _utc_day_s(date: str) -> int:
    """The Unix time (s) of a day's start, UTC (refuses what ``strptime`` refuses)."""
    return int(datetime.strptime(f"{date} 00:00:00 +0000", "%Y-%m-%d %H:%M:%S %z").timestamp())


@dataclass
class Fires:
    """A binding's deliveries in fire order: by fire time (the arrival where it is unknown), then delivery id. The
    oracle names a delivery by its position here: lists indexed by it stand in for dicts keyed by delivery id (ids
    are unique), and a group of positions taken in increasing order is in fire order, with no sort."""

    ds: list[Delivery]
    fired: list[int | None]  # from readtimeutc; None without it
    at: list[int]  # the fire time where known, else the arrival
    given: list[int]  # the positions in the order the deliveries were given (arrival)


def in_fire_order(ds: list[Delivery]) -> Fires:
    fired = fire_times(ds)
    at = [f or d.received_ns for f, d in zip(fired, ds, strict=True)]
    if len(at) >= VECTOR_FROM:  # by numpy's stable sort of the times (a long binding's)
        order: list[int] = np.argsort(ints(at), kind="stable").tolist()
    else:
        order = sorted(range(len(ds)), key=at.__getitem__)  # stable: one fire time stays in arrival order, then...
    at_sorted = list(map(at.__getitem__, order))
    ties = list(compress(range(1, len(order)), map(eq, at_sorted, islice(at_sorted, 1, None))))
    i = 0
    while i < len(ties):  # ...each run of one fire time (a re-sent request keeps its readtimeutc) goes by id
        a = b = ties[i]
        while i < len(ties) and ties[i] == b:
            b, i = b + 1, i + 1
        order[a - 1 : b] = sorted(order[a - 1 : b], key=lambda j: ds[j].delivery_id)
    given = [0] * len(order)
    for r, j in enumerate(order):
        given[j] = r
    return Fires(list(map(ds.__getitem__, order)), list(map(fired.__getitem__, order)), at_sorted, given)
