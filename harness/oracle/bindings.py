"""The binding oracle: one cron input binding's deliveries judged against its ticks (glossary: ``oracle.check``).

Every daprd runs its own in-process cron (components-contrib v1.18.3 ``bindings/cron/cron.go`` ``Read``), so the
unit of accounting is (replica, tick) under ``contract`` and the tick across replicas under ``exactly-once``.

A delivery is attributed to its tick by **when daprd's cron fired it**: the ``readtimeutc`` header daprd sends
with every binding delivery is ``time.Now().UTC().String()`` taken inside the cron callback (``Read``), i.e. on
daprd's clock when its timer woke for that tick, before the HTTP hop to the app. dapr/kit v0.18.2 ``cron/cron.go``
``run()`` starts an entry only once its ``Next`` is not after the wake time, so a fire time is never before its
tick: the tick is the latest one at or before it (within the early tolerance), whatever the hop to the app took.
For ``@every d`` kit sets ``Next = wake + d``: each replica's ticks re-arm from its own wake, so a wake that came
late moves every later tick, and a tick is only missing when the gap to the next fire holds two periods. Without
the header (runs from before it was kept) the app's receive time stands in for the fire time. Lateness is
received - tick (end to end, on the app's clock); a receive time before its fire time means the two clocks
differ (skew), and the source says so. Pure.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from harness.model import NS, BindingPlan, Delivery, SourceResult, Witness
from harness.oracle.evidence import CheckInput
from harness.oracle.tally import Tally, ms, per_replica, replica_list, zombies
from harness.oracle.ticks import EverySchedule, binding_ticks, parse_schedule, schedule_period_ns
from harness.oracle.times import ScheduleError


def _windows_by_replica(inp: CheckInput, margin: int) -> dict[int, list[tuple[int, int]]]:
    """Each replica's counted intervals: its windows ∩ [observe_start, observe_end], shrunk by ``margin``."""
    out: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for w in inp.windows:
        lo = max(w.start_ns, inp.observe_start_ns) + margin
        hi = min(w.end_ns, inp.observe_end_ns) - margin
        if lo <= hi:
            out[w.replica].append((lo, hi))
        else:
            out.setdefault(w.replica, [])
    return out


def _in_any(t: int, intervals: list[tuple[int, int]]) -> bool:
    return any(lo <= t <= hi for lo, hi in intervals)


def _within(ticks: list[int], intervals: list[tuple[int, int]]) -> list[int]:
    """The ticks (sorted) in any of the intervals, in order: ``[t for t in ticks if _in_any(t, intervals)]`` by
    bisection, not a look at each tick."""
    out: list[int] = []
    end = 0  # the ticks before it are taken
    for a, b in sorted((bisect.bisect_left(ticks, lo), bisect.bisect_right(ticks, hi)) for lo, hi in intervals):
        a = max(a, end)
        if a < b:
            out.extend(ticks[a:b])
            end = b
    return out


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
class _Chain:
    """A replica's ``@every`` ticks (from its fire times), the tick index of each delivery, the due time of each
    delivery that follows a recorded fire, and the deliveries that fired early (index -> the tick they fired for)."""

    ticks: list[int]
    index: list[int]
    dues: dict[int, int]
    early: dict[int, int]


def _every_chain(
    fires: list[int], delay: int, tol: int, distinct: bool, restarts: list[int], stops: Sequence[int] = ()
) -> _Chain:
    """kit re-arms at wake + d, so the fire after one at f is due at f + d: a gap under two periods holds one tick
    however late the wake, and a gap of n periods (within the early tolerance) holds n - 1 unrecorded ticks. A gap
    under one period is a second fire for the same tick (under half a period: a duplicate) or, when fire times are
    known (``distinct``) and it is past half a period, a wake before its tick: early, and kit re-arms from it. A
    restart of the replica (``restarts``: its window starting again) starts a new chain: its cron starts over; the
    ticks the old chain was due before the replica stopped (``stops``: a window's end, a down interval's start)
    are still its ticks, unrecorded (a tick lost just before a kill is a miss, not a gap)."""
    chain = _Chain([fires[0]], [0], {}, {})
    for i, x in enumerate(fires[1:], 1):
        last = chain.ticks[-1]
        steps = (x - last + tol) // delay
        if any(last < r <= x for r in restarts):
            restart = min(r for r in restarts if last < r <= x)
            stop = max((s for s in stops if last < s <= restart), default=restart)
            chain.ticks.extend(range(last + delay, stop, delay))
            chain.ticks.append(x)
        elif steps == 0 and distinct and x - last >= delay // 2:
            chain.early[i] = last + delay
            chain.ticks.append(x)
        elif steps > 0:
            chain.ticks.extend(last + k * delay for k in range(1, steps))
            chain.ticks.append(x)
            chain.dues[i] = last + steps * delay
        chain.index.append(len(chain.ticks) - 1)
    return chain


