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
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import le

import numpy as np

from harness.model import BindingPlan, Delivery, SourceResult, Witness
from harness.oracle.evidence import CheckInput
from harness.oracle.fire_times import Fires, in_fire_order
from harness.oracle.records import VECTOR_FROM, ints
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


def _within(ticks: list[int], intervals: list[tuple[int, int]], keys: list[int] | None = None) -> list[int]:
    """The ticks (sorted) in any of the intervals, in order: ``[t for t in ticks if _in_any(t, intervals)]`` by
    bisection, not a look at each tick. With ``keys`` (one per tick, sorted too) a tick goes by its key instead."""
    keys = ticks if keys is None else keys
    out: list[int] = []
    end = 0  # the ticks before it are taken
    for a, b in sorted((bisect.bisect_left(keys, lo), bisect.bisect_right(keys, hi)) for lo, hi in intervals):
        a = max(a, end)
        if a < b:
            out.extend(ticks[a:b])
            end = b
    return out


def _due_within(ticks: list[int], dues: dict[int, int], intervals: list[tuple[int, int]]) -> list[int]:
    """The ticks (sorted) counted by when each was due (``dues``, else the tick itself):
    ``[t for t in ticks if _in_any(dues.get(t, t), intervals)]``, by bisection when the due times run in order
    (as @every's do when the tolerance is under the period: each is the previous fire + the period), else a look at
    each."""
    due = list(map(dues.get, ticks, ticks))
    if all(map(le, due, islice(due, 1, None))):
        return _within(ticks, intervals, due)
    return [t for t, u in zip(ticks, due, strict=True) if _in_any(u, intervals)]


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
    ticks, index, dues, early = [fires[0]], [0], {}, {}
    restarts = sorted(restarts)  # the first restart after the last tick, by bisection
    for i, x in enumerate(islice(fires, 1, None), 1):
        last = ticks[-1]
        steps = (x - last + tol) // delay
        k = bisect.bisect_right(restarts, last) if restarts else 0
        if k < len(restarts) and restarts[k] <= x:  # restarts[k]: the first restart in (last, x]
            restart = restarts[k]
            stop = max((s for s in stops if last < s <= restart), default=restart)
            ticks.extend(range(last + delay, stop, delay))
            ticks.append(x)
        elif steps == 0 and distinct and x - last >= delay // 2:
            early[i] = last + delay
            ticks.append(x)
        elif steps > 0:
            ticks.extend(range(last + delay, last + steps * delay, delay))  # the unrecorded ones
            ticks.append(x)
            dues[i] = last + steps * delay
        index.append(len(ticks) - 1)
    return _Chain(ticks, index, dues, early)


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
    fires = in_fire_order(ds)
    ds, at = fires.ds, fires.at  # from here on a delivery is its position in fire order

    replica_of = [d.replica for d in ds]
    by_replica: dict[int, list[int]] = defaultdict(list)
    for r, replica in enumerate(replica_of):
        by_replica[replica].append(r)
    _skew_note(tally, fires, tol)
    lo = min([inp.observe_start_ns, *at]) - 2 * period
    hi = max([inp.observe_end_ns, *at]) + 2 * period
    dues: dict[int, int] = {}  # @every: delivery -> the tick it was due at (its replica's previous fire + d)
    tick_dues: dict[int, dict[int, int]] = {}  # @every: replica -> tick at its wake -> when that tick was due
    early: dict[int, tuple[Delivery, int, int]] = {}  # delivery -> (it, the tick it stands in for, its due)
    late: set[int] = set()  # deliveries that fired over half a period after their tick

    # (replica, tick) -> deliveries in fire order, and each replica's tick list (for "the next tick")
    assigned: dict[tuple[int, int], list[int]] = defaultdict(list)
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
                distinct = all(fires.fired[r] is not None for r in mine)
                starts = sorted(w.start_ns for w in inp.windows if w.replica == replica)[1:]
                starts += [w.end_ns for w in inp.down if w.replica == replica]
                stops = sorted(w.end_ns for w in inp.windows if w.replica == replica)[:-1]
                stops += [w.start_ns for w in inp.down if w.replica == replica]
                chain = _every_chain([at[r] for r in mine], schedule.delay_ns, tol, distinct, starts, stops)
                ticks = chain.ticks
                for r, k in zip(mine, chain.index, strict=True):
                    assigned[(replica, ticks[k])].append(r)
                for i, due in chain.dues.items():
                    r = mine[i]
                    dues[r] = due
                    tick_dues.setdefault(replica, {}).setdefault(ticks[chain.index[i]], due)
                    if at[r] - due > schedule.delay_ns // 2:
                        late.add(r)
                for i, due in chain.early.items():
                    early[mine[i]] = (ds[mine[i]], ticks[chain.index[i]], due)
                grids[replica] = _extend(ticks, schedule.delay_ns, lo, hi)
            else:
                start = min((a for a, _ in intervals.get(replica, [])), default=inp.observe_start_ns)
                grids[replica] = binding_ticks(plan.schedule, start, hi)
    else:
        grid = binding_ticks(plan.schedule, lo, hi)
        for replica in sorted(set(intervals) | set(by_replica)):
            grids[replica] = grid
        if len(at) >= VECTOR_FROM:  # the tick of each (the last at or before its fire), by one numpy search
            on_tick: list[int] = (np.searchsorted(ints(grid), ints(at) + tol, side="right") - 1).tolist()
        else:
            on_tick = [bisect.bisect_right(grid, x + tol) - 1 for x in at]
        for r in fires.given:  # in arrival order: the order the (replica, tick) groups were first met in
            k = on_tick[r]
            if k >= 0:
                assigned[(replica_of[r], grid[k])].append(r)
        for got in assigned.values():
            got.sort()  # fire order
        early.update(_aligned_early(assigned, grid, fires, tol))
        late.update(_aligned_late(assigned, grid, at))
    lone_late: list[Delivery] = []  # the only fire of its tick (early ones aside), over half a period late
    for (replica, t), got in assigned.items() if late else ():
        kept = [r for r in got if r not in early] if early else got
        if len(kept) == 1 and kept[0] in late:
            r = kept[0]
            if _in_any(_next_tick(t, r, grids.get(replica, []), dues, period), intervals.get(replica, [])):
                lone_late.append(ds[r])

    def counted_for(replica: int | None) -> Callable[[int], bool]:
        spans = intervals.get(replica, []) if replica is not None else [s for ss in intervals.values() for s in ss]
        return lambda t: _in_any(t, spans)

    # Whether a tick is counted goes by when it was due, not by its wake: an @every tick due inside the counted
    # window whose wake came late, past the window's end, is still that window's tick.
    if plan.policy == "contract":
        units: list[tuple[int, list[int]]] = []  # (replica, its counted ticks)
        for replica, spans in sorted(intervals.items()):
            if tick_dues:
                counted = _due_within(grids[replica], tick_dues.get(replica, {}), spans)
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
                tally, plan, counts, grids[replica], every, who, fires, dues, early, replica, counted_for(replica)
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
            firsts = sorted((at[mine[0]], r) for r, mine in by_replica.items())
            ref = firsts[0][1] if firsts else min(intervals, default=0)
            grid = grids.get(ref) or binding_ticks(plan.schedule, inp.observe_start_ns, hi)
            grid = _extend(grid, period, lo, hi)
            assigned = defaultdict(list)
            for r, x in enumerate(at):  # in fire order, so each tick's deliveries are too
                k = bisect.bisect_right(grid, x + tol) - 1
                if k >= 0:
                    assigned[(0, grid[k])].append(r)
        else:
            grid = grids[min(grids)] if grids else binding_ticks(plan.schedule, lo, hi)
            merged: dict[tuple[int, int], list[int]] = defaultdict(list)
            for (_, t), got in assigned.items():
                merged[(0, t)].extend(got)
            for got in merged.values():
                got.sort()  # fire order
            assigned = merged
        spans = [s for ss in intervals.values() for s in ss]
        counted = _due_within(grid, tick_dues.get(ref, {}), spans) if tick_dues else _within(grid, spans)
        counts = {t: assigned.get((0, t), []) for t in counted}
        _judge_ticks(tally, plan, counts, grid, every, "", fires, {}, early, None, counted_for(None))
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
    counts: dict[int, list[int]],
    grid: list[int],
    every: bool,
    who: str,
    fires: Fires,
    dues: dict[int, int],
    early: dict[int, tuple[Delivery, int, int]],
    replica: int | None,
    counted: Callable[[int], bool],
) -> None:
    """Count one unit per counted tick: missed, duplicates, early (``early``: fired before the tick it stands in
    for; without fire times, re-labelled here), lateness (aligned: from the tick; ``@every``: from ``dues``, the
    replica's previous fire + the period)."""
    ds, at = fires.ds, fires.at
    prefix = f"{who}: " if who else ""
    moved: dict[int, int] = {}  # tick -> its extra delivery re-labelled early for the next tick
    stands_in: set[int] = set()  # ticks an early fire answered
    inside = {r for got in counts.values() for r in got} if early else set()
    for r, (d, target, due) in early.items():
        if (target not in counts and not counted(due)) or (replica is not None and d.replica != replica):
            continue  # an early fire for a tick that is not counted here
        stands_in.add(target)
        tally.early += 1
        tally.deliveries += r not in inside  # it sits on an uncounted tick (the one before)
        note = f"{prefix}replica {d.replica}, fired {ms(due - at[r])} before its tick"
        tally.witness(Witness("early", "binding", plan.name, due, (d,), note))
    if not every and not early:
        for t, got in counts.items():
            if len(got) < 2:
                continue
            k = bisect.bisect_left(grid, t)
            nxt = grid[k + 1] if k + 1 < len(grid) else None
            if nxt is None or nxt not in counts or counts[nxt]:
                continue
            r = got[-1]
            if at[r] > (t + nxt) // 2:
                moved[t] = r
                tally.early += 1
                note = f"{prefix}replica {ds[r].replica}, fired {ms(nxt - at[r])} before its tick"
                tally.witness(Witness("early", "binding", plan.name, nxt, (ds[r],), note))
    early_ticks = {grid[bisect.bisect_left(grid, t) + 1] for t in moved} | stands_in
    tally.occurrences += len(counts)
    tally.deliveries += sum(map(len, counts.values()))
    for t, got in counts.items():
        if early:
            got = [r for r in got if r not in early]
        if not got:
            if t not in early_ticks:
                tally.missed += 1
                tally.witness(Witness("missed", "binding", plan.name, t, (), f"{prefix}nothing delivered"))
            continue
        if not every:
            tally.late(t, ds[got[0]])
        elif got[0] in dues:
            tally.late(dues[got[0]], ds[got[0]])
        if len(got) < 2:
            continue  # nothing twice
        dups = [ds[r] for r in got if r != moved.get(t)]
        if len(dups) > 1:
            tally.duplicates += len(dups) - 1
            spread = dups[-1].received_ns - dups[0].received_ns
            note = f"{prefix}{len(dups)} deliveries on replicas {replica_list(dups)}, spread {ms(spread)}"
            tally.witness(Witness("duplicate", "binding", plan.name, t, tuple(dups), note))


