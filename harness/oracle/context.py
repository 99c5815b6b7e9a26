"""Each delivery's context for the matching search (``harness.oracle.search``), computed once per search.

For delivery i: when the scheduler could have sent it (``free``: the previous delivery's answer; the job's creation
for the first), the last occurrence due by its arrival (``lasts``), the occurrence it is *pinned* to (the job idle
at that due, the arrival within the pin window after it) and whether it is *plain* (``harness.oracle.forced``): a
2xx pinned to a counted, certain, not doubtful occurrence, after the previous one's answer. From the plain ones come
the stretches the search crosses in one step.

A long history's context is computed as numpy columns: in plain Python these passes (a bisection per delivery,
then a comparison or two) were a tenth of a million-delivery check. A short one's stays in lists, because numpy's
fixed cost per call is more than the whole pass for a one-shot job's single delivery. Both ways give the same
lists (``tests/unit/test_context.py`` holds them equal on generated histories). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from typing import NamedTuple

import numpy as np

from harness.oracle.forced import EDGE, LEAST, ROUGH_EDGE, forced_stretches
from harness.oracle.records import PIN_NS, VECTOR_FROM, ArrivalTable, OccurrenceTable, flags, ints


@dataclass(frozen=True, slots=True)
class Context:
    free: list[int | None]  # per delivery: when the scheduler could send it (None: after a cut-off one, unknown)
    due_by: list[int]  # per occurrence: its latest due (``Occurrence.due_by``)
    lasts: list[int]  # per delivery: the last occurrence due by its arrival plus the tolerance (-1: none)
    pins: list[int | None]  # per delivery: the occurrence it is pinned to (None: none)
    forced: list[tuple[int, int]]  # the stretches [a, b) whose reading is forced (``forced_stretches``)
    rough: list[tuple[int, int]]  # the stretches a rough pass crosses: the plain runs less ``ROUGH_EDGE`` at each end
    # [the lateness of deliveries 0..i-1 summed, for i = 0 .. len]: each pinned one's arrival past its occurrence's
    # earliest due (0 when before it, or not pinned). A crossed stretch's lateness is two looks (``_Search._forward``)
    late_before: list[int]


class _Given(NamedTuple):
    """What the pins are computed from."""

    table: OccurrenceTable
    arrivals: ArrivalTable
    free: list[int | None]
    due_by: list[int]
    lasts: list[int]
    tol: int


def delivery_context(
    table: OccurrenceTable, arrivals: ArrivalTable, idle_from: int | None, tol: int, vectorised: bool | None = None
) -> Context:
    """The context of every delivery (see the module); ``vectorised`` None: numpy from ``VECTOR_FROM`` deliveries."""
    free = [idle_from, *arrivals.answered[:-1]] if len(arrivals) else []
    due_by = table.due_by()
    if vectorised is None:
        vectorised = len(arrivals) >= VECTOR_FROM
    lasts = arrivals.last_dues(table.due, tol, vectorised, table.columns)
    given = _Given(table, arrivals, free, due_by, lasts, tol)
    pins, forced, rough, late_before = _pins_vectorised(given) if vectorised else _pins_listed(given)
    return Context(free, due_by, lasts, pins, forced, rough, late_before)


Pinned = tuple[list[int | None], list[tuple[int, int]], list[tuple[int, int]], list[int]]  # pins .. late_before


def _pins_listed(c: _Given) -> Pinned:
    table, arrivals, free, due_by, lasts, tol = c
    dues, half = table.due, table.half_period
    reach = [by + (h if h < PIN_NS else PIN_NS) for by, h in zip(due_by, half, strict=True)]  # pinned until
    pins = [
        k if f is not None and k >= 0 and f <= dues[k] + tol and r <= reach[k] else None
        for r, f, k in zip(arrivals.received, free, lasts, strict=True)
    ]
    late = [0 if k is None or r <= dues[k] else r - dues[k] for r, k in zip(arrivals.received, pins, strict=True)]
    late_before = [0, *accumulate(late)]
    if len(arrivals) < 2 * min(EDGE, ROUGH_EDGE) + LEAST:  # too few for a stretch (a one-shot job's one delivery)
        return pins, [], [], late_before
    solid = [c and not w and not d for c, w, d in zip(table.counted, table.world, table.doubtful, strict=True)]
    columns = zip(arrivals.received, arrivals.outcome, arrivals.restricted, free, pins, strict=True)
    plain = [
        k is not None
        and solid[k]
        and outcome == "success"
        and not restricted
        and (i == 0 or r + tol >= (f or 0))  # no overlap: the previous one was answered
        for i, (r, outcome, restricted, f, k) in enumerate(columns)
    ]
    return pins, forced_stretches(pins, plain), forced_stretches(pins, plain, ROUGH_EDGE), late_before


def _pins_vectorised(c: _Given) -> Pinned:
    """``_pins_listed`` as numpy columns (int64 holds every nanosecond time here: they stay below 2**63)."""
    table, arrivals, free, due_by, _, tol = c  # the lasts: as a column from the arrival table
    n = len(arrivals)
    if not len(table):  # nothing to be pinned to
        return [None] * n, [], [], [0] * (n + 1)
    received, known, sent_after, success, restricted = arrivals.columns(free[0] if free else None)
    column = table.columns
    last = arrivals.last_column(table.due, tol, column)  # lasts, kept as a column too
    k = np.maximum(last, 0)  # a valid index everywhere; where last is -1 the delivery is not pinned anyway
    dues = column(table.due)
    reach = column(due_by) + np.minimum(column(table.half_period), PIN_NS)
    pinned = known & (last >= 0) & (sent_after <= dues[k] + tol) & (received <= reach[k])
    solid = flags(table.counted, len(table))  # may be forced: counted, certain (world 0), not doubtful
    if any(table.world):  # (most jobs have no uncertain due, nor a doubtful one: no column to make)
        solid &= ints(table.world) == 0
    if any(table.doubtful):
        solid &= ~flags(table.doubtful, len(table))
    answered_before = received + tol >= sent_after  # free or 0, as the listed way reads it
    answered_before[0] = True
    plain = pinned & solid[k] & success & ~restricted & answered_before
    pin_column = np.where(pinned, last, -1)
    pins: list[int | None] = pin_column.tolist()
    for i in np.flatnonzero(~pinned).tolist():  # (the few not pinned)
        pins[i] = None
    late = np.where(pinned, np.maximum(received - dues[k], 0), 0)  # (int64: a million times 2 s is far from 2**63)
    late_before: list[int] = np.concatenate(([0], np.cumsum(late))).tolist()
    forced, rough = forced_stretches(pin_column, plain), forced_stretches(pin_column, plain, ROUGH_EDGE)
    return pins, forced, rough, late_before