def _extend(ticks: list[int], delay: int, lo: int, hi: int) -> list[int]:
    before = []
    t = ticks[0] - delay
    while t >= lo:
        before.append(t)
        t -= delay
    after = []
    t = ticks[-1] + delay
    while t <= hi:
        after.append(t)
        t += delay
    return [*reversed(before), *ticks, *after]


def check_binding(plan: BindingPlan, ds: list[Delivery], inp: CheckInput) -> SourceResult:
    tally = Tally()
    replicas = per_replica(ds, inp)
    tol = inp.early_tolerance_ns
    ds, found = zombies(ds, inp)
    for d, why in found:
        tally.spurious += 1
        tally.witness(Witness("spurious", "binding", plan.name, None, (d,), f"a zombie: {why}"))
    try:
        schedule = parse_schedule(plan.schedule, "binding")
    except ScheduleError as e:
        tally.deliveries = len(ds)
        tally.unknown.append(f"cannot compute the binding's ticks: {e}")
        return tally.result("binding", plan.name, plan.policy, inp, replicas)
    period = schedule_period_ns(schedule, inp.observe_start_ns)
    intervals = _windows_by_replica(inp, period)
    if not inp.windows:
        tally.notes.append("no replica windows were recorded")
    fired: dict[str, int | None] = {}
    at: dict[str, int] = {}  # the fire time, else the arrival
    for d in ds:
        f = fired[d.delivery_id] = fired_ns(d)
        at[d.delivery_id] = f or d.received_ns

    def when(d: Delivery) -> int:
        """The fire time (daprd's clock) where known, else the receive time."""
        return at[d.delivery_id]

    def in_order(got: list[Delivery]) -> None:
        if len(got) > 1:
            got.sort(key=lambda d: (at[d.delivery_id], d.delivery_id))

    by_replica: dict[int, list[Delivery]] = defaultdict(list)
    for d in sorted(ds, key=lambda d: (at[d.delivery_id], d.delivery_id)):
        by_replica[d.replica].append(d)
    _skew_note(tally, ds, fired, tol)
    lo = min([inp.observe_start_ns, *at.values()]) - 2 * period
    hi = max([inp.observe_end_ns, *at.values()]) + 2 * period
    dues: dict[str, int] = {}  # @every: delivery id -> the tick it was due at (its replica's previous fire + d)
    tick_dues: dict[tuple[int, int], int] = {}  # @every: (replica, tick at its wake) -> when that tick was due
    early: dict[str, tuple[Delivery, int, int]] = {}  # delivery id -> (it, the tick it stands in for, its due)
    late: set[str] = set()  # deliveries that fired over half a period after their tick

    # (replica, tick) -> deliveries, and each replica's tick list (for "the next tick")
    assigned: dict[tuple[int, int], list[Delivery]] = defaultdict(list)
    grids: dict[int, list[int]] = {}
    every = isinstance(schedule, EverySchedule)
    if isinstance(schedule, EverySchedule):
        tally.notes.append(
            "@every: each replica's ticks re-arm from its own fires (kit: next = wake + period); lateness is measured "
            "from the previous fire + the period"
        )
        for replica in sorted(set(intervals) | set(by_replica)):
            mine = by_replica.get(replica, [])
            if mine:
                distinct = all(fired[d.delivery_id] is not None for d in mine)
                starts = sorted(w.start_ns for w in inp.windows if w.replica == replica)[1:]
                starts += [w.end_ns for w in inp.down if w.replica == replica]
                stops = sorted(w.end_ns for w in inp.windows if w.replica == replica)[:-1]
                stops += [w.start_ns for w in inp.down if w.replica == replica]
                chain = _every_chain([at[d.delivery_id] for d in mine], schedule.delay_ns, tol, distinct, starts, stops)
                for i, (d, k) in enumerate(zip(mine, chain.index, strict=True)):
                    assigned[(replica, chain.ticks[k])].append(d)
                    if i in chain.dues:
                        dues[d.delivery_id] = chain.dues[i]
                        tick_dues.setdefault((replica, chain.ticks[k]), chain.dues[i])
                        if when(d) - chain.dues[i] > schedule.delay_ns // 2:
                            late.add(d.delivery_id)
                    if i in chain.early:
                        early[d.delivery_id] = (d, chain.ticks[k], chain.early[i])
                grids[replica] = _extend(chain.ticks, schedule.delay_ns, lo, hi)
            else:
                start = min((a for a, _ in intervals.get(replica, [])), default=inp.observe_start_ns)
                grids[replica] = binding_ticks(plan.schedule, start, hi)
    else:
        grid = binding_ticks(plan.schedule, lo, hi)
        for replica in sorted(set(intervals) | set(by_replica)):
            grids[replica] = grid
        for d in ds:
            k = bisect.bisect_right(grid, at[d.delivery_id] + tol) - 1
            if k >= 0:
                assigned[(d.replica, grid[k])].append(d)
    for got in assigned.values():
        in_order(got)
    if not every:
        early.update(_aligned_early(assigned, grid, fired, tol))
        late.update(_aligned_late(assigned, grid, when))
    lone_late: list[Delivery] = []  # the only fire of its tick (early ones aside), over half a period late
    for (replica, t), got in assigned.items():
        kept = [x for x in got if x.delivery_id not in early] if early else got
        if len(kept) == 1 and kept[0].delivery_id in late:
            d = kept[0]
            if _in_any(_next_tick(t, d, grids.get(replica, []), dues, period), intervals.get(replica, [])):
                lone_late.append(d)

    def due_of(replica: int, tick: int) -> int:
        """Whether a tick is counted goes by when it was due, not by its wake: an @every tick due inside the
        counted window whose wake came late, past the window's end, is still that window's tick."""
        return tick_dues.get((replica, tick), tick)

    def counted_for(replica: int | None) -> Callable[[int], bool]:
        spans = intervals.get(replica, []) if replica is not None else [s for ss in intervals.values() for s in ss]
        return lambda t: _in_any(t, spans)

    if plan.policy == "contract":
        units: list[tuple[int, list[int]]] = []  # (replica, its counted ticks)
        for replica, spans in sorted(intervals.items()):
            if tick_dues:
                counted = [t for t in grids[replica] if _in_any(due_of(replica, t), spans)]
            else:
                counted = _within(grids[replica], spans)
            units.append((replica, counted))
        for replica in sorted(set(by_replica) - set(intervals)):
            tally.notes.append(
                f"replica {replica} delivered {len(by_replica[replica])} time(s) but has no window: not counted"
            )
        for replica, counted in units:
            counts = {t: assigned.get((replica, t), []) for t in counted}
            who = f"replica {replica}"
            _judge_ticks(
                tally, plan, counts, grids[replica], every, who, when, dues, early, replica, counted_for(replica)
            )
        with_ticks = sum(1 for _, counted in units if counted)
        units_counted = tally.occurrences
        # The figure reported is ticks (an occurrence of a binding is a tick), so deliveries / occurrences reads
        # "N per tick" with N replicas; missed and duplicates above are still per (replica, tick) unit.
        tally.occurrences = len({t for _, counted in units for t in counted})
        if units_counted:
            tally.notes.append(
                f"{tally.occurrences} ticks, {units_counted} (replica, tick) units on {with_ticks} replica(s); "
                f"contract: one delivery per replica per tick"
            )
    else:
        ref = 0  # the replica whose ticks are the grid (@every), for when each was due
        if every:
            firsts = sorted((when(ds_[0]), r) for r, ds_ in by_replica.items())
            ref = firsts[0][1] if firsts else min(intervals, default=0)
            grid = grids.get(ref) or binding_ticks(plan.schedule, inp.observe_start_ns, hi)
            grid = _extend(grid, period, lo, hi)
            assigned = defaultdict(list)
            for d in ds:
                k = bisect.bisect_right(grid, at[d.delivery_id] + tol) - 1
                if k >= 0:
                    assigned[(0, grid[k])].append(d)
            for got in assigned.values():
                in_order(got)
        else:
            grid = grids[min(grids)] if grids else binding_ticks(plan.schedule, lo, hi)
            merged: dict[tuple[int, int], list[Delivery]] = defaultdict(list)
            for (_, t), got in assigned.items():
                merged[(0, t)].extend(got)
            for got in merged.values():
                in_order(got)
            assigned = merged
        spans = [s for ss in intervals.values() for s in ss]
        counted = [t for t in grid if _in_any(due_of(ref, t), spans)] if tick_dues else _within(grid, spans)
        counts = {t: assigned.get((0, t), []) for t in counted}
        _judge_ticks(tally, plan, counts, grid, every, "", when, {}, early, None, counted_for(None))
        if tally.occurrences:
            tally.notes.append(f"{tally.deliveries / tally.occurrences:.2f} deliveries per tick across replicas")

    _ambiguous_late(tally, plan, lone_late)
    outside = len(ds) - tally.deliveries
    tally.deliveries += len(found)
    if outside > 0:
        tally.uncounted["on edge ticks or from a replica without a window"] = outside
        tally.notes.append(f"{outside} delivery(ies) fell on edge or uncounted ticks: in per_replica only")
    if tally.occurrences == 0:
        tally.unknown.append(
            "no counted tick: the replica windows within the observation, less one period "
            f"({ms(period)}) at each edge, hold none"
        )
    return tally.result("binding", plan.name, plan.policy, inp, replicas)


