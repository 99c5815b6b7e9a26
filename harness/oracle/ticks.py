"""The tick model: when Dapr will fire a job or a cron binding, computed the way Dapr's own code computes it.

Pure: no I/O and no clock reads. Every time is an ``int`` of nanoseconds since the Unix epoch, UTC.

What this follows (read, not copied). go-etcd-cron v0.9.1/v0.12.6/v0.12.7 (pinned by Dapr 1.16.0/1.17.11/1.18.3)
have the same scheduling semantics in ``internal/scheduler`` and ``internal/counter``; paths below are v0.12.6:

* Schedules are parsed by ``github.com/dapr/kit/cron`` (v0.18.2 ``cron/parser.go``, ``spec.go``,
  ``constantdelay.go``). The Jobs API's parser (go-etcd-cron v0.12.6 ``internal/scheduler/builder.go``
  ``NewBuilder``) takes ``Second|Minute|Hour|Dom|Month|Dow|Descriptor``: exactly 6 fields, seconds first. The cron
  binding (components-contrib v1.18.4 ``bindings/cron/cron.go`` ``NewCronWithClock``) takes ``SecondOptional|...``:
  5 or 6 fields. Both take descriptors: ``@yearly``/``@annually``/``@monthly``/``@weekly``/``@daily``/
  ``@midnight``/``@hourly`` are wall-clock-aligned specs (second 0, minute 0, ...), not "every N from start";
  ``@every <Go duration>`` is a constant delay added to the previous time (sub-second delays are kept as given).
* Field grammar (kit ``getRange``): ``*`` or ``?``, ``N``, ``N-M``, each with an optional ``/step``, comma
  lists; ``N/step`` means ``N-max/step``; month and weekday names (``jan``, ``mon``) case-insensitively; weekday
  0-6 (no 7). No ``L``, ``W``, ``#`` or ``H``. Day-of-month and day-of-week combine with OR when both are
  restricted, AND when either is a star (kit ``dayMatches``; a ``*/2`` is restricted, a ``*`` or ``*/1`` is not).
  The arithmetic itself is croniter's (``second_at_beginning=True``); before handing a spec over we expand every
  field to an explicit value list (``*`` only where kit keeps its star bit) so croniter's day rule matches kit's.
  ``Next(t)`` is the first matching whole second strictly after ``t`` (kit ``SpecSchedule.Next``).
* Time zone: Jobs are computed in UTC whatever the scheduler's ``TZ``: go-etcd-cron hands kit
  ``timestamppb.AsTime()`` values, which are UTC, and kit uses the argument's location when the spec has no
  ``TZ=`` prefix. The cron binding runs in daprd's local zone (kit ``cron.New`` defaults to ``time.Local``), so
  binding ticks here are right only when daprd runs with ``TZ=UTC`` (or a zero-offset host). Only a UTC
  ``TZ=``/``CRON_TZ=`` prefix followed by a space and a spec is accepted, and not before ``@every``: kit v0.18.3
  (Dapr 1.18.3) refuses that pair, and kit <= v0.18.2 slices ``spec[eq+1:-1]`` for a prefix with no space
  (a panic, by code reading). The parser is otherwise unchanged from kit v0.16.1 (Dapr 1.16) to v0.18.3.
* Jobs (go-etcd-cron v0.12.6 ``internal/scheduler/builder.go`` ``Parse``/``Schedule``, ``repeats.go``,
  ``oneshot.go``, ``internal/counter/counter.go`` ``updateNext``/``TriggerSuccess``/``policyTryAgain``): a job
  with only a dueTime fires once at it; with a schedule and no dueTime the first trigger is ``Next(creation)``
  (never at creation); with both, the first trigger is at the dueTime and later ones are ``Next(previous due)``.
  The counter stores the previous *due* time (``LastTrigger``), not the delivery time, so lateness and retries do
  not shift the schedule; an occurrence whose attempts all failed still counts towards ``repeats``. ``repeats``
  caps the count. ``ttl`` is a point in time: a duration/ISO duration is added to the dueTime when there is one,
  else to the creation time; an RFC 3339 ttl is absolute. A tick exactly *at* the expiry still fires
  (``next.After(exp)`` ends the job), and the check applies to the first tick too.
* dueTime/ttl text: ``harness.oracle.times``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from itertools import islice
from typing import Literal

from croniter import croniter

from harness.model import NS, JobPlan
from harness.oracle.times import EPOCH, ScheduleError, parse_due_time, parse_go_duration, point_in_time

ScheduleKind = Literal["jobs", "binding"]

_SECOND = timedelta(seconds=1)

_JOBS_FIELDS = (
    "expected 6 fields (seconds minutes hours day-of-month month day-of-week), e.g. '*/5 * * * * *' or '@every 5s'"
)
_BINDING_FIELDS = (
    "expected 5 or 6 fields ([seconds] minutes hours day-of-month month day-of-week), "
    "e.g. '*/5 * * * *', '*/5 * * * * *' or '@every 5s'"
)
_DESCRIPTORS_HELP = "valid: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @every <duration>"
_UTC_ZONES = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"})


# --- schedules -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Bounds:
    label: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # index + low is the value


_FIELDS = (
    _Bounds("seconds", 0, 59),
    _Bounds("minutes", 0, 59),
    _Bounds("hours", 0, 23),
    _Bounds("day-of-month", 1, 31),
    _Bounds("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    _Bounds("day-of-week", 0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # leap February: kit looks 5 years ahead
_GO_INT = re.compile(r"[+-]?\d+", re.ASCII)


@dataclass(frozen=True, slots=True)
class _Field:
    values: frozenset[int]
    star: bool  # kit's starBit: the field was "*" or "?" (step <= 1); decides the day-of-month/day-of-week rule


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A wall-clock-aligned schedule (a cron spec or an @yearly..@hourly descriptor), evaluated in UTC."""

    text: str
    expression: str  # the croniter spec, fields expanded (seconds first)
    daily: bool = False  # day of month, month and day of week are all stars: the same ticks every day

    def ticks_after(self, t_ns: int) -> Iterator[int]:
        """The matching whole seconds strictly after ``t_ns``, in order (kit ``SpecSchedule.Next`` repeatedly)."""
        if self.daily:  # every day alike (UTC has no DST): the day's matching seconds, looked up
            yield from _daily_ticks(day_seconds(self.expression), t_ns // NS)
            return
        start = EPOCH + timedelta(seconds=t_ns // NS)  # strictly after floor(t) == strictly after t, for whole s
        it = croniter(self.expression, start, second_at_beginning=True, ret_type=float)
        while True:
            yield round(it.get_next(float)) * NS

    def next_after(self, t_ns: int) -> int:
        return next(self.ticks_after(t_ns))

    def ticks_until(self, t_ns: int, limit_ns: int) -> tuple[list[int], int]:
        """(``ticks_after(t_ns)`` up to ``limit_ns``, the first one after it): a day's ticks at a time for a daily
        schedule (a long job has thousands), one by one otherwise."""
        out: list[int] = []
        if not self.daily:
            ticks = self.ticks_after(t_ns)
            tick = next(ticks)
            while tick <= limit_ns:
                out.append(tick)
                tick = next(ticks)
            return out, tick
        table = day_seconds(self.expression)
        after_s, last_s = t_ns // NS, limit_ns // NS  # a tick at or before the limit: its second at or before it
        day = after_s // _DAY
        while day * _DAY <= last_s:
            base = day * _DAY
            lo = bisect.bisect_right(table, after_s - base) if base <= after_s else 0
            hi = bisect.bisect_right(table, last_s - base)
            out.extend((base + second) * NS for second in table[lo:hi])
            day += 1
        return out, next(_daily_ticks(table, max(after_s, last_s)))


@dataclass(frozen=True, slots=True)
class EverySchedule:
    """``@every <d>``: a constant delay added to the previous time (kit ``ConstantDelaySchedule``)."""

    text: str
    delay_ns: int

    def ticks_after(self, t_ns: int) -> Iterator[int]:
        t = t_ns
        while True:
            t += self.delay_ns
            yield t

    def next_after(self, t_ns: int) -> int:
        return t_ns + self.delay_ns


Schedule = CronSchedule | EverySchedule


def _parse_int_or_name(text: str, bounds: _Bounds, field_text: str, bad: _Bad) -> int:
    lowered = text.lower()
    if lowered in bounds.names:
        return bounds.names.index(lowered) + bounds.low
    if not _GO_INT.fullmatch(text):
        raise bad(f"{bounds.label} field {field_text!r}: {text!r} is not a number{_names_hint(bounds)}")
    value = int(text)
    if value < 0:
        raise bad(f"{bounds.label} field {field_text!r}: negative number {value}")
    return value


def _names_hint(bounds: _Bounds) -> str:
    return f" or a name ({', '.join(bounds.names[:3])}, ...)" if bounds.names else ""


class _Bad:
    """Builds the error for one schedule text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __call__(self, why: str) -> ScheduleError:
        return ScheduleError(f"bad cron {self.text!r}: {why}")


def _parse_field(field_text: str, bounds: _Bounds, bad: _Bad) -> _Field:
    values: set[int] = set()
    star = False
    parts = [p for p in field_text.split(",") if p]  # Go strings.FieldsFunc drops empty pieces
    if not parts:
        raise bad(f"{bounds.label} field {field_text!r} is empty")
    valid = f"valid: {bounds.low}-{bounds.high}"
    for part in parts:
        range_and_step = part.split("/")
        if len(range_and_step) > 2:
            raise bad(f"{bounds.label} field {field_text!r}: too many slashes in {part!r}")
        low_high = range_and_step[0].split("-")
        single = len(low_high) == 1
        part_star = False
        if low_high[0] in ("*", "?"):
            start, end, part_star = bounds.low, bounds.high, True
        else:
            start = _parse_int_or_name(low_high[0], bounds, field_text, bad)
            if len(low_high) == 1:
                end = start
            elif len(low_high) == 2:
                end = _parse_int_or_name(low_high[1], bounds, field_text, bad)
            else:
                raise bad(f"{bounds.label} field {field_text!r}: too many hyphens in {part!r}")
        step = 1
        if len(range_and_step) == 2:
            step_text = range_and_step[1]
            if not _GO_INT.fullmatch(step_text) or int(step_text) < 0:
                raise bad(f"{bounds.label} field {field_text!r}: step {step_text!r} is not a positive number")
            step = int(step_text)
            if single:
                end = bounds.high  # "N/step" means "N-max/step"
            if step > 1:
                part_star = False
        if start < bounds.low:
            raise bad(f"{bounds.label} field {field_text!r}: {start} is below the minimum {bounds.low} ({valid})")
        if end > bounds.high:
            raise bad(f"{bounds.label} field {field_text!r}: {end} is above the maximum {bounds.high} ({valid})")
        if start > end:
            raise bad(f"{bounds.label} field {field_text!r}: range {start}-{end} runs backwards ({valid})")
        if step == 0:
            raise bad(f"{bounds.label} field {field_text!r}: step must be a positive number")
        values.update(range(start, end + 1, step))
        star = star or part_star
    return _Field(frozenset(values), star)


def _cron_from_fields(fields: list[_Field], text: str, bad: _Bad) -> CronSchedule:
    dom, month, dow = fields[3], fields[4], fields[5]
    if dow.star and not dom.star and not any(day <= _DAYS_IN_MONTH[m - 1] for m in month.values for day in dom.values):
        # with a star day-of-week the day-of-month alone picks the day (kit dayMatches); none exists
        raise bad("never fires: no allowed day-of-month exists in the allowed months (Dapr accepts it, never triggers)")
    expanded = ("*" if f.star else ",".join(str(v) for v in sorted(f.values)) for f in fields)
    return CronSchedule(text, " ".join(expanded), daily=dom.star and month.star and dow.star)


_DAY = 86_400


@lru_cache(maxsize=64)
def day_seconds(expression: str) -> tuple[int, ...]:
    """The seconds of a day (0-86399) an expanded spec's seconds, minutes and hours fields match, in order."""
    seconds, minutes, hours = (
        range(limit) if text == "*" else sorted(int(v) for v in text.split(","))
        for text, limit in zip(expression.split()[:3], (60, 60, 24), strict=True)
    )
    return tuple(h * 3600 + m * 60 + s for h in hours for m in minutes for s in seconds)


def _daily_ticks(table: tuple[int, ...], after_s: int) -> Iterator[int]:
    """The ticks (ns) strictly after whole second ``after_s`` of a schedule that matches ``table`` every day."""
    day, second = divmod(after_s, _DAY)
    i = bisect.bisect_right(table, second)
    while True:
        base = day * _DAY
        for k in range(i, len(table)):
            yield (base + table[k]) * NS
        day, i = day + 1, 0


_DESCRIPTOR_SPECS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}


def parse_schedule(text: str, kind: ScheduleKind) -> Schedule:
    """Parse a schedule as Dapr's parser for ``kind`` would; raise ``ScheduleError`` for what it would refuse."""
    bad = _Bad(text)
    help_fields = _JOBS_FIELDS if kind == "jobs" else _BINDING_FIELDS
    spec = text
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        zone = spec[spec.index("=") + 1 : space] if space > 0 else spec[spec.index("=") + 1 :]
        if space < 0 or zone not in _UTC_ZONES:
            raise ScheduleError(
                f"bad schedule {text!r}: only a UTC time-zone prefix (TZ=UTC <spec>) is supported; "
                "onceonly computes ticks in UTC"
            )
        spec = spec[space:].strip()
        if spec.startswith("@every "):
            raise ScheduleError(
                f"bad schedule {text!r}: a time-zone prefix with @every is refused by Dapr 1.18.3 (kit v0.18.3); "
                "drop the prefix"
            )
    if not spec:
        raise bad(f"empty schedule; {help_fields}")
    if spec.startswith("@"):
        if spec in _DESCRIPTOR_SPECS:
            return _parse_fields(text, _DESCRIPTOR_SPECS[spec].split(), bad)
        if spec.startswith("@every "):
            try:
                delay = parse_go_duration(spec[len("@every ") :])
            except ScheduleError as e:
                raise ScheduleError(f"bad schedule {text!r}: {e}") from None
            if delay <= 0:
                raise ScheduleError(
                    f"bad schedule {text!r}: the @every interval must be positive "
                    "(Dapr accepts it but fires in a tight loop)"
                )
            return EverySchedule(text, delay)
        raise ScheduleError(f"bad schedule {text!r}: unknown descriptor; {_DESCRIPTORS_HELP} (e.g. '@every 5s')")
    fields = spec.split()
    if kind == "binding" and len(fields) == 5:
        fields = ["0", *fields]  # kit SecondOptional: a missing seconds field is 0
    if len(fields) != 6:
        raise bad(help_fields)
    return _parse_fields(text, fields, bad)


def _parse_fields(text: str, fields: list[str], bad: _Bad) -> CronSchedule:
    parsed = [_parse_field(f, b, bad) for f, b in zip(fields, _FIELDS, strict=True)]
    return _cron_from_fields(parsed, text, bad)


def validate_schedule(text: str, kind: ScheduleKind) -> None:
    """Raise ``ScheduleError`` unless Dapr's Jobs API (``jobs``) or cron binding (``binding``) accepts ``text``."""
    parse_schedule(text, kind)


def schedule_period_ns(schedule: Schedule, at_ns: int) -> int:
    """The gap between the first two ticks after ``at_ns`` (the ``@every`` delay for a constant-delay schedule)."""
    if isinstance(schedule, EverySchedule):
        return schedule.delay_ns
    first, second = islice(schedule.ticks_after(at_ns), 2)
    return second - first


# --- jobs ----------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def validate_job(job: JobPlan) -> None:
    """The checks go-etcd-cron's ``Builder.Parse`` makes before it stores a job (builder.go, v0.12.6)."""
    where = f"job {job.name!r}"
    if job.schedule is None and job.due_time is None:
        raise ScheduleError(f"{where}: needs a schedule or a due_time")
    if job.repeats is not None and job.repeats < 1:
        raise ScheduleError(f"{where}: repeats must be at least 1 (got {job.repeats})")
    if job.schedule is None and job.repeats is not None and job.repeats > 1:
        raise ScheduleError(f"{where}: repeats > 1 needs a schedule")
    if job.schedule is None and job.ttl is not None:
        raise ScheduleError(f"{where}: a ttl needs a schedule")
    if job.schedule is not None:
        validate_schedule(job.schedule, "jobs")
    due = None if job.due_time is None else parse_due_time(job.due_time, 0)
    if job.ttl is not None:
        point_in_time(job.ttl, 0 if due is None else due, "ttl")


def job_expiration_ns(job: JobPlan, created_ns: int) -> int | None:
    """When the job's ttl ends it (None without a ttl): relative to the dueTime if there is one, else creation."""
    if job.ttl is None:
        return None
    base = created_ns if job.due_time is None else parse_due_time(job.due_time, created_ns)
    return point_in_time(job.ttl, base, "ttl")


def iter_job_occurrences(job: JobPlan, created_ns: int) -> Iterator[int]:
    """Every due time of the job, in order, until repeats or ttl end it (forever otherwise).

    Mirrors go-etcd-cron v0.12.6 ``counter.updateNext`` driving ``repeats.Next``/``oneshot.Next``: stop when
    ``count >= repeats``; first due = dueTime, else ``Next(creation)``; then ``Next(previous due)``; stop at the
    first due strictly after the expiry. Raises ``ScheduleError`` for a job Dapr would refuse.
    """
    yield from _occurrences_from(job, *_job_start(job, created_ns))


def _occurrences_from(job: JobPlan, first: int, schedule: Schedule | None, expiry: int | None) -> Iterator[int]:
    if schedule is None:
        yield first  # oneshot.Next: once, at the dueTime
        return
    for count, nxt in enumerate(_chain(first, schedule.ticks_after(first))):
        if job.repeats is not None and count >= job.repeats:
            return
        if expiry is not None and nxt > expiry:
            return
        yield nxt


def _job_start(job: JobPlan, created_ns: int) -> tuple[int, Schedule | None, int | None]:
    """(the first due, the schedule or None for a one-shot job, the expiry); raises ``ScheduleError`` as Dapr
    refuses."""
    validate_job(job)
    due = None if job.due_time is None else parse_due_time(job.due_time, created_ns)
    expiry = job_expiration_ns(job, created_ns)
    if due is not None and expiry is not None and due > expiry:
        raise ScheduleError(f"job {job.name!r}: ttl must be greater than due time (Dapr refuses the job)")
    if job.schedule is None:
        assert due is not None
        return due, None, expiry
    schedule = parse_schedule(job.schedule, "jobs")
    return (due if due is not None else schedule.next_after(created_ns)), schedule, expiry


def job_dues_until(job: JobPlan, created_ns: int, limit_ns: int) -> tuple[list[int], int | None]:
    """The job's due times up to ``limit_ns`` and the first one after it (None: repeats or ttl ended it first):
    ``iter_job_occurrences`` cut at the limit, an ``@every`` job's as one range."""
    first, schedule, expiry = _job_start(job, created_ns)
    if isinstance(schedule, CronSchedule) and job.repeats is None and expiry is None:
        if first > limit_ns:
            return [], first
        rest, nxt = schedule.ticks_until(first, limit_ns)  # (the first due is a tick, or the dueTime)
        return [first, *rest], nxt
    if not isinstance(schedule, EverySchedule):
        out: list[int] = []
        for due in _occurrences_from(job, first, schedule, expiry):
            if due > limit_ns:
                return out, due
            out.append(due)
        return out, None
    step = schedule.delay_ns
    count = max(0, (limit_ns - first) // step + 1)  # dues first + k * step up to the limit
    ends = count  # where repeats or the ttl end it, if before
    if job.repeats is not None:
        ends = min(ends, job.repeats)
    if expiry is not None:
        ends = min(ends, max(0, (expiry - first) // step + 1))
    out = list(range(first, first + ends * step, step))
    nxt = first + ends * step
    ended = (job.repeats is not None and ends >= job.repeats) or (expiry is not None and nxt > expiry)
    return out, None if ended else nxt


def _chain(first: int, rest: Iterator[int]) -> Iterator[int]:
    yield first
    yield from rest


def job_occurrences(job: JobPlan, created_ns: int, until_ns: int) -> list[int]:
    """The due times Dapr will fire the job at, up to and including ``until_ns``."""
    out: list[int] = []
    for due in iter_job_occurrences(job, created_ns):
        if due > until_ns:
            break
        out.append(due)
    return out


def job_continuation(job: JobPlan, created_ns: int, last_due_ns: int) -> int | None:
    """The due time the schedule would have next after ``last_due_ns`` if repeats/ttl had not ended it.

    None for a dueTime-only (one-shot) job. ``created_ns`` is unused today (kept so callers pass the same triple
    as to ``job_occurrences``). A delivery at or after this time, once the job is over, is spurious.
    """
    del created_ns
    if job.schedule is None:
        return None
    return parse_schedule(job.schedule, "jobs").next_after(last_due_ns)


# --- bindings ------------------------------------------------------------------------------------------------


def binding_ticks(schedule: str, start_ns: int, end_ns: int) -> list[int]:
    """The binding's ticks in [start_ns, end_ns].

    Aligned schedules (cron, @hourly...): the wall-clock ticks in the interval. ``@every d``: ``start + k*d``
    (k >= 0) -- the phase is the caller's to infer, since each daprd starts its own constant-delay cron.
    """
    parsed = parse_schedule(schedule, "binding")
    out: list[int] = []
    if isinstance(parsed, EverySchedule):
        t = start_ns
        while t <= end_ns:
            out.append(t)
            t += parsed.delay_ns
        return out
    for tick in parsed.ticks_after(start_ns - 1):
        if tick > end_ns:
            break
        out.append(tick)
    return out
