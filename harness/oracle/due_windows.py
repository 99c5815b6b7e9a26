"""When each of a job's occurrences was due, as far as the evidence says (glossary: ``harness.oracle.check``).

Dapr reads its clock for a job's creation somewhere inside the schedule call, so each due time is known only within a
window, ``[due, latest]`` (``harness.oracle.overwrites.span_dues``). Here the jobs oracle (``harness.oracle.jobs``)
keeps its occurrences and narrows those windows with what the deliveries show: one creation time moves every due of a
plan span, no first attempt comes before its due, and a delay on the path moves every on-time delivery alike. It also
decides which occurrences are counted, and which are *doubtful* because the end of counting cuts their window.
Pure.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress, pairwise, repeat

import numpy as np

from harness.model import Delivery
from harness.oracle.records import (
    PIN_NS,
    VECTOR_FROM,
    Arrival,
    ArrivalTable,
    Columns,
    Flags,
    Ints,
    Reading,
    flags,
    ints,
)

PERIODLESS = 1 << 62  # the half period of a job with a single due time: no stall or pin can be measured


@dataclass(slots=True)
class Occs:
    """A job's occurrences as the oracle judges them, by due time, one list per field (index k: occurrence k): its
    due window, whether it is counted, and the deliveries the best reading gave it. Columns, not one object per
    occurrence: a long run has thousands, and most are read in bulk."""

    due: list[int]
    span: list[int]  # which plan span (harness.oracle.overwrites) it comes from
    latest: list[int]  # the due time had Dapr read its clock at the end of the schedule call
    expected: list[bool]  # by its plan (certain, before any cut); counted if also surely due by the end of counting
    counted: list[bool] = field(default_factory=list)
    doubtful: list[bool] = field(default_factory=list)  # expected, its due across the end of counting: may be counted
    attempts: list[tuple[Delivery, ...]] = field(default_factory=list)  # the first attempt, then retries
    early: list[tuple[Delivery, ...]] = field(default_factory=list)
    duplicates: list[tuple[Delivery, ...]] = field(default_factory=list)
    columns: Columns = field(default_factory=Columns, compare=False, repr=False)  # numpy columns, made once each

    @classmethod
    def planned(cls, dues: Sequence[tuple[int, int, bool, int]]) -> Occs:
        """From rows (due, span, expected, latest); none counted yet, none delivered."""
        columns = ([*column] for column in zip(*dues, strict=True)) if dues else ([], [], [], [])
        return cls.of_columns(*columns)

    @classmethod
    def of_columns(cls, due: list[int], span: list[int], expected: list[bool], latest: list[int]) -> Occs:
        """From ``span_dues``' columns (copied: ``add`` appends to them); none counted yet, none delivered."""
        n = len(due)
        return cls([*due], [*span], [*latest], [*expected], [False] * n, [False] * n, [()] * n, [()] * n, [()] * n)

    def add(self, due: int, span: int, latest: int, expected: bool) -> None:
        """One more occurrence, after the others."""
        self.due.append(due)
        self.span.append(span)
        self.latest.append(latest)
        self.expected.append(expected)
        self.counted.append(False)
        self.doubtful.append(False)
        self.attempts.append(())
        self.early.append(())
        self.duplicates.append(())

    def __len__(self) -> int:
        return len(self.due)


def count_expected(occ: Occs, counted_until: int) -> None:
    """Counted: expected and surely due by the end of counting. A due known only within a span (the schedule call's)
    that the end of counting cuts is doubtful: it may be due after that end, so its miss is no evidence, though a
    pass cannot stand on it either."""
    if len(occ) >= VECTOR_FROM:
        due, latest = occ.columns(occ.due), occ.columns(occ.latest)
        counted, doubtful = latest <= counted_until, (due <= counted_until) & (counted_until < latest)
        if not all(occ.expected):  # (usually all are)
            expected = flags(occ.expected, len(occ))
            counted, doubtful = expected & counted, expected & doubtful
        occ.counted, occ.doubtful = counted.tolist(), doubtful.tolist()
        return
    occ.counted = [e and latest <= counted_until for e, latest in zip(occ.expected, occ.latest, strict=True)]
    occ.doubtful = [
        e and due <= counted_until < latest for e, due, latest in zip(occ.expected, occ.due, occ.latest, strict=True)
    ]


