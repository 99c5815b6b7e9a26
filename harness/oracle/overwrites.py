"""Which plan a job follows over time, when it is scheduled more than once: the jobs oracle's overwrite model.

A successful schedule call on a name that exists replaces the job (go-etcd-cron v0.12.7
``internal/engine/handler/handler.go`` ``addJob``: ``Put`` of the job key when ``overwrite`` is set; the new
stored job gets a new ``PartitionId`` and ``Begin`` in ``internal/scheduler/builder.go`` ``Parse``, so its counter
starts over, ``internal/counter/counter.go``). Without ``overwrite`` the scheduler answers ``AlreadyExists``
(``PutIfNotExists``; dapr v1.18.2 ``pkg/scheduler/server/api.go`` ``ScheduleJob``), which daprd turns into HTTP 409
(``pkg/api/errors/scheduler.go`` ``SchedulerScheduleJob``, kit ``grpccodes``): the call ``fail``s and the old
plan stays in force.

So a job's history is a list of *spans*, one per schedule call that ended ``ok`` (the first live call, whatever
its outcome, creates the job):

* a span's occurrences come from its plan, created at its call's **invoke** time (as for the first call);
* it ends when the next ``ok`` schedule call (an overwrite) ends: occurrences due after that ``ok`` are no longer
  expected; those due within the *grace* (``max(delete grace, the call's latency)``) before the overwrite's
  invoke, or later, are not counted (matched if delivered, never missed): a trigger of the old plan may be in
  flight when the overwrite lands;
* a re-schedule whose outcome is unknown (``info``) leaves the old plan assumed and makes the job *unknown*; a
  schedule call after a delete re-creates the job, which is not modelled (*unknown*).

The first old-plan due time the overwrite dropped is kept per span: after the overwrite, a delivery that fits no
occurrence of the new plan and comes at or after it is *spurious* (the old plan still firing).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat

from harness.model import JobPlan, OpPhase
from harness.oracle.records import VECTOR_FROM, Ints, ints
from harness.oracle.ticks import job_continuation, job_dues_until


@dataclass(frozen=True, slots=True)
class ScheduleCall:
    """One schedule operation of a job, as the oracle needs it."""

    op_id: str
    start_ns: int  # the invoke row's time
    outcome: OpPhase | None  # None: no outcome row
    outcome_ns: int | None
    status: int | None = None  # the HTTP status, when Dapr answered


@dataclass(frozen=True, slots=True)
class PlanSpan:
    plan: JobPlan
    created_ns: int  # the invoke time of the call that set this plan
    replaced_ns: int | None = None  # the ok time of the overwrite that replaced it; None: in force to the end
    cut_ns: int | None = None  # occurrences due after this are not counted (the overwrite's invoke - grace)
    confirmed_ns: int | None = None  # the ok time of the call that set this plan; None: its outcome is unknown


@dataclass
class Spans:
    spans: list[PlanSpan]
    notes: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def plan_spans(
    job: JobPlan,
    calls: Sequence[ScheduleCall],
    op_plans: Mapping[str, JobPlan],
    grace_ns: int,
    deleted_from_ns: int | None,
    iso: Callable[[int], str] = str,
) -> Spans:
    """The spans of a job from its schedule calls (sorted by invoke; at least one not ``fail``).

    ``op_plans`` gives the plan a call asked for (absent: ``job``); ``deleted_from_ns`` is the first delete's
    invoke (calls after it are re-creations, not modelled); ``iso`` formats a time for the notes.
    """
    live = [c for c in calls if c.outcome != "fail"]
    first = live[0]
    confirmed = first.outcome_ns if first.outcome == "ok" else None
    out = Spans([PlanSpan(op_plans.get(first.op_id, job), first.start_ns, confirmed_ns=confirmed)])
    for call in calls:
        if call is first or call.start_ns < first.start_ns:
            continue
        when = iso(call.start_ns)
        if deleted_from_ns is not None and call.start_ns >= deleted_from_ns:
            out.unknown.append(f"scheduled again at {when} after a delete: a re-created job is not modelled")
            continue
        if call.outcome == "fail":
            answer = f"answered {call.status}" if call.status is not None else "failed"
            out.notes.append(f"the schedule call at {when} {answer}: the plan in force is unchanged")
            continue
        if call.outcome != "ok" or call.outcome_ns is None:
            out.unknown.append(
                f"the schedule call at {when} has an unknown outcome: the old plan is assumed, but it may have "
                "been replaced"
            )
            continue
        last = out.spans[-1]
        latency = call.outcome_ns - call.start_ns
        cut = call.start_ns - max(grace_ns, latency)
        out.spans[-1] = PlanSpan(last.plan, last.created_ns, call.outcome_ns, cut, last.confirmed_ns)
        plan = op_plans.get(call.op_id, job)
        out.spans.append(PlanSpan(plan, call.start_ns, confirmed_ns=call.outcome_ns))
        out.notes.append(f"overwritten at {when} ({describe(plan)}): occurrences after it follow the new plan")
    return out


def describe(plan: JobPlan) -> str:
    parts = [
        f"{key} {value}"
        for key, value in (
            ("schedule", plan.schedule),
            ("due_time", plan.due_time),
            ("repeats", plan.repeats),
            ("ttl", plan.ttl),
        )
        if value is not None
    ]
    return ", ".join(parts)


Rows = list[tuple[int, int, bool, int]]  # (due, span index, counted, latest due) per due, sorted
DueColumns = tuple[list[int], list[int], list[bool], list[int]]  # the same as four columns


@dataclass
class SpanDues:
    columns: DueColumns  # due, span index, counted, latest due: one entry per due, sorted
    beyond: int | None  # the last span's first due after the horizon; None when its schedule ended
    continuation: int | None  # when the last span would next have fired had repeats/ttl not ended it
    dropped: dict[int, int]  # span index -> the first old-plan due its overwrite dropped
    continuation_from: int | None = None  # the earliest the continuation can be (``continuation`` is the latest)
    worlds: dict[int, int] = field(default_factory=dict)  # uncertain due -> 1: exists only if created early, 2: late
    arrays: tuple[Ints, Ints] | None = None  # the dues and latest dues as numpy columns, when made (a long lone span)

    @property
    def uncertain(self) -> int:
        """How many dues exist only if Dapr created the job early (or only late) within its call."""
        return len(self.worlds)


def span_dues(spans: Sequence[PlanSpan], horizon_ns: int) -> SpanDues:
    """Every expected due time, span by span, up to ``horizon_ns``. Raises ``ScheduleError`` like ``ticks``.

    Dapr reads its clock for a job's creation somewhere between the schedule call's invoke and ok. Due times are
    computed from both ends: one that exists either way is certain (its earlier value is kept, so no delivery is
    wrongly called early); one that exists only one way (the first aligned tick falling inside the call, the tick
    a repeats count then adds at the end, the last tick before an absolute ttl) is *uncertain*: not counted, so
    neither missed when absent nor spurious when present.
    """
    dues: Rows = []
    columns: DueColumns | None = None  # a lone span whose dues are all certain: as columns at once (the usual job)
    arrays: tuple[Ints, Ints] | None = None  # and then, for a long one, its dues and latest dues as numpy's
    dropped: dict[int, int] = {}
    beyond: int | None = None
    continuation: int | None = None
    continuation_from: int | None = None
    worlds: dict[int, int] = {}
    for i, span in enumerate(spans):
        final = i == len(spans) - 1
        limit = horizon_ns if span.replaced_ns is None else min(horizon_ns, span.replaced_ns)
        early, first_beyond = job_dues_until(span.plan, span.created_ns, limit)
        late_from = span.confirmed_ns if span.confirmed_ns is not None else span.created_ns
        latency = late_from - span.created_ns
        late, _ = job_dues_until(span.plan, late_from, limit + latency)
        if final:
            beyond = first_beyond
        elif span.replaced_ns is not None and first_beyond is not None and first_beyond > span.replaced_ns:
            dropped[i] = first_beyond
        cut, before = span.cut_ns, len(dues)
        made = None  # the two lists as numpy columns, for a long one (the job reads them as such again)
        if len(early) == len(late) and len(early) >= VECTOR_FROM:
            made = ints(early), ints(late)
            gap = made[1] - made[0]
            certain = bool(((gap >= 0) & (gap <= latency)).all())
        else:
            certain = len(early) == len(late) and _each_within(early, late, latency)
        if certain:
            # each due read from either end pairs with its own (_pair would pair them one by one): all certain
            if len(spans) == 1:  # in order already (ticks rise), no row made
                counted = [True] * len(early) if cut is None else list(map(operator.le, early, repeat(cut)))
                columns = (early, [0] * len(early), counted, late)
                arrays = made
            else:
                expected = repeat(True) if cut is None else map(operator.le, early, repeat(cut))
                dues.extend(zip(early, repeat(i), expected, late))
        else:
            for due, latest, world in _pair(early, late, latency, limit):
                if world:
                    worlds[due] = world
                dues.append((due, i, not world and (cut is None or due <= cut), latest))
        if final and beyond is None and (len(dues) > before or (columns is not None and len(early) > 0)):  # it has dues
            ends = [job_continuation(span.plan, span.created_ns, early[-1])] if early else []
            if late:
                ends.append(job_continuation(span.plan, late_from, late[-1]))
            continuation = max((e for e in ends if e is not None), default=None)
            continuation_from = min((e for e in ends if e is not None), default=None)
    if columns is None:
        dues.sort()
        rows = zip(*dues, strict=True)
        columns = (list(next(rows)), list(next(rows)), list(next(rows)), list(next(rows))) if dues else ([], [], [], [])
    return SpanDues(columns, beyond, continuation, dropped, continuation_from, worlds, arrays)


def _each_within(early: list[int], late: list[int], latency: int) -> bool:
    """Whether each of ``late`` lies within ``latency`` at or after the ``early`` one in the same place (the same
    length): ``all(e <= t <= e + latency ...)``, one C-level pass per bound (a long job has thousands)."""
    return all(map(operator.le, early, late)) and all(map(operator.le, late, map(operator.add, early, repeat(latency))))


def _pair(early: list[int], late: list[int], latency: int, limit: int) -> list[tuple[int, int, int]]:
    """Each due computed from the earliest creation paired with the same occurrence computed from the latest (no
    later than ``latency`` after it). Unpaired dues of either list, up to ``limit``, are uncertain. Each comes as
    (earliest due, latest due, world): world 0 when certain, 1 when only the early list has it, 2 only the late."""
    out: list[tuple[int, int, int]] = []
    j = 0
    for due in early:
        while j < len(late) and late[j] < due:
            out.append((late[j], late[j], 2))
            j += 1
        if j < len(late) and late[j] <= due + latency:
            out.append((due, late[j], 0))
            j += 1
        else:
            out.append((due, due, 1))
    out.extend((d, d, 2) for d in late[j:] if d <= limit)
    return out