def _judge_ticks(
    tally: Tally,
    plan: BindingPlan,
    counts: dict[int, list[Delivery]],
    grid: list[int],
    every: bool,
    who: str,
    when: Callable[[Delivery], int],
    dues: dict[str, int],
    early: dict[str, tuple[Delivery, int, int]],
    replica: int | None,
    counted: Callable[[int], bool],
) -> None:
    """Count one unit per counted tick: missed, duplicates, early (``early``: fired before the tick it stands in
    for; without fire times, re-labelled here), lateness (aligned: from the tick; ``@every``: from ``dues``, the
    replica's previous fire + the period)."""
    prefix = f"{who}: " if who else ""
    moved: dict[int, Delivery] = {}  # tick -> its extra delivery re-labelled early for the next tick
    stands_in: set[int] = set()  # ticks an early fire answered
    inside = {d.delivery_id for got in counts.values() for d in got} if early else set()
    for d, target, due in early.values():
        if (target not in counts and not counted(due)) or (replica is not None and d.replica != replica):
            continue  # an early fire for a tick that is not counted here
        stands_in.add(target)
        tally.early += 1
        tally.deliveries += d.delivery_id not in inside  # it sits on an uncounted tick (the one before)
        note = f"{prefix}replica {d.replica}, fired {ms(due - when(d))} before its tick"
        tally.witness(Witness("early", "binding", plan.name, due, (d,), note))
    if not every and not early:
        for t, got in counts.items():
            k = bisect.bisect_left(grid, t)
            nxt = grid[k + 1] if k + 1 < len(grid) else None
            if nxt is None or nxt not in counts or counts[nxt] or len(got) < 2:
                continue
            d = got[-1]
            if when(d) > (t + nxt) // 2:
                moved[t] = d
                tally.early += 1
                note = f"{prefix}replica {d.replica}, fired {ms(nxt - when(d))} before its tick"
                tally.witness(Witness("early", "binding", plan.name, nxt, (d,), note))
    early_ticks = {grid[bisect.bisect_left(grid, t) + 1] for t in moved} | stands_in
    for t, got in counts.items():
        tally.occurrences += 1
        tally.deliveries += len(got)
        if early:
            got = [d for d in got if d.delivery_id not in early]
        if not got:
            if t not in early_ticks:
                tally.missed += 1
                tally.witness(Witness("missed", "binding", plan.name, t, (), f"{prefix}nothing delivered"))
            continue
        if not every:
            tally.late(t, got[0])
        elif got[0].delivery_id in dues:
            tally.late(dues[got[0].delivery_id], got[0])
        if len(got) < 2:
            continue  # nothing twice
        dups = [d for d in got if d is not moved.get(t)]
        if len(dups) > 1:
            tally.duplicates += len(dups) - 1
            spread = dups[-1].received_ns - dups[0].received_ns
            note = f"{prefix}{len(dups)} deliveries on replicas {replica_list(dups)}, spread {ms(spread)}"
            tally.witness(Witness("duplicate", "binding", plan.name, t, tuple(dups), note))