def _skew_note(tally: Tally, fires: Fires, tol: int) -> None:
    """Say so when an app received a delivery before its daprd fired it (the two clocks differ)."""
    ahead: dict[int, int] = {}
    for d, f in zip(fires.ds, fires.fired, strict=True):
        if f is not None and d.received_ns + tol < f:
            ahead[d.replica] = max(ahead.get(d.replica, 0), f - d.received_ns)
    for replica, by in sorted(ahead.items()):
        tally.notes.append(
            f"replica {replica}: its app received deliveries up to {ms(by)} before daprd fired them (readtimeutc): "
            "their clocks differ; ticks are attributed on daprd's clock, lateness on the app's"
        )


def _aligned_early(
    assigned: dict[tuple[int, int], list[int]], grid: list[int], fires: Fires, tol: int
) -> dict[int, tuple[Delivery, int, int]]:
    """Aligned schedules, fire times known: a second fire of one replica within one tick's interval, past its
    midpoint and not the same wake as the first (same ``readtimeutc``), fired early for the next tick (kit never
    runs an entry before its Next, so it is an anomaly either way; closer to the next tick, it is named early)."""
    fired = fires.fired
    out: dict[int, tuple[Delivery, int, int]] = {}
    for (_replica, t), got in assigned.items():
        if len(got) < 2:
            continue
        k = bisect.bisect_left(grid, t)
        if k + 1 >= len(grid):
            continue
        nxt = grid[k + 1]
        first = fired[got[0]]
        for r in got[1:]:
            f = fired[r]
            if first is not None and f is not None and f - first >= tol and f > (t + nxt) // 2:
                out[r] = (fires.ds[r], nxt, nxt)
    return out


def _aligned_late(assigned: dict[tuple[int, int], list[int]], grid: list[int], at: list[int]) -> set[int]:
    """Aligned schedules: deliveries that fired more than half an interval after their tick."""
    out: set[int] = set()
    for (_replica, t), got in assigned.items():
        k = bisect.bisect_left(grid, t)
        if k + 1 < len(grid):
            half = (grid[k + 1] - t) // 2
            for r in got:
                if at[r] - t > half:
                    out.add(r)
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


def _next_tick(t: int, r: int, grid: list[int], dues: dict[int, int], period: int) -> int:
    """The tick after the one delivery ``r`` was read as late for: what it would be early for in the rival
    reading."""
    if r in dues:
        return dues[r] + period
    k = bisect.bisect_left(grid, t)
    return grid[k + 1] if k + 1 < len(grid) else t + period
