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

from collections import defaultdict
from dataclasses import dataclass

from harness.binding_oracle import check_binding
from harness.claims import ActionResult, check_actions
from harness.evidence import DEFAULT_DELETE_GRACE_NS, DEFAULT_EARLY_TOLERANCE_NS, CheckInput
from harness.job_oracle import check_job, group_operations
from harness.model import Delivery, SourceKind, SourceResult, Verdict, Witness
from harness.tally import MAX_WITNESSES, RANK, Tally, iso, lateness_of, per_replica

__all__ = [
    "DEFAULT_DELETE_GRACE_NS",
    "DEFAULT_EARLY_TOLERANCE_NS",
    "MAX_WITNESSES",
    "CheckInput",
    "CheckResult",
    "check",
    "lateness_of",
]


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
    ops = group_operations(inp.operations)

    results: list[SourceResult] = []
    planned: set[tuple[SourceKind, str]] = set()
    for job in inp.jobs:
        planned.add(("jobs", job.name))
        results.append(check_job(job, by_source.get(("jobs", job.name), []), ops, inp))
    for binding in inp.bindings:
        planned.add(("binding", binding.name))
        results.append(check_binding(binding, by_source.get(("binding", binding.name), []), inp))
    for key in sorted(k for k in by_source if k not in planned):
        results.append(_unplanned(key[0], key[1], by_source[key], inp))

    notes = [
        f"early tolerance {inp.early_tolerance_ns / 1e6:g} ms; observed {iso(inp.observe_start_ns)} to "
        f"{iso(inp.observe_end_ns)}; {inp.replicas} replica(s)"
    ]
    notes += [f"ledger gap: {gap}" for gap in inp.ledger_gaps]
    actions = check_actions(inp.actions, inp.operations)
    if not results:
        notes.append("nothing was planned and nothing was delivered: no source to judge")
        return CheckResult((), "unknown", tuple(notes), actions)
    verdict = max((*(r.verdict for r in results), *(a.verdict for a in actions)), key=RANK.__getitem__)
    return CheckResult(tuple(results), verdict, tuple(notes), actions)


def _unplanned(source: SourceKind, name: str, ds: list[Delivery], inp: CheckInput) -> SourceResult:
    tally = Tally(deliveries=len(ds), spurious=len(ds))
    what = "job" if source == "jobs" else "binding"
    tally.notes.append(f"no {what} named {name!r} was planned: every delivery is spurious")
    for d in ds:
        tally.witness(Witness("spurious", source, name, None, (d,), f"unplanned {what}, replica {d.replica}"))
    return tally.result(source, name, "contract", inp, per_replica(ds, inp))