def _skew_note(tally: Tally, ds: list[Delivery], fired: dict[str, int | None], tol: int) -> None:
    """Say so when an app received a delivery before its daprd fired it (the two clocks differ)."""
    ahead: dict[int, int] = {}
    for d in ds:
        f = fired[d.delivery_id]
        if f is not None and d.received_ns + tol < f:
            ahead[d.replica] = max(ahead.get(d.replica, 0), f - d.received_ns)
    for replica, by in sorted(ahead.items()):
        tally.notes.append(
            f"replica {replica}: its app received deliveries up to {ms(by)} before daprd fired them (readtimeutc): "
            "their clocks differ; ticks are attributed on daprd's clock, lateness on the app's"
        )


def _aligned_early(
    assigned: dict[tuple[int, int], list[Delivery]], grid: list[int], fired: dict[str, int | None], tol: int
) -> dict[str, tuple[Delivery, int, int]]:
    """Aligned schedules, fire times known: a second fire of one replica within one tick's interval, past its
    midpoint and not the same wake as the first (same ``readtimeutc``), fired early for the next tick (kit never
    runs an entry before its Next, so it is an anomaly either way; closer to the next tick, it is named early)."""
    out: dict[str, tuple[Delivery, int, int]] = {}
    for (_replica, t), got in assigned.items():
        k = bisect.bisect_left(grid, t)
        if len(got) < 2 or k + 1 >= len(grid):
            continue
        nxt = grid[k + 1]
        first = fired[got[0].delivery_id]
        for d in got[1:]:
            f = fired[d.delivery_id]
            if first is not None and f is not None and f - first >= tol and f > (t + nxt) // 2:
                out[d.delivery_id] = (d, nxt, nxt)
    return out


