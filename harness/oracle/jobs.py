"""The jobs oracle: one Jobs API job's deliveries judged against its occurrences (glossary: ``harness.oracle.check``).

The occurrences come from the job's schedule calls (``harness.oracle.overwrites``, ``harness.oracle.ticks``); which
delivery answered which occurrence comes from ``harness.oracle.matching``, which returns every plausible reading; the
tally is made from the best one, and ``harness.oracle.ambiguity`` says when the plausible readings disagree. Pure.
"""

from __future__ import annotations

import bisect
import operator
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.model import DEFAULT_FAILURE_POLICY, Delivery, JobPlan, Operation, OpPhase, SourceResult, Witness
from harness.oracle.ambiguity import judge_ambiguity
from harness.oracle.due_windows import Occs, count_expected, half_periods, narrow, path_delays
from harness.oracle.evidence import CheckInput
from harness.oracle.matching import readings
from harness.oracle.overwrites import ScheduleCall, plan_spans, span_dues
from harness.oracle.records import ArrivalTable, ExtraKind, OccurrenceTable, Outcome, Readings
from harness.oracle.tally import Tally, closes, iso, ms, per_replica, replica_list, succeeded, zombies
from harness.oracle.times import ScheduleError

# After a delete's ok, a trigger the scheduler sent before it handled the delete can still be on its way to the app
# (the daprd-to-app hop, milliseconds). A delivery that arrives within this margin may answer an occurrence that is
# not counted (one due just before the delete); any later one is spurious: a later delivery never answers an
# earlier occurrence.
IN_FLIGHT_NS = 50_000_000


@dataclass(frozen=True, slots=True)
class Op:
    """One harness call on a job, its invoke and outcome rows folded together."""

    start_ns: int  # the invoke row's time (the outcome row's if no invoke was recorded)
    outcome: OpPhase | None  # ok / fail / info, None when only the invoke was recorded
    outcome_ns: int | None
    op_id: str = ""
    status: int | None = None  # the HTTP status of the outcome, when Dapr answered


