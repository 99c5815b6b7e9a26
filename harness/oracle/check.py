"""The oracle: turn what was planned, what the harness did and what the apps received into a verdict per source.

``check(CheckInput) -> CheckResult`` is a pure function (no I/O, no clock). Policies and every word are defined in the
glossary below; when an occurrence is due comes from ``harness.oracle.ticks`` (Dapr's own rules, cited there). The jobs
oracle is ``harness.oracle.jobs`` (readings: ``harness.oracle.matching``, disagreement: ``harness.oracle.ambiguity``),
the binding oracle ``harness.oracle.bindings``, the shared figures ``harness.oracle.tally``.

Glossary
========

source
    One planned Jobs API job (``JobPlan``) or one cron binding (``BindingPlan``); one ``SourceResult`` each.
    Deliveries whose name matches no plan get a synthetic row of their own (policy "contract", occurrences 0,
    every delivery *spurious*, verdict fail): an unplanned trigger reaching the app is a finding, not noise.
delivery, cut off
    A request the app recorded on arrival (before any handler work) and, after the handler, its answer. One with an
    arrival and no answer is *cut off* (the app died, or the run ended, mid-handler): it reached business logic, so
    it counts as a delivery and closes its occurrence; whatever Dapr sends for that occurrence next is a duplicate.
creation time, uncertain due
    Dapr reads its clock for a job's creation somewhere between the schedule call's invoke and ok. Due times are
    computed from both ends (``harness.oracle.overwrites.span_dues``): one that exists either way is certain (early is
    judged against the earlier value, waits against the later); one that exists only one way (the first aligned
    tick inside the call, the tick repeats then adds at the end, the last tick before an absolute ttl) is
    *uncertain*: not counted, neither missed when absent nor spurious when present; the two kinds (early-only,
    late-only) never both exist, so no reading attempts both, and a delivery on a late-only due past the job's
    earliest end may as well be a fire after it: *unknown* (unless read early the job also lost its early-only
    tick). The deliveries narrow the span: every due of a plan moves with the one creation time and no first
    attempt comes before its due, so the latest dues are the earliest plus the smallest lead of a first attempt.
    A due that still lies across the end of counting is *doubtful*: not missed when absent, but then no *pass*.
    All schedule ops ``fail``: no delivery is expected. Only ``info`` outcomes and nothing delivered: *unknown*. A
    call slower than half a period leaves every due time too uncertain to match: *unknown*.
overwrite
    A later schedule call of the same job that ended ``ok`` (``overwrite: true``) replaces its plan
    (``harness.oracle.overwrites``): occurrences after the overwrite come from the new fields (``CheckInput.op_plans``);
    the old plan's occurrences due after the call's ``ok`` are not expected, those due within the *delete grace*
    before its invoke are not counted (matched if delivered). After the overwrite, a delivery that fits no
    occurrence and comes at or after the old plan's next due time is *spurious*. A re-schedule that ``fail``s (409
    without ``overwrite``) changes nothing; one with an unknown outcome makes the job *unknown*.
action
    A job call the scenario makes mid-run (``actions:``; ``harness.oracle.claims``). One ``ActionResult`` each, with the
    HTTP status it got; an action with ``expect_status`` fails the run when the status differs, and makes it
    *unknown* when no status was recorded.
deleted
    A delete op of the job that ended ``ok`` bounds the matching: a delivery that arrives after the ok never
    answers a counted occurrence. Within 50 ms of the ok (a trigger already on its way to the app) it may answer an
    occurrence that is not counted; later, it is *spurious*. Occurrences due within the *delete grace* before the
    delete's invoke, or later, are not expected (not counted, never missed, but matched if delivered). A delete that
    ended ``info`` may not have happened: only a delivery that fits nothing, after its invoke, is spurious.
delete grace
    ``delete_grace_ns``, default 1 s, or the schedule call's own latency if longer: a trigger due just before a
    delete may still be queued in the scheduler when the delete removes it. The runner deletes every job right at
    ``observe_end``, so the last second of the window is not counted for jobs.
occurrence (jobs)
    One due time of a job; the unit of accounting is (job, occurrence) across all replicas. *Counted* occurrences
    are certain, due at or before ``observe_end_ns`` and before the delete grace; others may still receive
    deliveries (matched, so not anomalies) but are not counted.
reading (jobs)
    Dapr sends no occurrence id, so which occurrence each delivery answered is inferred. go-etcd-cron sends a job's next
    trigger only once the previous one has a result (v0.12.6 README "Counter"), so deliveries answer occurrences in
    order; each delivery's *role* is open: first attempt of occurrence k (the ones skipped before it are lost), retry
    (after a failed answer), extra (a re-send of the last closed occurrence: a *duplicate*; or *spurious* after the job
    ended), or early first attempt. ``harness.oracle.matching`` searches every assignment and scores it in **units**:
    one per anomaly; one per *stall* (a delivery that came more than half a period after its role says it could first
    have been sent: a first attempt after the later of its due and the previous
    delivery's *answer* — the app's handler time counts —, a retry after that answer plus the retry interval, a
    re-send after that answer; a first attempt of a job idle at its due already past the pin window, unless two of
    its four nearest idle first attempts came as late, within the pin window: that is the path's delay, and moves
    its due); one per *coincidence* (a delivery within the pin window, ``min(half a period, 100 ms)``, after a due
    time at which the job was idle, read as anything but that occurrence's first attempt or a re-send of it); one
    more for an early fire over half a period before its due. A hard rule comes from the
    answers: a delivery that arrives before the previous one was answered (beyond the early tolerance) is a
    re-send of the same occurrence. The counts are the cheapest reading's (ties: fewer anomalies, then less
    lateness).
ambiguous, about equally well
    Readings that explain the deliveries about equally well: the same units as the best; one unit more where
    either reading has the job *disturbed*; two more inside the best reading's disturbed stretch for a rival that
    differs by cancelling pairs only (as many more, or fewer, lost occurrences as extra deliveries). A disturbed
    stretch runs from a stall, or from a first attempt that came later than the pin window after its due (the job
    behind schedule: a backlog behind slow handlers or retries), up to the next delivery pinned to its own due:
    there a lost occurrence plus a duplicate of its neighbour keep both the count and the order, so that pair
    cannot be ruled out. A rival that reads a delivery pinned to its due
    time as something else (where the best reading does not) is plausible only at the same units. When the
    plausible readings disagree on the verdict (a reading that leaves a doubtful occurrence unanswered counts
    as *unknown*) the source is *unknown* (exit 2); when they agree but differ in counts the verdict stands and
    the counts are the best reading's. Either way a witness of kind ``ambiguous`` shows the best reading and the
    others, and the deliveries they read differently.
    A fan-out source (one named one-shot job per occurrence) needs no timing inference.
tick / occurrence (binding)
    One firing time of a cron binding. A delivery is attributed by when daprd's cron *fired* it: the
    ``readtimeutc`` header, daprd's clock inside the cron callback (components-contrib v1.18.3
    ``bindings/cron/cron.go``), before the hop to the app; without it, the app's receive time. dapr/kit runs an
    entry only when its Next is not after the wake, so a fire is never before its tick: aligned schedules take
    the latest tick at or before the fire; ``@every d`` re-arms at wake + d, so each replica's chain follows its
    own fires, a gap holds ``floor((gap + tolerance) / d)`` ticks, and the chain restarts with the replica.
    Contract: the unit is (replica, tick) over each replica's window; exactly-once: the unit is the tick, across
    replicas (for ``@every``: the grid of the replica that delivered first).
edge margin
    Binding ticks within one period of either end of ``ReplicaWindow ∩ [observe_start, observe_end]`` are not
    counted, nor the deliveries assigned to them (the cron starts and stops around the window's edges).
success, closed, retry
    A job attempt answered 2xx, or 404 (Dapr treats 404 as success: dapr v1.18.3
    ``pkg/runtime/scheduler/internal/cluster/streamer.go``), closes its occurrence, as does a cut-off one and the
    ``max_attempts``-th failure (``FailurePolicy``; drop = 1; Dapr's default constant 1 s x 3 retries = 4). An
    attempt on an occurrence that already had a failed attempt is a *retry*: counted apart, not an anomaly.
    Binding deliveries are never retried.
duplicate
    Jobs: a re-send of a closed occurrence (witness: the closing attempt and the duplicate, their replicas, the gap,
    and whether the first was cut off). Binding contract: a second delivery of one (replica, tick) (the same wake,
    or a second fire under half a period after it); binding exactly-once: ``sum(max(0, n - 1))`` over ticks, n =
    deliveries from all replicas.
early
    A delivery before its occurrence was due (less the early tolerance): always a violation. It stands in for its
    occurrence (not also missed). Binding: with fire times, a second fire of one replica within a tick's interval,
    past its midpoint (``@every``: over half a period, under a period, after the last), is early for the next.
    A binding tick whose only fire came over half a period late reads the same as that tick lost and the next
    fired early: ambiguous (unknown when the verdict would split).
spurious
    A job delivery after the job was deleted, after the schedule call failed, at the old plan's cadence after an
    overwrite, or once its repeats/ttl ran out and the time it would next have fired has come (between the
    earliest and the latest such time it may be a re-send instead: both readings stand); every delivery of an
    unplanned name; and a *zombie*: a delivery from a replica while it was surely down (``CheckInput.down``: from a
    kill or pause taking effect to the start of its heal, and after scale removed it).
missed
    A counted occurrence (jobs) or counted (replica, tick) / tick (binding) with no attempt and no early fire.
lateness
    ``received - due`` of the first attempt of each counted occurrence (binding: first delivery of each counted
    unit; ``@every``: from the replica's previous fire + the period), in ms; p50/p95/p99/max by linear
    interpolation between closest ranks; None when there is none. A binding received before daprd fired it (the
    two clocks differ) gets a skew note.
early tolerance
    ``early_tolerance_ns``, default 5 ms, on the clock that fired (a binding's readtimeutc; for jobs the app's):
    Go timers run on the monotonic clock while due times are wall-clock, NTP may slew the wall clock by 500 ppm,
    and replicas' clocks may differ by a few ms; 5 ms is also below 1 % of a 500 ms ``@every``.
ledger gap
    A torn journal line, an unreadable journal, an unparsable stream record, an answer without an arrival, a trimmed
    stream (``harness.io.ledger.ledger_gaps``): a delivery may be missing, so a pass becomes *unknown* and a fail that
    rests only on missed occurrences too; duplicates, early and spurious deliveries stay proven.
received, deliveries, uncounted (figures)
    ``received``: every delivery the apps recorded for the source (``per_replica`` sums to it). ``deliveries``:
    those counted against occurrences (attempts on counted occurrences, every duplicate, early and spurious
    delivery), so ``deliveries / occurrences`` reads 1.00 for a clean job run. ``uncounted``: the rest, by why
    (after the window or in a delete's grace, edge ticks).
occurrences (figure)
    Jobs: counted occurrences. Bindings: counted ticks, so with N replicas a binding under the contract policy reads
    N deliveries per occurrence (missed/duplicates are still judged per (replica, tick) unit).
policy / verdict
    exactly-once fails on duplicates + missed + early + spurious > 0; contract fails on missed + early + spurious
    (duplicates reported, not failed). Either fails when lateness p99 exceeds ``lateness_p99_ms``. *unknown*: the
    plausible readings disagree on the verdict; a ledger gap (see above); a job whose schedule outcome is unknown,
    or whose schedule call failed, and that got nothing; a job with no schedule operation recorded; a plan Dapr
    would refuse; or a source with zero counted occurrences. The run's verdict is the worst of its sources and its
    actions (fail > unknown > pass).
witness
    Evidence for one anomaly (``model.Witness``), or of kind ``ambiguous`` for a disagreement. At most 20 per
    source, shared round-robin among kinds so every kind shows; the counts are always exact.
"""

