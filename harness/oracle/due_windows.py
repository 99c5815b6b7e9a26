"""When each of a job's occurrences was due, as far as the evidence says (glossary: ``harness.oracle.check``).

Dapr reads its clock for a job's creation somewhere inside the schedule call, so each due time is known only within a
window, ``[due, latest]`` (``harness.oracle.overwrites.span_dues``). Here the jobs oracle (``harness.oracle.jobs``)
keeps its occurrences and narrows those windows with what the deliveries show: one creation time moves every due of a
plan span, no first attempt comes before its due, and a delay on the path moves every on-time delivery alike. It also
decides which occurrences are counted, and which are *doubtful* because the end of counting cuts their window.
Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from harness.model import Delivery
from harness.oracle.matching import PIN_NS, Arrival, Reading

PERIODLESS = 1 << 62  # the half period of a job with a single due time: no stall or pin can be measured


@dataclass(slots=True)
class Occ:
    """One occurrence of a job as the oracle judges it: its due window, whether it is counted, and the deliveries
    the best reading gave it."""

    due: int
    counted: bool
    span: int  # which plan span (harness.oracle.overwrites) it comes from
    latest: int  # the due time had Dapr read its clock at the end of the schedule call
    expected: bool = True  # by its plan (certain, before any cut); counted if also surely due by the end of counting
    doubtful: bool = False  # expected, but its due lies across the end of counting: may or may not be counted
    attempts: tuple[Delivery, ...] = ()  # the first attempt, then retries
    early: tuple[Delivery, ...] = ()
    duplicates: tuple[Delivery, ...] = ()


def count_expected(occ: Sequence[Occ], counted_until: int) -> None:
    """Counted: expected and surely due by the end of counting. A due known only within a span (the schedule call's)
    that the end of counting cuts is doubtful: it may be due after that end, so its miss is no evidence, though a
    pass cannot stand on it either."""
    for o in occ:
        o.counted = o.expected and o.latest <= counted_until
        o.doubtful = o.expected and o.due <= counted_until < o.latest


def path_delays(
    occ: Sequence[Occ], best: Reading, arrivals: Sequence[Arrival], created: int, tol: int
) -> dict[int, int]:
    """A delay on the path (a slow network, a loaded app) makes on-time deliveries arrive late, all alike; a stall
    makes one late alone. So each first attempt sent while the job was idle (the previous answer came before the
    earliest due) is judged against the lateness of its neighbours: the idle first attempts just before and after
    it: when at least two of the four nearest (two each side, as the best reading has them) came as late as it,
    within the pin window, their smallest lateness (past the latest due, over the tolerance) is the path's delay
    and its due is moved by it. A lone late one (or two) keeps its due."""
    idle: list[tuple[int, int]] = []  # (occurrence, arrival minus its latest due)
    for i, (a, role) in enumerate(zip(arrivals, best.roles, strict=True)):
        free = created if i == 0 else arrivals[i - 1].answered
        if role.kind == "attempt" and role.occurrence is not None and free is not None:
            o = occ[role.occurrence]
            if free <= o.due + tol:
                idle.append((role.occurrence, a.received - o.latest))
    delays: dict[int, int] = {}
    for j, (k, late) in enumerate(idle):
        near = range(max(0, j - 2), min(len(idle), j + 3))
        alike = [idle[n][1] for n in near if n != j and abs(idle[n][1] - late) <= PIN_NS]
        if len(alike) >= 2 and min(late, *alike) > tol:
            delays[k] = min(late, *alike)
    return delays


def narrow(occ: Sequence[Occ], best: Reading, arrivals: Sequence[Arrival], tol: int) -> bool:
    """Narrow each plan span's due windows by its deliveries: Dapr read its clock for the creation once, so every
    due of a span moves with it, and no first attempt (as the best reading has them) came before its due. The
    latest a span's dues can be is then its earliest plus the smallest lead of an attempt over its earliest due.
    True if a window narrowed (the caller matches again)."""
    lead: dict[int, int] = {}
    for a, role in zip(arrivals, best.roles, strict=True):
        if role.kind == "attempt" and role.occurrence is not None:
            o = occ[role.occurrence]
            if o.latest > o.due:
                lead[o.span] = min(lead.get(o.span, o.latest - o.due), max(0, a.received - o.due) + tol)
    narrowed = False
    for o in occ:
        if o.span in lead and o.latest - o.due > lead[o.span]:
            o.latest = o.due + lead[o.span]
            narrowed = True
    return narrowed


def half_periods(occ: Sequence[Occ], after_last: int | None) -> list[int]:
    """Half the interval from each occurrence to the next due time (after the last: when the schedule would next
    fire, ``after_last``, else the interval before it); a one-shot job has none."""
    dues = [o.due for o in occ]
    out = [max(1, (b - a) // 2) for a, b in pairwise(dues)]
    if dues:
        last = dues[-1]
        if after_last is not None and after_last > last:
            out.append(max(1, (after_last - last) // 2))
        elif len(dues) < 2:
            out.append(PERIODLESS)
        else:
            out.append(max(1, (last - dues[-2]) // 2))
    return out