def group_operations(operations: Sequence[Operation]) -> dict[tuple[str, str], list[Op]]:
    """(kind, job name) -> its calls, by invoke time."""
    rows: dict[str, list[Operation]] = defaultdict(list)
    for op in operations:
        rows[op.op_id].append(op)
    grouped: dict[tuple[str, str], list[Op]] = defaultdict(list)
    for group in rows.values():
        outcome: Operation | None
        if len(group) == 2 and group[0].phase == "invoke" and group[1].phase != "invoke":  # the usual pair
            start, outcome = group[0].at_ns, group[1]
        else:
            invokes = [o.at_ns for o in group if o.phase == "invoke"]
            outcomes = sorted((o for o in group if o.phase != "invoke"), key=lambda o: o.at_ns)
            outcome = outcomes[-1] if outcomes else None
            start = min(invokes) if invokes else min(o.at_ns for o in group)
        status = None if outcome is None else outcome.detail.get("status")
        grouped[(group[0].kind, group[0].name)].append(
            Op(
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


def check_job(job: JobPlan, ds: list[Delivery], ops: dict[tuple[str, str], list[Op]], inp: CheckInput) -> SourceResult:
    tally = Tally()
    replicas = per_replica(ds, inp)
    tol = inp.early_tolerance_ns

    def spurious(d: Delivery, why: str) -> None:
        tally.spurious += 1
        tally.deliveries += 1
        tally.witness(Witness("spurious", "jobs", job.name, None, (d,), f"replica {d.replica}: {why}"))

    ds, zombied = zombies(ds, inp)
    for d, why in zombied:
        spurious(d, f"a zombie: {why}")

    schedules = ops.get(("schedule", job.name), [])
    live = [o for o in schedules if o.outcome != "fail"]
    if not schedules:
        tally.deliveries = len(ds)
        tally.unknown.append("no schedule operation was recorded for this job: its occurrences cannot be computed")
        return tally.result("jobs", job.name, job.policy, inp, replicas)
    if not live:
        for d in ds:
            spurious(d, "the schedule call failed, so no delivery was expected")
        if not ds:
            tally.unknown.append("the schedule call failed and nothing was delivered: nothing to judge")
        return tally.result("jobs", job.name, job.policy, inp, replicas)
    created = live[0].start_ns
    if not any(o.outcome == "ok" for o in live) and not ds:
        tally.unknown.append("the schedule call's outcome is unknown and nothing was delivered: the job may not exist")
        return tally.result("jobs", job.name, job.policy, inp, replicas)

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
    spans = plan_spans(job, calls, inp.op_plans, inp.delete_grace_ns, deletes[0].start_ns if deletes else None, iso)
    tally.notes.extend(spans.notes)
    tally.unknown.extend(spans.unknown)
    try:
        planned = span_dues(spans.spans, horizon)
    except ScheduleError as e:
        tally.deliveries = len(ds)
        tally.unknown.append(f"cannot compute the job's occurrences: {e}")
        return tally.result("jobs", job.name, job.policy, inp, replicas)
    if planned.uncertain:
        tally.notes.append(
            f"{planned.uncertain} due time(s) exist only if Dapr read its clock early (or only late) within the "
            "schedule call: not counted, neither missed when absent nor spurious when present"
        )
    occ = Occs.of_columns(*planned.columns)
    if planned.arrays is not None:  # the columns span_dues made: counting and the context read them
        occ.columns.seed(occ.due, planned.arrays[0])
        occ.columns.seed(occ.latest, planned.arrays[1])
    if planned.beyond is not None and deleted_ok is None:  # what a very early delivery may answer
        occ.add(planned.beyond, len(spans.spans) - 1, planned.beyond, expected=False)
    count_expected(occ, counted_until)
    n = len(occ)
    schedule_latency = (live[0].outcome_ns or live[0].start_ns) - live[0].start_ns
    if n > 1 and schedule_latency > (occ.due[1] - occ.due[0]) // 2:
        tally.undecided = True  # due times known only within more than half a period: no reading can be trusted
        tally.unknown.append(
            f"the schedule call took {ms(schedule_latency)}, over half the period: Dapr read its clock for the job's "
            "creation somewhere in that span, so due times are known only within it and deliveries cannot be matched"
        )

    matched = ds  # by arrival: those after the delete (and its in-flight margin) are the last ones
    if deleted_ok is not None:
        cut = bisect.bisect_right(ds, deleted_ok + IN_FLIGHT_NS, key=lambda d: d.received_ns)
        matched = ds[:cut]
        for d in ds[cut:]:
            spurious(d, f"after the job was deleted at {iso(deleted_ok)}")  # nothing of it is left to send
    pre_spurious = tally.spurious

    def why_spurious(i: int, cur: int) -> str | None:
        """Why an extra delivery (one that answers no open occurrence) is spurious; None: it is a duplicate."""
        r = matched[i].received_ns
        if deleted_at is not None and r > deleted_at:
            if deleted_ok is not None:
                return f"after the job was deleted at {iso(deleted_at)}"
            return f"after the delete call at {iso(deleted_at)} (outcome unknown); fits no occurrence"
        latest = occ.span[min(cur, n) - 1] if cur > 0 else None  # the span of the last occurrence closed
        old_next = None if latest is None else planned.dropped.get(latest)
        if latest is not None and old_next is not None and r + tol >= old_next:
            replaced = spans.spans[latest].replaced_ns or 0
            return (
                f"fits neither plan: the job was overwritten at {iso(replaced)} and the old plan would next have "
                f"fired at {iso(old_next)}"
            )
        if latest is None and n == 0:
            return "the job's schedule has no occurrence (its ttl ends before the first tick)"
        end = planned.continuation
        if planned.beyond is None and end is not None and r + tol >= end:
            last = spans.spans[-1].plan
            ran_out = last.repeats is not None and occ.span.count(occ.span[-1]) >= last.repeats
            why = "repeats ran out" if ran_out else "its ttl ran out"
            return f"after the job ended ({why}); it would next have fired at {iso(end)}"
        return None

    def classify(i: int, cur: int) -> tuple[ExtraKind, ...]:
        r = matched[i].received_ns
        if cur == 0 and n and r + tol < occ.due[0]:
            return ("early",)  # a fire before the first due time, the occurrence still to come: early, not a re-send
        if why_spurious(i, cur) is not None:
            return ("spurious",)
        ended_from = planned.continuation_from
        if planned.beyond is None and ended_from is not None and r + tol >= ended_from:
            # the job would next have fired somewhere within its schedule call's span: a re-send, or after its end
            return ("duplicate", "spurious")
        return ("duplicate",)

    policy = job.failure_policy or DEFAULT_FAILURE_POLICY
    arrivals = _arrivals(matched, deleted_ok)

    halves = half_periods(occ, planned.beyond or planned.continuation)
    worlds = planned.worlds if len(spans.spans) == 1 else {}  # worlds of one creation

    def match(delays: Mapping[int, int] | None = None) -> Readings:
        latest = [t + delays.get(k, 0) for k, t in enumerate(occ.latest)] if delays else occ.latest
        world = [worlds.get(due, 0) for due in occ.due] if worlds else [0] * n
        return readings(
            OccurrenceTable(occ.due, occ.counted, halves, latest, world, occ.doubtful, occ.columns),
            arrivals,
            tolerance_ns=tol,
            max_attempts=policy.max_attempts,
            retry_interval_ns=policy.interval_ns if policy.kind == "constant" else 0,
            classify=classify,
            idle_from=created,
        )

    found = match()
    if narrow(occ, found.best, arrivals, tol):
        count_expected(occ, counted_until)
        found = match()
    delays = path_delays(occ, found.best, arrivals, created, tol)
    if delays:
        found = match(delays)
    best = found.best
    crossed = dict(best.forced)  # a -> b: deliveries a..b-1 are the first attempts of consecutive occurrences
    cur = 0  # the first open occurrence when the delivery arrived (for a spurious one's reason)
    runs: list[tuple[int, int, int]] = []  # (first occurrence, last + 1, first delivery) of each crossed stretch
    i = 0
    while i < len(matched):
        d, role = matched[i], best.roles[i]
        if i in crossed:
            first, end = role.occurrence or 0, crossed[i]
            last = first + end - i
            if any(occ.attempts[first:last]):  # (never by the search's order; kept general)
                pairs = zip(occ.attempts[first:last], matched[i:end], strict=True)
                occ.attempts[first:last] = [(*a, d) for a, d in pairs]
            else:
                occ.attempts[first:last] = zip(matched[i:end])  # each its one attempt, at C speed
                runs.append((first, last, i))
            cur, i = last, end
            continue
        if role.kind in ("attempt", "retry"):
            assert role.occurrence is not None
            occ.attempts[role.occurrence] += (d,)
        elif role.kind == "early":
            assert role.occurrence is not None
            occ.early[role.occurrence] += (d,)
        elif role.extra == "early":
            occ.early[0] += (d,)
        elif role.extra == "spurious" or role.occurrence is None:
            spurious(d, why_spurious(i, cur) or "fits no occurrence")
        else:
            occ.duplicates[role.occurrence] += (d,)
        if role.kind in ("attempt", "early") and role.occurrence is not None:
            cur = role.occurrence + 1
        i += 1
    _tally_occurrences(tally, job.name, occ, set(best.missed), runs, arrivals.received, matched)
    # a delivery on a due time past the job's earliest end that exists only if Dapr created the job late within
    # the schedule call: it is as well a fire after the end (the one-too-many a ghost is)
    end_from = planned.continuation_from
    uncertain = [k for k, due in enumerate(occ.due) if due in planned.worlds] if planned.worlds else []
    unsure = [occ.due[k] for k in uncertain if planned.worlds[occ.due[k]] == 2 and (occ.attempts[k] or occ.early[k])]
    # (unless read early the job also lost an occurrence that exists only then: that reading is two anomalies away)
    early_only_lost = any(
        planned.worlds[occ.due[k]] == 1 and occ.due[k] <= counted_until and not (occ.attempts[k] or occ.early[k])
        for k in uncertain
    )
    if end_from is not None and not early_only_lost and any(due + tol >= end_from for due in unsure):
        tally.unknown.append(
            f"a delivery answered the occurrence due {iso(unsure[-1])}, which exists only if Dapr read its clock "
            f"late within the schedule call; read early, the job ended at {iso(end_from)} and this is a fire after it"
        )
    for k in best.doubtful:
        tally.unknown.append(
            f"nothing was delivered for the occurrence due between {iso(occ.due[k])} and {iso(occ.latest[k])} (the "
            f"schedule call's span): counting ended at {iso(counted_until)}, within it, so it may have been due "
            "before the end of counting (missed) or after (not counted)"
        )
    if found.plausible:
        judge_ambiguity(
            tally,
            job,
            found,
            list(zip(occ.due, occ.counted, strict=True)),
            matched,
            pre_spurious,
            lambda k: iso(occ.due[k]),
        )

    if stop_counting is not None:
        delete_invoke = deletes[0].start_ns
        upto = min(inp.observe_end_ns, delete_invoke)  # (the dues are sorted)
        in_grace = max(0, bisect.bisect_right(occ.due, upto) - bisect.bisect_right(occ.due, stop_counting))
        if in_grace:
            tally.notes.append(
                f"{in_grace} occurrence(s) due in the {ms(delete_invoke - stop_counting)} before the delete call "
                "are not counted: the delete may remove a trigger still queued"
            )
    if tally.occurrences == 0 and deleted_ok is not None:
        # deleted before an occurrence could be counted (the load does this): what is left to judge is that
        # nothing fired after the delete
        tally.notes.append(
            f"deleted {ms(deletes[0].start_ns - created)} after its creation, before any occurrence could be "
            "counted: judged only on deliveries after the delete"
        )
    elif tally.occurrences == 0:
        tally.unknown.append(
            f"no occurrence was due between the job's creation ({iso(created)}) and "
            f"{iso(counted_until)}: nothing to count"
        )
    return tally.result("jobs", job.name, job.policy, inp, replicas)


def _arrivals(ds: Sequence[Delivery], deleted_ok: int | None) -> ArrivalTable:
    """What the matching reads of each delivery, as columns: arrival, answer (older runs: the arrival), outcome, and
    whether it came after a confirmed delete."""
    received = [d.received_ns for d in ds]  # a column at a time
    statuses = [d.status for d in ds]
    answered = [d.answered_ns for d in ds]
    if None in answered:  # cut off (no answer), or a run from before answers: its arrival stands in
        answered = [
            r if a is None and s is not None else a for r, a, s in zip(received, answered, statuses, strict=True)
        ]
    kinds: dict[int | None, Outcome] = {
        s: "cut" if s is None else "success" if succeeded(s) else "failure" for s in set(statuses)
    }
    outcomes = list(map(kinds.__getitem__, statuses))
    # by arrival, so those after the delete are the last ones
    after = len(ds) if deleted_ok is None else bisect.bisect_right(received, deleted_ok)
    restricted = [False] * after + [True] * (len(ds) - after)
    return ArrivalTable(received, answered, outcomes, restricted)


def _tally_occurrences(
    tally: Tally,
    name: str,
    occ: Occs,
    missed: set[int],
    runs: Sequence[tuple[int, int, int]] = (),
    received: Sequence[int] = (),
    matched: Sequence[Delivery] = (),
) -> None:
    """Count every occurrence by what the best reading gave it. ``runs``: crossed stretches whose occurrences got
    one first attempt each, (first occurrence, last + 1, its first delivery's index in ``matched``; ``received``:
    their arrivals): those counted with nothing else delivered for them are taken at once (the bulk of a long run),
    the rest one by one."""
    done = 0
    for first, last, i in runs:
        plain = (
            all(occ.counted[first:last])
            and not any(occ.early[first:last])
            and not any(occ.duplicates[first:last])
            and max(map(len, occ.attempts[first:last])) == 1
        )
        if not plain:
            continue  # one by one, with the rest
        _tally_each(tally, name, occ, missed, done, first)
        count = last - first
        firsts = matched[i : i + count]  # (each the one attempt of its occurrence, in order)
        tally.lateness_ns.extend(map(operator.sub, received[i : i + count], occ.due[first:last]))
        tally.lateness_dues.extend(occ.due[first:last])
        tally.lateness_firsts.extend(firsts)
        tally.occurrences += count
        tally.deliveries += count
        done = last
    _tally_each(tally, name, occ, missed, done, len(occ))


def _tally_each(tally: Tally, name: str, occ: Occs, missed: set[int], lo: int, hi: int) -> None:
    """Count occurrences lo..hi-1 one by one."""
    columns = zip(
        occ.due[lo:hi],
        occ.counted[lo:hi],
        occ.doubtful[lo:hi],
        occ.attempts[lo:hi],
        occ.early[lo:hi],
        occ.duplicates[lo:hi],
        strict=True,
    )
    once = 0  # counted occurrences delivered once, nothing else (the common case: counted here, not one by one)
    lateness, sampled_dues, firsts = tally.lateness_ns, tally.lateness_dues, tally.lateness_firsts  # Tally.late, inline
    for k, (due, counted, doubtful, attempts, early, duplicates) in enumerate(columns, lo):
        if counted and len(attempts) == 1 and not early and not duplicates:
            once += 1
            lateness.append(attempts[0].received_ns - due)
            sampled_dues.append(due)
            firsts.append(attempts[0])
            continue
        for d in early:
            note = f"replica {d.replica}, {ms(due - d.received_ns)} before its due"
            tally.witness(Witness("early", "jobs", name, due, (d,), note))
        tally.early += len(early)
        tally.duplicates += len(duplicates)
        tally.deliveries += len(early) + len(duplicates)
        if len(attempts) > 1:
            tally.retries += len(attempts) - 1
            statuses = ", ".join(str(a.status) for a in attempts)
            tally.witness(Witness("retry", "jobs", name, due, attempts, f"{len(attempts)} attempts: {statuses}"))
        if duplicates:
            answered = [*attempts, *early]
            closing = next((a for a in reversed(answered) if closes(a)), answered[-1] if answered else None)
            for dup in duplicates:
                shown = (dup,) if closing is None else (closing, dup)
                gap = "" if closing is None else f", {ms(dup.received_ns - closing.received_ns)} after the first"
                cut = (
                    " (the first was cut off: the app died mid-handler)"
                    if closing is not None and closing.cut_off
                    else ""
                )
                note = f"replicas {replica_list(shown)}{gap}{cut}"
                tally.witness(Witness("duplicate", "jobs", name, due, shown, note))
        if not counted and not (doubtful and attempts):  # a doubtful one is counted once delivered
            if attempts:
                why = "on occurrences not counted (due after the window, in a delete's grace, or uncertain)"
                tally.uncounted[why] = tally.uncounted.get(why, 0) + len(attempts)
            continue
        tally.occurrences += 1
        tally.deliveries += len(attempts)
        if attempts:
            tally.late(due, attempts[0])
        elif k in missed:
            tally.missed += 1
            tally.witness(Witness("missed", "jobs", name, due, (), f"nothing delivered for {iso(due)}"))
    tally.occurrences += once
    tally.deliveries += once