from __future__ import annotations

import gc
import operator
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice

from harness.model import VERDICT_RANK, Delivery, SourceKind, SourceResult, Verdict, Witness
from harness.oracle.bindings import check_binding
from harness.oracle.claims import ActionResult, check_actions
from harness.oracle.evidence import DEFAULT_DELETE_GRACE_NS, DEFAULT_EARLY_TOLERANCE_NS, CheckInput
from harness.oracle.jobs import check_job, group_operations
from harness.oracle.tally import MAX_WITNESSES, Tally, iso, lateness_of, per_replica

_RECEIVED = operator.attrgetter("received_ns")

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
    with _cycle_collection_paused():
        return _check(inp)


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Judging a long run makes millions of small objects and no reference cycles: each pass of Python's cycle
    collector walks every live object (the run's deliveries too) and frees nothing, a third of the time at a million
    deliveries. It is paused for the call and left as it was found."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check(inp: CheckInput) -> CheckResult:
    by_name: dict[SourceKind, defaultdict[str, list[Delivery]]] = {
        "jobs": defaultdict(list),
        "binding": defaultdict(list),
    }
    jobs, bindings = by_name["jobs"], by_name["binding"]
    for d in inp.deliveries:  # a million, in arrival order: by name in the source's own table (no key tuple each)
        (jobs if d.source == "jobs" else bindings)[d.name].append(d)
    by_source = {(source, name): ds for source, named in by_name.items() for name, ds in named.items()}
    for ds in by_source.values():
        received = list(map(_RECEIVED, ds))  # (compared at C speed: a long run's sources are long)
        if not all(map(operator.lt, received, islice(received, 1, None))):  # else in order already (a run's usual)
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
    verdict = max((*(r.verdict for r in results), *(a.verdict for a in actions)), key=VERDICT_RANK.__getitem__)
    return CheckResult(tuple(results), verdict, tuple(notes), actions)


def _unplanned(source: SourceKind, name: str, ds: list[Delivery], inp: CheckInput) -> SourceResult:
    tally = Tally(deliveries=len(ds), spurious=len(ds))
    what = "job" if source == "jobs" else "binding"
    tally.notes.append(f"no {what} named {name!r} was planned: every delivery is spurious")
    for d in ds:
        tally.witness(Witness("spurious", source, name, None, (d,), f"unplanned {what}, replica {d.replica}"))
    return tally.result(source, name, "contract", inp, per_replica(ds, inp))