def _aligned_late(
    assigned: dict[tuple[int, int], list[Delivery]], grid: list[int], when: Callable[[Delivery], int]
) -> set[str]:
    """Aligned schedules: deliveries that fired more than half an interval after their tick."""
    out: set[str] = set()
    for (_replica, t), got in assigned.items():
        k = bisect.bisect_left(grid, t)
        if k + 1 < len(grid):
            half = (grid[k + 1] - t) // 2
            out.update(d.delivery_id for d in got if when(d) - t > half)
    return out


def _ambiguous_late(tally: Tally, plan: BindingPlan, lone_late: list[Delivery]) -> None:
    """A tick whose only fire came over half a period late reads the same as that tick lost and the next one fired
    early (kit never fires early, but a verdict may not lean on that): if that reading fails where the one taken
    passes, the source is unknown."""
    if not lone_late:
        return
    shown = tuple(lone_late[:6])
    note = (
        f"{len(lone_late)} tick(s) whose only fire came over half a period late: read as late; also plausible: "
        "each such tick lost and the next one fired early"
    )
    tally.witness(Witness("ambiguous", "binding", plan.name, None, shown, note))
    passes = tally.missed + tally.early + tally.spurious + (tally.duplicates if plan.policy == "exactly-once" else 0)
    if not passes:
        tally.undecided = True
        tally.unknown.append(
            "ambiguous: a fire over half a period late cannot be told from a lost tick plus an early fire by time "
            "alone; the two readings disagree on the verdict"
        )


def _next_tick(t: int, d: Delivery, grid: list[int], dues: dict[str, int], period: int) -> int:
    """The tick after the one ``d`` was read as late for: what it would be early for in the rival reading."""
    if d.delivery_id in dues:
        return dues[d.delivery_id] + period
    k = bisect.bisect_left(grid, t)
    return grid[k + 1] if k + 1 < len(grid) else t + period
