"""What a Go duration, a dueTime and a ttl text mean, read the way Dapr reads them. Pure.

* Go durations (``@every 5s``, a dueTime of ``5s``): Go's ``time.ParseDuration``, each component's fraction
  truncated in double arithmetic as Go does; the scenario reads its own durations with the same parser.
* dueTime/ttl text (builder.go ``parsePointInTime``): RFC 3339 first, then a Go duration, then an ISO 8601
  duration (kit v0.18.2 ``time/time.go`` ``ParseISO8601Duration``, added with Go's ``AddDate`` normalisation);
  ISO repetitions (``R5/PT5S``) are refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

from harness.model import NS

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_MAX_INT64 = (1 << 63) - 1
_DURATION_HELP = "use a Go duration such as '500ms', '5s', '1m30s' or '1h'"
_WHEN_HELP = (
    "expected a Go duration ('5s', '1m30s'), an RFC 3339 time ('2026-01-02T15:04:05Z') or an ISO 8601 duration ('PT5S')"
)


class ScheduleError(ValueError):
    """A schedule, dueTime, ttl or job that Dapr would refuse (or that would never fire); says what is valid."""


# --- Go durations --------------------------------------------------------------------------------------------

_GO_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": NS,
    "m": 60 * NS,
    "h": 3600 * NS,
}
_GO_COMPONENT = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)", re.ASCII)


@lru_cache(maxsize=1024)
def parse_go_duration(text: str) -> int:
    """Nanoseconds of a Go duration ("1s", "500ms", "1m30s", "1.5h", "-2s", "0"), as Go's ``time.ParseDuration``."""

    def bad(why: str) -> ScheduleError:
        return ScheduleError(f"bad duration {text!r}: {why}; {_DURATION_HELP}")

    s = text
    negative = False
    if s[:1] in ("+", "-"):
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise bad("empty")
    total = 0
    pos = 0
    while pos < len(s):
        m = _GO_COMPONENT.match(s, pos)
        assert m is not None  # the pattern matches the empty string
        whole, frac, unit = m.group(1), m.group(2), m.group(3)
        if not whole and not frac:
            raise bad(f"expected a number at {s[pos:]!r}")
        if not unit:
            raise bad("missing unit")
        if unit not in _GO_UNITS:
            raise bad(f"unknown unit {unit!r}")
        scale = _GO_UNITS[unit]
        value = int(whole or "0") * scale
        if frac:
            # Go adds int(float64(f) * (float64(unit) / scale)); the same double arithmetic gives the same ns.
            value += int(float(int(frac)) * (scale / 10 ** len(frac)))
        total += value
        if total > _MAX_INT64 + (1 if negative else 0):
            raise bad("out of range")
        pos = m.end()
    return -total if negative else total


# --- dueTime / ttl -------------------------------------------------------------------------------------------

_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})", re.ASCII)
_ISO_NUM = r"([+-]?\d+)"
_ISO_DURATION = re.compile(
    rf"P(?:{_ISO_NUM}Y)?(?:{_ISO_NUM}M)?(?:{_ISO_NUM}W)?(?:{_ISO_NUM}D)?"
    rf"(?:T(?:{_ISO_NUM}H)?(?:{_ISO_NUM}M)?(?:{_ISO_NUM}S)?)?",
    re.ASCII,
)


def _to_ns(moment: datetime) -> int:
    return (moment - EPOCH) // _SECOND * NS


@lru_cache(maxsize=1024)
def _rfc3339_ns(text: str) -> int | None:
    m = _RFC3339.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7), m.group(8)
    offset = timedelta(0)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except ValueError as e:
        raise ScheduleError(f"bad time {text!r}: {e}") from None
    return _to_ns(moment) + (int(frac.ljust(9, "0")) if frac else 0)


def _add_date(base_ns: int, years: int, months: int, days: int) -> int:
    """Go's ``time.AddDate`` in UTC: month and day overflow normalise (Jan 31 + 1 month = Mar 2 or 3)."""
    seconds, sub = divmod(base_ns, NS)
    b = EPOCH + timedelta(seconds=seconds)
    month_index = b.month - 1 + months
    year = b.year + years + month_index // 12
    first = datetime(year, month_index % 12 + 1, 1, b.hour, b.minute, b.second, tzinfo=UTC)
    return _to_ns(first + timedelta(days=b.day - 1 + days)) + sub


def _iso_duration_ns(text: str, base_ns: int) -> int | None:
    if text.startswith("R"):
        raise ScheduleError(f"bad time {text!r}: ISO 8601 repetitions (R<n>/...) are not supported for a point in time")
    m = _ISO_DURATION.fullmatch(text)
    if m is None or len(text) < 2:
        return None
    y, mo, w, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    return _add_date(base_ns, y, mo, d + 7 * w) + ((h * 60 + mi) * 60 + s) * NS


def point_in_time(text: str, base_ns: int, what: str) -> int:
    """builder.go ``parsePointInTime``: RFC 3339, else Go duration after ``base``, else ISO 8601 duration."""
    absolute = _rfc3339_ns(text)
    if absolute is not None:
        return absolute
    try:
        return base_ns + parse_go_duration(text)
    except ScheduleError:
        pass
    relative = _iso_duration_ns(text, base_ns)
    if relative is None:
        raise ScheduleError(f"bad {what} {text!r}: {_WHEN_HELP}")
    return relative


def parse_due_time(text: str, created_ns: int) -> int:
    """When a dueTime means: RFC 3339 as is; "5s" or "PT5S" after ``created_ns``."""
    return point_in_time(text, created_ns, "dueTime")