def _attempts(best: Reading) -> Iterator[tuple[int, int, int, bool]]:
    """The attempt roles of ``best`` in order, as (first delivery, its occurrence, how many, crossed): a crossed
    stretch (``Reading.forced``) in one piece, its deliveries on consecutive occurrences, each pinned to its due
    with the job idle; every other attempt alone."""
    crossed = dict(best.forced)
    roles = best.roles
    i = 0
    while i < len(roles):
        role = roles[i]
        if i in crossed:
            assert role.occurrence is not None
            yield i, role.occurrence, crossed[i] - i, True
            i = crossed[i]
            continue
        if role.kind == "attempt" and role.occurrence is not None:
            yield i, role.occurrence, 1, False
        i += 1


def _attempt_columns(best: Reading) -> tuple[Ints, Ints, Flags]:
    """``_attempts`` as numpy columns, one entry per first attempt the reading has: its delivery, its occurrence,
    whether it is in a crossed stretch (each stretch spread out), in the reading's order."""
    firsts, occurrences, counts, crossed = [], [], [], []
    for i, k, count, in_stretch in _attempts(best):
        firsts.append(i)
        occurrences.append(k)
        counts.append(count)
        crossed.append(in_stretch)
    sizes = ints(counts)
    steps = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # 0, 1, .. within each
    spread = np.repeat(flags(crossed, len(crossed)), sizes)
    return np.repeat(ints(firsts), sizes) + steps, np.repeat(ints(occurrences), sizes) + steps, spread


def path_delays(occ: Occs, best: Reading, arrivals: Sequence[Arrival], created: int, tol: int) -> dict[int, int]:
    """A delay on the path (a slow network, a loaded app) makes on-time deliveries arrive late, all alike; a stall
    makes one late alone. So each first attempt sent while the job was idle (the previous answer came before the
    earliest due) is judged against the lateness of its neighbours: the idle first attempts just before and after
    it: when at least two of the four nearest (two each side, as the best reading has them) came as late as it,
    within the pin window, their smallest lateness (past the latest due, over the tolerance) is the path's delay
    and its due is moved by it. A lone late one (or two) keeps its due."""
    table = ArrivalTable.of(arrivals)
    if len(table) >= VECTOR_FROM:
        idle, lates = _idle_lateness(occ, best, table, created, tol)
    else:
        idle, lates = _idle_lateness_listed(occ, best, table, created, tol)
    delays: dict[int, int] = {}
    # only one over the tolerance can be moved (the smallest of it and its neighbours must be)
    for j in compress(range(len(lates)), map(operator.lt, repeat(tol), lates)):
        late = lates[j]
        near = range(max(0, j - 2), min(len(lates), j + 3))
        alike = [lates[n] for n in near if n != j and abs(lates[n] - late) <= PIN_NS]
        if len(alike) >= 2 and min(late, *alike) > tol:
            delays[idle[j]] = min(late, *alike)
    return delays


def _idle_lateness(
    occ: Occs, best: Reading, table: ArrivalTable, created: int, tol: int
) -> tuple[list[int], list[int]]:
    """The idle first attempts' occurrences, in order, and each one's arrival past its latest due, as numpy
    computes them (``_idle_lateness_listed``: the same, one attempt at a time). A crossed stretch is idle
    throughout (each delivery there was sent no earlier than its due)."""
    at, k, crossed = _attempt_columns(best)
    received, known, free = table.columns(created)[:3]
    idle = crossed | (known[at] & (free[at] <= occ.columns(occ.due)[k] + tol))
    lates = received[at[idle]] - occ.columns(occ.latest)[k[idle]]
    if not (lates > tol).any():
        return [], []  # nothing to move: no neighbours needed
    return k[idle].tolist(), lates.tolist()


