"""A cron binding's deliveries by when daprd fired them: the ``readtimeutc`` header read, and the deliveries put
in fire order for the binding oracle (``harness.oracle.bindings``). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import compress, islice
from operator import eq

from harness.model import NS, Delivery

_GO_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))? ([+-]\d{4})")
_GO_UTC_SECOND = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)


def fired_ns(d: Delivery) -> int | None:
    """When daprd's cron fired this delivery, from its ``readtimeutc`` header (Go's ``Time.String()``, e.g.
    ``2026-01-01 00:00:03.000412 +0000 UTC``); None without the header or when it does not parse."""
    text = d.headers.get("readtimeutc")
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
    fired = [fired_ns(d) for d in ds]
    at = [f or d.received_ns for f, d in zip(fired, ds, strict=True)]
    order = sorted(range(len(ds)), key=at.__getitem__)  # stable: one fire time stays in arrival order, then...
    at_sorted = [at[j] for j in order]
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
    return Fires([ds[j] for j in order], [fired[j] for j in order], [at[j] for j in order], given)
