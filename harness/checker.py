"""The oracle: turn what was planned, what the harness did and what the apps received into a verdict per source.

``check(CheckInput) -> CheckResult`` is a pure function (no I/O, no clock). Policies are the ones in DESIGN.md
"The oracle"; when an occurrence is due comes from ``harness.ticks`` (Dapr's own rules, cited there).

Glossary
========

source
    One planned Jobs API job (``JobPlan``) or one cron binding (``BindingPlan``); one ``SourceResult`` each.
    Deliveries whose name matches no plan get a synthetic row of their own (policy "contract", occurrences 0,
    every delivery *spurious*, verdict fail): an unplanned trigger reaching the app is a finding, not noise.
creation time
    Of a job: the ``at_ns`` of the *invoke* row of its first schedule operation that did not end in ``fail``
    (conservative: Dapr's clock read happens later, so due times computed from it are never later than Dapr's and
    no delivery is wrongly called early). All schedule ops ``fail``: no delivery is expected. Only ``info``
    outcomes (may or may not exist) and nothing delivered: *unknown*.
overwrite
    A later schedule call of the same job that ended ``ok`` (``overwrite: true``) replaces its plan
    (``harness.overwrites``): occurrences after the overwrite come from the new fields (``CheckInput.op_plans``),
    created at that call's invoke time; the old plan's occurrences due after the call's ``ok`` are not expected,
    and those due within the *delete grace* before its invoke are not counted (matched if delivered). After the
    overwrite, a delivery that fits no occurrence and comes at or after the old plan's next due time is
    *spurious*. A re-schedule that ``fail``s (409 without ``overwrite``) changes nothing; one with an unknown
    outcome makes the job *unknown*.
action
    A job call the scenario makes mid-run (``actions:``; ``harness.claims``). One ``ActionResult`` each, with the
    HTTP status it got; an action with ``expect_status`` fails the run when the status differs, and makes it
    *unknown* when no status was recorded.
deleted
    A delete op of the job that ended ``ok``: the job is gone at the ``ok`` row's time, and a later delivery that
    fits no occurrence is *spurious*, as is any delivery more than the *delete grace* after it (a deleted job has
    no trigger left to send, so it cannot be a late attempt of an occurrence due before the delete). Occurrences
    due within the *delete grace* before the delete's invoke, or later, are not expected (not counted, never
    missed, but matched if delivered). A delete that ended ``info``
    (or has no outcome row) may not have happened: deliveries that fit the schedule are taken as normal
    attempts, and only one that fits nothing, after its invoke, is spurious.
delete grace
    ``delete_grace_ns``, default 1 s, or the schedule call's own latency if longer: a trigger due just before a
    delete may still be queued in the scheduler (Dapr sets no ceiling on lateness) when the delete removes it, and
    a relative schedule's due times are only known to within the schedule call's latency. The runner deletes
    every job right at ``observe_end``, so the last second of the window is not counted for jobs.
occurrence (jobs)
    One due time of a job (``ticks.job_occurrences``); the unit of accounting is (job, occurrence) across all
    replicas. *Counted* occurrences are due at or before ``observe_end_ns`` and before the delete grace; later
    ones may still receive deliveries (they are matched, so they are not anomalies) but are not counted. An
    ``@every`` job whose schedule call took longer than about a period can be mis-matched (its real due times
    trail the computed ones by that latency): the source then carries a note.
tick / occurrence (binding)
    One firing time of a cron binding. Aligned schedules (cron, @hourly, ...) tick on the UTC wall clock; for
    ``@every d`` each replica's phase is inferred from its own deliveries (first delivery, then re-anchored on
    every delivery: kit's constant-delay cron schedules ``wake + d``, so the phase drifts slowly later).
    Contract: the unit is (replica, tick) over each replica's window; exactly-once: the unit is the tick, across
    replicas (for ``@every``: the grid of the replica that delivered first, each delivery in the period that
    starts at or before it).
edge margin
    Binding ticks within one period of either end of ``ReplicaWindow ∩ [observe_start, observe_end]`` are not
    counted, nor the deliveries assigned to them (the cron starts and stops around the window's edges).
attempt
    A delivery assigned to an occurrence. Jobs: walking the job's deliveries in received order, each goes to the
    earliest occurrence that is not closed and whose due <= received + early tolerance (triggers of one job are
    strictly sequential in Dapr: go-etcd-cron v0.12.6 README "Counter"). When several occurrences are due and
    none has had an attempt, the oldest may have been *missed* (a lost trigger) or the scheduler may be catching
    up: ``harness.matching.choose_skips`` decides, over the whole history, the reading with the fewest anomalies
    (then the least lateness), so a long catch-up burst is late, not missed, and an on-time delivery after a lost
    trigger is on time. Binding: each delivery goes to the latest tick <= received + early
    tolerance of its replica (``@every``: the nearest tick of its replica's chain).
success
    A job attempt answered 2xx, or 404 (Dapr treats 404 as success, no retry: dapr v1.18.3
    ``pkg/runtime/scheduler/internal/cluster/streamer.go``). Anything else is a failed attempt.
closed
    An occurrence with a successful attempt, or with ``max_attempts`` failed attempts (``FailurePolicy``; drop = 1;
    Dapr's default constant 1 s x 3 retries = 4; retry-forever never closes by failure).
retry
    An attempt on an occurrence that already had a failed attempt. Counted apart; not an anomaly. Binding
    deliveries are never retried (a failed one is final), so bindings have no retries.
duplicate
    Jobs: a delivery after its occurrence closed (a second success, or a delivery after the failure policy gave
    up), before the next occurrence is due. Witness: the closing attempt and the duplicate, their replicas and the
    gap in ms. Binding contract: every delivery beyond the first on one (replica, tick); binding exactly-once:
    ``sum(max(0, n - 1))`` over ticks, n = deliveries from all replicas (witness: the replicas and their spread).
early
    A delivery before its occurrence was due (minus the early tolerance): always a violation. Jobs: a delivery
    before the first occurrence is due, or a "duplicate" of occurrence k when occurrence k+1 is counted and never
    got a delivery (it fired before its due; the last such duplicate is re-labelled early for k+1). Binding (aligned
    only): the same re-labelling for a tick with >= 2 deliveries followed by a tick with none, when the extra
    delivery is past the midpoint between the two ticks. An early delivery stands in for its occurrence: that
    occurrence is not also missed.
spurious
    A job delivery that fits no occurrence and arrives after the job was deleted, after the schedule call failed,
    at the old plan's cadence after an overwrite, or once its repeats/ttl ran out and the time it would next have
    fired (``ticks.job_continuation``) has come; and every delivery of an unplanned name.
missed
    A counted occurrence (jobs) or counted (replica, tick) / tick (binding) with no attempt and no early fire.
lateness
    ``received - due`` of the first attempt of each counted occurrence (binding: first delivery of each counted
    unit, aligned schedules only; ``@every`` phases are inferred, so no lateness), in ms; p50/p95/p99/max by
    linear interpolation between closest ranks; None when there is none.
early tolerance
    ``early_tolerance_ns``, default 5 ms: a delivery up to this much before its due is on time. Every process
    shares the host clock, but Go timers run on the monotonic clock while due times are wall-clock, and NTP may
    slew the wall clock by up to 500 ppm (5 ms over a 10 s wait); 5 ms is also below 1 % of a 500 ms ``@every``.
deliveries (figure)
    The deliveries counted against occurrences: attempts on counted occurrences, every duplicate, early and
    spurious delivery. Attempts on uncounted occurrences (after ``observe_end``, after a delete, binding edge
    ticks, replicas without a window under contract) are left out, so ``deliveries / occurrences`` reads 1.00
    for a clean run; ``per_replica`` counts every delivery of the source.
occurrences (figure)
    Jobs: counted occurrences. Bindings: counted ticks, so with N replicas a binding under the contract policy reads
    N deliveries per occurrence (missed/duplicates are still judged per (replica, tick) unit; a note gives the
    number of units).
policy / verdict
    exactly-once fails on duplicates + missed + early + spurious > 0; contract fails on missed + early + spurious
    (duplicates reported, not failed). Either fails when lateness p99 exceeds ``lateness_p99_ms``. Anomalies on
    uncounted job occurrences (a duplicate during quiesce) count too: they are evidence all the same. *unknown*
    (when nothing fails): a job whose schedule outcome is unknown, or whose schedule call failed, and that got
    nothing; a job with no schedule operation recorded; a plan Dapr would refuse; or a source with zero counted
    occurrences (the note says why). The run's verdict is the worst of its sources and its actions (fail >
    unknown > pass).
witness
    Evidence for one anomaly (``model.Witness``). At most 20 per source, shared round-robin among kinds (early,
    spurious, missed, duplicate, retry) so every kind shows; the counts are always exact.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from harness.claims import ActionClaim, ActionResult, check_actions
from harness.matching import choose_skips
from harness.model import (
    DEFAULT_FAILURE_POLICY,
    NS,
    BindingPlan,
    Delivery,
    JobPlan,
    Lateness,
    Operation,
    OpPhase,
    Policy,
    ReplicaWindow,
    SourceKind,
    SourceResult,
    Verdict,
    Witness,
)
from harness.overwrites import ScheduleCall, plan_spans, span_dues
from harness.ticks import (
    EverySchedule,
    ScheduleError,
    binding_ticks,
    parse_schedule,
    schedule_period_ns,
)

DEFAULT_EARLY_TOLERANCE_NS = 5_000_000
DEFAULT_DELETE_GRACE_NS = NS
MAX_WITNESSES = 20
_RANK: dict[Verdict, int] = {"pass": 0, "unknown": 1, "fail": 2}
WitnessKind = Literal["duplicate", "missed", "early", "spurious", "retry", "ambiguous"]
_WITNESS_ORDER: tuple[WitnessKind, ...] = ("ambiguous", "early", "spurious", "missed", "duplicate", "retry")


@dataclass(frozen=True, slots=True)
class CheckInput:
    """Everything the oracle judges. Times are int ns since the epoch on the host clock."""

    jobs: Sequence[JobPlan]
    bindings: Sequence[BindingPlan]
    deliveries: Sequence[Delivery]
    operations: Sequence[Operation]
    windows: Sequence[ReplicaWindow]
    observe_start_ns: int
    observe_end_ns: int  # occurrences due later are not expected; deliveries until the end of quiesce count
    replicas: int
    side_effects: Mapping[tuple[str, str], Mapping[str, int]] = field(default_factory=dict)  # (source, name) ->
    lateness_p99_ms: float | None = None
    early_tolerance_ns: int = DEFAULT_EARLY_TOLERANCE_NS
    delete_grace_ns: int = DEFAULT_DELETE_GRACE_NS
    op_plans: Mapping[str, JobPlan] = field(default_factory=dict)  # schedule op_id -> the plan it asked for
    actions: Sequence[ActionClaim] = ()  # the scenario's mid-run job actions, with their calls' op_ids


@dataclass(frozen=True, slots=True)
class CheckResult:
    sources: tuple[SourceResult, ...]
    verdict: Verdict
    notes: tuple[str, ...]
    actions: tuple[ActionResult, ...] = ()


def check(inp: CheckInput) -> CheckResult:
    """Judge every planned source (and every unplanned name that received deliveries)."""
    by_source: dict[tuple[SourceKind, str], list[Delivery]] = defaultdict(list)
    for d in inp.deliveries:
        by_source[(d.source, d.name)].append(d)
    for ds in by_source.values():
        ds.sort(key=lambda d: (d.received_ns, d.delivery_id))
    ops = _group_operations(inp.operations)

    results: list[SourceResult] = []
    planned: set[tuple[SourceKind, str]] = set()
    for job in inp.jobs:
        planned.add(("jobs", job.name))
        results.append(_check_job(job, by_source.get(("jobs", job.name), []), ops, inp))
    for binding in inp.bindings:
        planned.add(("binding", binding.name))
        results.append(_check_binding(binding, by_source.get(("binding", binding.name), []), inp))
    for key in sorted(k for k in by_source if k not in planned):
        results.append(_unplanned(key[0], key[1], by_source[key], inp))

    notes = [
        f"early tolerance {inp.early_tolerance_ns / 1e6:g} ms; observed {_iso(inp.observe_start_ns)} to "
        f"{_iso(inp.observe_end_ns)}; {inp.replicas} replica(s)"
    ]
    actions = check_actions(inp.actions, inp.operations)
    if not results:
        notes.append("nothing was planned and nothing was delivered: no source to judge")
        return CheckResult((), "unknown", tuple(notes), actions)
    verdict = max((*(r.verdict for r in results), *(a.verdict for a in actions)), key=_RANK.__getitem__)
    return CheckResult(tuple(results), verdict, tuple(notes), actions)


# --- shared bits ---------------------------------------------------------------------------------------------


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns // NS, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % NS // 1_000_000:03d}Z"


def _ms(ns: int) -> str:
    return f"{ns / 1e6:.1f} ms"


def _percentile(sorted_values: Sequence[float], p: float) -> float:
    rank = p / 100 * (len(sorted_values) - 1)
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def lateness_of(values_ns: Iterable[int]) -> Lateness:
    """Percentiles (linear interpolation between closest ranks) of lateness values, in ms."""
    ms = sorted(v / 1e6 for v in values_ns)
    if not ms:
        return Lateness(None, None, None, None)
    return Lateness(_percentile(ms, 50), _percentile(ms, 95), _percentile(ms, 99), ms[-1])


def _success(d: Delivery) -> bool:
    return d.status is not None and (200 <= d.status < 300 or d.status == 404)


def _closes(d: Delivery) -> bool:
    """The attempt ends its occurrence: a success, or a cut-off delivery (it reached business logic, so whatever
    Dapr sends for that occurrence next is a duplicate, not a retry)."""
    return d.cut_off or _success(d)


def _replica_list(ds: Iterable[Delivery]) -> str:
    return ", ".join(str(r) for r in sorted({d.replica for d in ds}))


@dataclass
class _Tally:
    """Mutable figures for one source while it is being judged."""

    occurrences: int = 0
    deliveries: int = 0
    duplicates: int = 0
    retries: int = 0
    missed: int = 0
    early: int = 0
    spurious: int = 0
    lateness_ns: list[int] = field(default_factory=list)
    lateness_samples: list[tuple[int, Delivery]] = field(default_factory=list)  # (due, its first delivery)
    witnesses: dict[WitnessKind, list[Witness]] = field(default_factory=lambda: defaultdict(list))
    notes: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # reasons the verdict cannot be pass

    def witness(self, w: Witness) -> None:
        self.witnesses[w.kind].append(w)

    def late(self, due_ns: int, first: Delivery) -> None:
        self.lateness_ns.append(first.received_ns - due_ns)
        self.lateness_samples.append((due_ns, first))

    def chosen_witnesses(self) -> tuple[Witness, ...]:
        queues = [sorted(self.witnesses[k], key=_witness_time) for k in _WITNESS_ORDER]
        total = sum(len(q) for q in queues)
        chosen: list[Witness] = []
        depth = 0
        while len(chosen) < min(total, MAX_WITNESSES):
            for q in queues:
                if depth < len(q) and len(chosen) < MAX_WITNESSES:
                    chosen.append(q[depth])
            depth += 1
        if total > len(chosen):
            self.notes.append(f"showing {len(chosen)} of {total} witnesses (the counts are exact)")
        return tuple(sorted(chosen, key=_witness_time))

    def result(
        self,
        source: SourceKind,
        name: str,
        policy: Policy,
        inp: CheckInput,
        per_replica: dict[int, int],
    ) -> SourceResult:
        lateness = lateness_of(self.lateness_ns)
        anomalies = self.missed + self.early + self.spurious + (self.duplicates if policy == "exactly-once" else 0)
        verdict: Verdict = "pass"
        if anomalies:
            verdict = "fail"
        if inp.lateness_p99_ms is not None and lateness.p99 is not None and lateness.p99 > inp.lateness_p99_ms:
            verdict = "fail"
            self.notes.append(f"lateness p99 {lateness.p99:.1f} ms is over the {inp.lateness_p99_ms:g} ms threshold")
        if verdict == "pass" and self.unknown:
            verdict = "unknown"
        witnesses = self.chosen_witnesses()
        return SourceResult(
            source=source,
            name=name,
            policy=policy,
            replicas=inp.replicas,
            occurrences=self.occurrences,
            deliveries=self.deliveries,
            duplicates=self.duplicates,
            retries=self.retries,
            missed=self.missed,
            early=self.early,
            spurious=self.spurious,
            lateness_ms=lateness,
            per_replica=per_replica,
            side_effects=dict(inp.side_effects.get((source, name), {})),
            verdict=verdict,
            witnesses=witnesses,
            notes=(*self.unknown, *self.notes),
            lateness_samples=tuple(sorted(self.lateness_samples, key=lambda x: (x[0], x[1].received_ns))),
        )


def _witness_time(w: Witness) -> int:
    if w.due_ns is not None:
        return w.due_ns
    return w.deliveries[0].received_ns if w.deliveries else 0


def _per_replica(ds: Sequence[Delivery], inp: CheckInput) -> dict[int, int]:
    counts = dict.fromkeys(sorted({w.replica for w in inp.windows}), 0)
    for d in ds:
        counts[d.replica] = counts.get(d.replica, 0) + 1
    return dict(sorted(counts.items()))


def _unplanned(source: SourceKind, name: str, ds: list[Delivery], inp: CheckInput) -> SourceResult:
    tally = _Tally(deliveries=len(ds), spurious=len(ds))
    what = "job" if source == "jobs" else "binding"
    tally.notes.append(f"no {what} named {name!r} was planned: every delivery is spurious")
    for d in ds:
        tally.witness(Witness("spurious", source, name, None, (d,), f"unplanned {what}, replica {d.replica}"))
    return tally.result(source, name, "contract", inp, _per_replica(ds, inp))


# --- operations ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Op:
    start_ns: int  # the invoke row's time (the outcome row's if no invoke was recorded)
    outcome: OpPhase | None  # ok / fail / info, None when only the invoke was recorded
    outcome_ns: int | None
    op_id: str = ""
    status: int | None = None  # the HTTP status of the outcome, when Dapr answered


def _group_operations(operations: Sequence[Operation]) -> dict[tuple[str, str], list[_Op]]:
    rows: dict[str, list[Operation]] = defaultdict(list)
    for op in operations:
        rows[op.op_id].append(op)
    grouped: dict[tuple[str, str], list[_Op]] = defaultdict(list)
    for group in rows.values():
        invokes = [o.at_ns for o in group if o.phase == "invoke"]
        outcomes = sorted((o for o in group if o.phase != "invoke"), key=lambda o: o.at_ns)
        outcome = outcomes[-1] if outcomes else None
        start = min(invokes) if invokes else min(o.at_ns for o in group)
        status = None if outcome is None else outcome.detail.get("status")
        grouped[(group[0].kind, group[0].name)].append(
            _Op(
                start,
                None if outcome is None else outcome.phase,
                None if outcome is None else outcome.at_ns,
                group[0].op_id,
                status if isinstance(status, int) else None,
            )
        )
    for ops in grouped.values():
        ops.sort(key=lambda o: o.start_ns)
    return grouped


# --- the jobs oracle -----------------------------------------------------------------------------------------


@dataclass
class _Occ:
    due: int
    counted: bool
    attempts: list[Delivery] = field(default_factory=list)
    failures: int = 0
    closed: bool = False
    duplicates: list[Delivery] = field(default_factory=list)
    early: list[Delivery] = field(default_factory=list)
    span: int = 0  # which plan span (harness.overwrites) it comes from


def _check_job(
    job: JobPlan, ds: list[Delivery], ops: dict[tuple[str, str], list[_Op]], inp: CheckInput
) -> SourceResult:
    tally = _Tally()
    per_replica = _per_replica(ds, inp)
    tol = inp.early_tolerance_ns

    def spurious(d: Delivery, why: str) -> None:
        tally.spurious += 1
        tally.deliveries += 1
        tally.witness(Witness("spurious", "jobs", job.name, None, (d,), f"replica {d.replica}: {why}"))

    schedules = ops.get(("schedule", job.name), [])
    live = [o for o in schedules if o.outcome != "fail"]
    if not schedules:
        tally.deliveries = len(ds)
        tally.unknown.append("no schedule operation was recorded for this job: its occurrences cannot be computed")
        return tally.result("jobs", job.name, job.policy, inp, per_replica)
    if not live:
        for d in ds:
            spurious(d, "the schedule call failed, so no delivery was expected")
        if not ds:
            tally.unknown.append("the schedule call failed and nothing was delivered: nothing to judge")
        return tally.result("jobs", job.name, job.policy, inp, per_replica)
    created = live[0].start_ns
    if not any(o.outcome == "ok" for o in live) and not ds:
        tally.unknown.append("the schedule call's outcome is unknown and nothing was delivered: the job may not exist")
        return tally.result("jobs", job.name, job.policy, inp, per_replica)

    deletes = [o for o in ops.get(("delete", job.name), []) if o.outcome != "fail" and o.start_ns >= created]
    confirmed = [o.outcome_ns for o in deletes if o.outcome == "ok" and o.outcome_ns is not None]
    deleted_ok = min(confirmed) if confirmed else None
    deleted_at = deleted_ok if deleted_ok is not None else (deletes[0].start_ns if deletes else None)
    stop_counting = None
    if deletes:
        grace = max(inp.delete_grace_ns, (live[0].outcome_ns or live[0].start_ns) - live[0].start_ns)
        stop_counting = deletes[0].start_ns - grace

    horizon = max(inp.observe_end_ns, ds[-1].received_ns + tol) if ds else inp.observe_end_ns
    if deleted_ok is not None:
        horizon = min(horizon, deleted_ok)
    counted_until = inp.observe_end_ns if stop_counting is None else min(inp.observe_end_ns, stop_counting)
    calls = [ScheduleCall(o.op_id, o.start_ns, o.outcome, o.outcome_ns, o.status) for o in schedules]
    first_delete = deletes[0].start_ns if deletes else None
    spans = plan_spans(job, calls, inp.op_plans, inp.delete_grace_ns, first_delete, _iso)
    tally.notes.extend(spans.notes)
    tally.unknown.extend(spans.unknown)
    last_plan = spans.spans[-1].plan
    try:
        planned = span_dues(spans.spans, horizon)
    except ScheduleError as e:
        tally.deliveries = len(ds)
        tally.unknown.append(f"cannot compute the job's occurrences: {e}")
        return tally.result("jobs", job.name, job.policy, inp, per_replica)
    dues = [due for due, _, _ in planned.dues]
    beyond = planned.beyond  # the first due after the horizon, None when the schedule has ended
    finished = beyond is None  # the schedule ended (repeats, ttl, one-shot) within the horizon
    continuation = planned.continuation

    occ = [_Occ(due, counted and due <= counted_until, span=k) for due, k, counted in planned.dues]
    first_plan = spans.spans[0].plan
    schedule_latency = (live[0].outcome_ns or live[0].start_ns) - live[0].start_ns
    if len(dues) > 1 and first_plan.due_time is None and schedule_latency > (dues[1] - dues[0]) // 4:
        tally.notes.append(
            f"the schedule call took {_ms(schedule_latency)}, over a quarter of the period: due times are computed "
            "from its start, so matching deliveries to occurrences may be off"
        )
    policy = job.failure_policy or DEFAULT_FAILURE_POLICY
    max_attempts = policy.max_attempts
    n = len(occ)
    skips = choose_skips(
        dues, [o.counted for o in occ], [d.received_ns for d in ds], [_closes(d) for d in ds], tol, max_attempts
    )
    cur = 0
    for i, d in enumerate(ds):
        r = d.received_ns
        if deleted_ok is not None and r > deleted_ok + inp.delete_grace_ns:
            spurious(d, f"after the job was deleted at {_iso(deleted_ok)}")  # nothing of it is left to send
            continue
        while cur < n and occ[cur].closed:
            cur += 1
        if cur < n and occ[cur].failures > 0:  # sequential triggers: the open, failing occurrence is retried
            _attempt(occ[cur], d, max_attempts)
            continue
        last_due = bisect.bisect_right(dues, r + tol) - 1
        if cur < n and last_due >= cur:
            for _ in range(skips.get(i, 0)):
                occ[cur].closed = True  # skipped: no attempt, so missed if counted
                cur += 1
            _attempt(occ[cur], d, max_attempts)
            continue
        # no occurrence is open and due
        latest_closed = next((k for k in range(min(cur, n) - 1, -1, -1) if occ[k].attempts), None)
        old_next = None if latest_closed is None else planned.dropped.get(occ[latest_closed].span)
        if deleted_at is not None and r > deleted_at:
            if deleted_ok is not None:
                spurious(d, f"after the job was deleted at {_iso(deleted_at)}")
            else:
                spurious(d, f"after the delete call at {_iso(deleted_at)} (outcome unknown); fits no occurrence")
        elif latest_closed is not None and old_next is not None and r + tol >= old_next:
            replaced = spans.spans[occ[latest_closed].span].replaced_ns or 0
            spurious(
                d,
                f"fits neither plan: the job was overwritten at {_iso(replaced)} and the old plan would next have "
                f"fired at {_iso(old_next)}",
            )
        elif latest_closed is None:
            if cur < n:
                occ[cur].early.append(d)
            elif beyond is not None:
                _early_witness(tally, job.name, d, beyond)
                tally.early += 1
                tally.deliveries += 1
            else:
                spurious(d, "the job's schedule has no occurrence (its ttl ends before the first tick)")
        elif finished and cur >= n and continuation is not None and r + tol >= continuation:
            ran_out = (
                last_plan.repeats is not None and sum(1 for o in occ if o.span == occ[-1].span) >= last_plan.repeats
            )
            why = "repeats ran out" if ran_out else "its ttl ran out"
            spurious(d, f"after the job ended ({why}); it would next have fired at {_iso(continuation)}")
        else:
            occ[latest_closed].duplicates.append(d)

    # A "duplicate" of k followed by k+1 (expected) never getting a delivery: it was k+1 firing before its due.
    for k in range(n - 1):
        nxt = occ[k + 1]
        if occ[k].duplicates and nxt.counted and not nxt.attempts and not nxt.early and occ[k].span == nxt.span:
            candidates = [d for d in occ[k].duplicates if d.received_ns + tol < nxt.due]
            if candidates:
                occ[k].duplicates.remove(candidates[-1])
                nxt.early.append(candidates[-1])

    for o in occ:
        for d in o.early:
            _early_witness(tally, job.name, d, o.due)
        tally.early += len(o.early)
        tally.duplicates += len(o.duplicates)
        tally.deliveries += len(o.early) + len(o.duplicates)
        if len(o.attempts) > 1:
            tally.retries += len(o.attempts) - 1
            statuses = ", ".join(str(a.status) for a in o.attempts)
            tally.witness(
                Witness("retry", "jobs", job.name, o.due, tuple(o.attempts), f"{len(o.attempts)} attempts: {statuses}")
            )
        closing = o.attempts[-1] if o.attempts else None
        for dup in o.duplicates:
            shown = (dup,) if closing is None else (closing, dup)
            gap = "" if closing is None else f", {_ms(dup.received_ns - closing.received_ns)} after the first"
            tally.witness(Witness("duplicate", "jobs", job.name, o.due, shown, f"replicas {_replica_list(shown)}{gap}"))
        if not o.counted:
            continue
        tally.occurrences += 1
        tally.deliveries += len(o.attempts)
        if o.attempts:
            tally.late(o.due, o.attempts[0])
        elif not o.early:
            tally.missed += 1
            tally.witness(Witness("missed", "jobs", job.name, o.due, (), f"nothing delivered for {_iso(o.due)}"))

    if stop_counting is not None:
        delete_invoke = deletes[0].start_ns
        in_grace = sum(1 for o in occ if stop_counting < o.due <= min(inp.observe_end_ns, delete_invoke))
        if in_grace:
            tally.notes.append(
                f"{in_grace} occurrence(s) due in the {_ms(delete_invoke - stop_counting)} before the delete call "
                "are not counted: the delete may remove a trigger still queued"
            )
    if tally.occurrences == 0 and deleted_ok is not None:
        # deleted before an occurrence could be counted (the load does this): what is left to judge is that
        # nothing fired after the delete
        tally.notes.append(
            f"deleted {_ms(deletes[0].start_ns - created)} after its creation, before any occurrence could be "
            "counted: judged only on deliveries after the delete"
        )
    elif tally.occurrences == 0:
        tally.unknown.append(
            f"no occurrence was due between the job's creation ({_iso(created)}) and "
            f"{_iso(counted_until)}: nothing to count"
        )
    return tally.result("jobs", job.name, job.policy, inp, per_replica)


def _attempt(o: _Occ, d: Delivery, max_attempts: int | None) -> None:
    o.attempts.append(d)
    if _closes(d):
        o.closed = True
    else:
        o.failures += 1
        if max_attempts is not None and o.failures >= max_attempts:
            o.closed = True


def _early_witness(tally: _Tally, name: str, d: Delivery, due: int) -> None:
    tally.witness(
        Witness("early", "jobs", name, due, (d,), f"replica {d.replica}, {_ms(due - d.received_ns)} before its due")
    )


# --- the binding oracle --------------------------------------------------------------------------------------


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


def _every_chain(received: list[int], delay: int) -> tuple[list[int], list[int]]:
    """A replica's ``@every`` ticks inferred from its deliveries (sorted), and the tick index of each delivery.

    The first delivery is tick 0; each later one is ``round(gap / delay)`` ticks after the last tick (0: the same
    tick) and re-anchors the chain, so the slow drift of kit's ``wake + d`` rescheduling is followed.
    """
    ticks = [received[0]]
    index = [0]
    for x in received[1:]:
        last = ticks[-1]
        steps = (x - last + delay // 2) // delay
        if steps > 0:
            ticks.extend(last + k * delay for k in range(1, steps))
            ticks.append(x)
        index.append(len(ticks) - 1)
    return ticks, index


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


def _check_binding(plan: BindingPlan, ds: list[Delivery], inp: CheckInput) -> SourceResult:
    tally = _Tally()
    per_replica = _per_replica(ds, inp)
    tol = inp.early_tolerance_ns
    try:
        schedule = parse_schedule(plan.schedule, "binding")
    except ScheduleError as e:
        tally.deliveries = len(ds)
        tally.unknown.append(f"cannot compute the binding's ticks: {e}")
        return tally.result("binding", plan.name, plan.policy, inp, per_replica)
    period = schedule_period_ns(schedule, inp.observe_start_ns)
    intervals = _windows_by_replica(inp, period)
    if not inp.windows:
        tally.notes.append("no replica windows were recorded")
    by_replica: dict[int, list[Delivery]] = defaultdict(list)
    for d in ds:
        by_replica[d.replica].append(d)
    lo = min([inp.observe_start_ns, *(d.received_ns for d in ds)]) - 2 * period
    hi = max([inp.observe_end_ns, *(d.received_ns for d in ds)]) + 2 * period

    # (replica, tick) -> deliveries, and each replica's tick list (for "the next tick")
    assigned: dict[tuple[int, int], list[Delivery]] = defaultdict(list)
    grids: dict[int, list[int]] = {}
    every = isinstance(schedule, EverySchedule)
    if isinstance(schedule, EverySchedule):
        tally.notes.append("@every: each replica's phase is inferred from its deliveries, so lateness is not measured")
        for replica in sorted(set(intervals) | set(by_replica)):
            mine = by_replica.get(replica, [])
            if mine:
                ticks, index = _every_chain([d.received_ns for d in mine], schedule.delay_ns)
                for d, k in zip(mine, index, strict=True):
                    assigned[(replica, ticks[k])].append(d)
                grids[replica] = _extend(ticks, schedule.delay_ns, lo, hi)
            else:
                start = min((a for a, _ in intervals.get(replica, [])), default=inp.observe_start_ns)
                grids[replica] = binding_ticks(plan.schedule, start, hi)
    else:
        grid = binding_ticks(plan.schedule, lo, hi)
        for replica in sorted(set(intervals) | set(by_replica)):
            grids[replica] = grid
        for d in ds:
            k = bisect.bisect_right(grid, d.received_ns + tol) - 1
            if k >= 0:
                assigned[(d.replica, grid[k])].append(d)

    if plan.policy == "contract":
        units: list[tuple[int, list[int]]] = []  # (replica, its counted ticks)
        for replica, spans in sorted(intervals.items()):
            counted = [t for t in grids[replica] if _in_any(t, spans)]
            units.append((replica, counted))
        for replica in sorted(set(by_replica) - set(intervals)):
            tally.notes.append(
                f"replica {replica} delivered {len(by_replica[replica])} time(s) but has no window: not counted"
            )
        for replica, counted in units:
            counts = {t: assigned.get((replica, t), []) for t in counted}
            _judge_ticks(tally, plan, counts, grids[replica], every, f"replica {replica}")
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
        if every:
            firsts = sorted((ds_[0].received_ns, r) for r, ds_ in by_replica.items())
            ref = firsts[0][1] if firsts else min(intervals, default=0)
            grid = grids.get(ref) or binding_ticks(plan.schedule, inp.observe_start_ns, hi)
            grid = _extend(grid, period, lo, hi)
            assigned = defaultdict(list)
            for d in ds:
                k = bisect.bisect_right(grid, d.received_ns + tol) - 1
                if k >= 0:
                    assigned[(0, grid[k])].append(d)
        else:
            grid = grids[min(grids)] if grids else binding_ticks(plan.schedule, lo, hi)
            merged: dict[tuple[int, int], list[Delivery]] = defaultdict(list)
            for (_, t), got in assigned.items():
                merged[(0, t)].extend(got)
            for got in merged.values():
                got.sort(key=lambda d: (d.received_ns, d.delivery_id))
            assigned = merged
        spans = [s for ss in intervals.values() for s in ss]
        counted = [t for t in grid if _in_any(t, spans)]
        counts = {t: assigned.get((0, t), []) for t in counted}
        _judge_ticks(tally, plan, counts, grid, every, "")
        if tally.occurrences:
            tally.notes.append(f"{tally.deliveries / tally.occurrences:.2f} deliveries per tick across replicas")

    outside = len(ds) - tally.deliveries
    if outside > 0:
        tally.notes.append(f"{outside} delivery(ies) fell on edge or uncounted ticks: in per_replica only")
    if tally.occurrences == 0:
        tally.unknown.append(
            "no counted tick: the replica windows within the observation, less one period "
            f"({_ms(period)}) at each edge, hold none"
        )
    return tally.result("binding", plan.name, plan.policy, inp, per_replica)


def _judge_ticks(
    tally: _Tally,
    plan: BindingPlan,
    counts: dict[int, list[Delivery]],
    grid: list[int],
    every: bool,
    who: str,
) -> None:
    """Count one unit per counted tick: missed, duplicates, early (re-labelled), lateness."""
    prefix = f"{who}: " if who else ""
    moved: dict[int, Delivery] = {}  # tick -> its extra delivery re-labelled early for the next tick
    if not every:
        for t, got in counts.items():
            k = bisect.bisect_left(grid, t)
            nxt = grid[k + 1] if k + 1 < len(grid) else None
            if nxt is None or nxt not in counts or counts[nxt] or len(got) < 2:
                continue
            d = got[-1]
            if d.received_ns > (t + nxt) // 2:
                moved[t] = d
                tally.early += 1
                note = f"{prefix}replica {d.replica}, {_ms(nxt - d.received_ns)} before its tick"
                tally.witness(Witness("early", "binding", plan.name, nxt, (d,), note))
    early_ticks = {grid[bisect.bisect_left(grid, t) + 1] for t in moved}
    for t, got in counts.items():
        tally.occurrences += 1
        tally.deliveries += len(got)
        if not got:
            if t not in early_ticks:
                tally.missed += 1
                tally.witness(Witness("missed", "binding", plan.name, t, (), f"{prefix}nothing delivered"))
            continue
        if not every:
            tally.late(t, got[0])
        dups = [d for d in got if d is not moved.get(t)]
        if len(dups) > 1:
            tally.duplicates += len(dups) - 1
            spread = dups[-1].received_ns - dups[0].received_ns
            note = f"{prefix}{len(dups)} deliveries on replicas {_replica_list(dups)}, spread {_ms(spread)}"
            tally.witness(Witness("duplicate", "binding", plan.name, t, tuple(dups), note))