def _idle_lateness_listed(
    occ: Occs, best: Reading, table: ArrivalTable, created: int, tol: int
) -> tuple[list[int], list[int]]:
    due, latest = occ.due, occ.latest
    received, answered = table.received, table.answered
    idle: list[int] = []  # the idle first attempts' occurrences, in order
    lates: list[int] = []  # and each one's arrival minus its latest due
    for i, k, count, crossed in _attempts(best):
        if crossed:  # each one pinned to its due, the job idle: all of them (at C speed)
            idle.extend(range(k, k + count))
            lates.extend(map(operator.sub, received[i : i + count], latest[k : k + count]))
            continue
        free = created if i == 0 else answered[i - 1]
        if free is not None and free <= due[k] + tol:
            idle.append(k)
            lates.append(received[i] - latest[k])
    return idle, lates


def narrow(occ: Occs, best: Reading, arrivals: Sequence[Arrival], tol: int) -> bool:
    """Narrow each plan span's due windows by its deliveries: Dapr read its clock for the creation once, so every
    due of a span moves with it, and no first attempt (as the best reading has them) came before its due. The
    latest a span's dues can be is then its earliest plus the smallest lead of an attempt over its earliest due.
    True if a window narrowed (the caller matches again)."""
    due, latest, span = occ.due, occ.latest, occ.span
    table = ArrivalTable.of(arrivals)
    if len(due) >= VECTOR_FROM:
        return _narrow_vectorised(occ, best, table, tol)
    received = table.received
    lead: dict[int, int] = {}
    for i, k, count, _crossed in _attempts(best):
        for j, kj in zip(range(i, i + count), range(k, k + count), strict=True):
            if latest[kj] > due[kj]:
                s = span[kj]
                lead[s] = min(lead.get(s, latest[kj] - due[kj]), max(0, received[j] - due[kj]) + tol)
    if not lead:
        return False
    bounds = [lead.get(s, -1) for s in span]  # -1: a span with no lead keeps its windows (a lead is never negative)
    narrowed = [b >= 0 and t - d > b for d, t, b in zip(due, latest, bounds, strict=True)]
    occ.latest = [d + b if n else t for d, t, b, n in zip(due, latest, bounds, narrowed, strict=True)]
    return any(narrowed)


def _narrow_vectorised(occ: Occs, best: Reading, table: ArrivalTable, tol: int) -> bool:
    """``narrow`` for a long history, as numpy columns over every attempt at once: per plan span, the lead is the
    window of its first uncertain attempt (in the reading's order) or the smallest arrival past an uncertain
    earliest due plus the tolerance, whichever is less."""
    at, k, _crossed = _attempt_columns(best)
    earliest, old, span = occ.columns(occ.due), occ.columns(occ.latest), occ.columns(occ.span)
    uncertain = old[k] > earliest[k]
    if not uncertain.any():
        return False
    at, k = at[uncertain], k[uncertain]
    spans, first, which = np.unique(span[k], return_index=True, return_inverse=True)
    lead = (old[k] - earliest[k])[first]  # the first uncertain attempt's window, per span
    np.minimum.at(lead, which, np.maximum(0, table.received_column()[at] - earliest[k]) + tol)
    bound = np.full(int(span.max()) + 1, -1, dtype=np.int64)  # -1: a span with no lead keeps its windows
    bound[spans] = lead
    by_span = bound[span]
    moved = (by_span >= 0) & (old - earliest > by_span)
    occ.latest = np.where(moved, earliest + by_span, old).tolist()
    return bool(moved.any())


def half_periods(occ: Occs, after_last: int | None) -> list[int]:
    """Half the interval from each occurrence to the next due time (after the last: when the schedule would next
    fire, ``after_last``, else the interval before it); a one-shot job has none."""
    dues = occ.due
    if len(dues) >= VECTOR_FROM:
        column = occ.columns(dues)
        out: list[int] = np.maximum((column[1:] - column[:-1]) // 2, 1).tolist()
    else:
        out = [half if (half := (b - a) // 2) > 1 else 1 for a, b in pairwise(dues)]
    if dues:
        last = dues[-1]
        if after_last is not None and after_last > last:
            out.append(max(1, (after_last - last) // 2))
        elif len(dues) < 2:
            out.append(PERIODLESS)
        else:
            out.append(max(1, (last - dues[-2]) // 2))
    return out
