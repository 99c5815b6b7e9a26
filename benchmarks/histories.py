"""Dapr-like histories with the truth known: the yardstick for ``harness.oracle.check``.

``generate(seed, **knobs)`` plays one source (one Jobs API job, or one cron binding on N replicas) the way Dapr
delivers it, injects anomalies on purpose, and returns the ``CheckInput`` the checker would get from a run together
with the truth: the anomaly counts per policy, the verdict each policy should give, whether the history is
*ambiguous* (marked by construction, from the truth, never by running the checker) and a one-line description of
what was injected. Pure: no I/O, no clock; every choice comes from ``random.Random(seed)``, so a seed and the knobs
reproduce a history exactly.

It is independent of the checker on purpose: nothing here comes from ``harness.oracle.check`` (other than the
``CheckInput`` type it fills) or ``harness.oracle.matching``. It uses ``harness.model`` types, and
``harness.oracle.ticks`` only to validate schedules and to parse dueTime/ttl text; the schedule arithmetic (``*/k``
seconds and ``@every``, the only shapes generated), creation time, sequencing, retries and every anomaly are modelled
here.

The model (code read, not copied; docs/dapr-facts.md §3, §4, §6)
==================================================================

All Dapr-side times are on the host clock. The app of replica r may read a clock offset by ``skew[r]`` (±0-3 ms,
knob ``skew``): ``received_ns`` and ``answered_ns`` are on that clock; the cron binding's ``readtimeutc`` header is
daprd's clock (the host's).

Jobs (go-etcd-cron v0.9-v0.12 behind Dapr 1.16-1.18)
  * The runner schedules the job right after ``observe_start``: an ``invoke`` row at T_inv, an ``ok`` row at
    T_ok = T_inv + latency (1-20 ms; with ``long_latency``, 50 ms-1.5 s, which straddles aligned ticks). Dapr's
    creation time C is uniform in [T_inv, T_ok]; every due time is computed from C:
    ``internal/scheduler/repeats.go``: first due = the dueTime if given, else ``cron.Next(C)``; later ones
    ``cron.Next(previous due)``; ``repeats`` and ``ttl`` end the job. kit ``ConstantDelaySchedule.Next(t)`` is
    ``t + d - (t mod 1 ms)`` (``@every`` lands on the millisecond; ``Every`` truncates d to the millisecond).
  * Deliveries are sequential (go-etcd-cron README "Counter"): a trigger is sent at
    max(its scheduled time, the previous delivery's ack) + scheduler delay (0.2-3 ms); it arrives at the app one
    hop later (0.3-3 ms); the app answers after its handler time h (per history 0 to 2 P, jittered); the ack
    reaches the scheduler one hop after the answer. The replica is round robin or random among live replicas.
  * Failure policy (``internal/counter/counter.go`` ``TriggerFailed``/``policyTryAgain``): a non-2xx answer other
    than 404 fails the attempt; with ``constant`` the next attempt is scheduled at the previous *scheduled* time
    + interval (so it fires at max(ack, due + m * interval)), up to max_retries + 1 attempts; ``drop`` makes one
    attempt. 404 is a success.
  * The runner deletes the job right at ``observe_end`` (and a ``delete-mid`` injection earlier): Dapr's delete
    time D is uniform in [invoke, ok]; nothing is sent after D (queued triggers and pending retries are dropped;
    one already sent still arrives). A job whose repeats/ttl ran out is gone after its last trigger.
  * The ledger records what arrives until ``collect_end`` (end of quiesce); an answer after that is not recorded
    (``status`` None, as a cut-off).

Cron binding (components-contrib ``bindings/cron/cron.go`` ``Read``; dapr/kit ``cron/cron.go`` ``run``)
  * Every replica's daprd runs its own cron from the moment its app is ready (window start + 0-300 ms) until it is
    killed. kit ``run()``: Next = ``Schedule.Next(start)``; the timer wakes at Next + lateness (0-5 ms, with
    ``late-wake`` sometimes 100-900 ms, at most 0.6 P); the job runs when Next <= wake, then
    Next = ``Schedule.Next(wake)`` (``@every d``: wake + d, to the millisecond, so the phase drifts later by each
    wake's lateness).
  * The callback sends ``readTimeUTC`` = ``time.Now().UTC().String()`` (e.g. ``2026-01-01 00:00:03.000412 +0000
    UTC``) and ``timeZone`` (``Local``) as headers; the app sees them as ``readtimeutc``/``timezone``.
  * Deliveries are never retried (the handler's error is ignored). A kill cuts the replica's window (the harness's
    ``ReplicaWindow`` rows) and stops its cron; a delivery in the handler at the kill is cut off.

Injections (knob ``inject``; each is applied only where it can take effect, and the description lists what was)
=================================================================================================================

Jobs
  ``stall``        the scheduler/stream is down over [a, b]: nothing is sent, then the backlog goes back to back.
                   Not an anomaly.
  ``lost``         a counted occurrence's counter advances and nothing is delivered: missed. Never the first
                   occurrence when the schedule call leaves it uncertain (latency >= 50 ms, or an aligned tick
                   between invoke and ok): there "lost" and "created after that tick" read the same.
  ``dup-near``     a re-send of occurrence k after its success, 1-50 ms after the answer, before k+1 is sent
                   (counter persisted after the ack, docs/dapr-facts.md §4.4): a duplicate.
  ``dup-far``      the same, 0.3-6 s after the answer (a stream reconnect): a duplicate.
  ``dup-overlap``  the stream died while the app was handling occurrence k: Dapr re-sends it at once to another
                   replica, arriving before the first delivery's answer (§4.3 path 1): a duplicate.
  ``cutoff``       the same, but the replica was killed: the first delivery is cut off (no answer), the replica is
                   down for 1-5 s (its window is cut). A duplicate.
                   Every re-send arrives before the delete's invoke and, for a job whose repeats/ttl ran out,
                   before the time it would next have fired: later it reads as well as a spurious ghost.
  ``early``        occurrence k is sent before its due, 10 ms to P/2 before the earliest due the evidence allows
                   (the due computed from the schedule call's invoke), as the app's clock reads it: early.
  ``spurious-delete`` a delivery sent after the job was deleted (50 ms or more after the delete's ok): spurious.
  ``spurious-end`` the job has repeats/ttl; a delivery at the time it would next have fired after it ran out.
  ``delete-mid``   a delete mid-run (not an anomaly: occurrences due in the grace before it are not counted).

Binding
  ``kill``         one or two replicas are killed for 2-8 s (not an anomaly).
  ``late-wake``    some timer wakes are 100-900 ms late, at most 0.6 P (not an anomaly).
  ``lost``         a replica's delivery for one tick never arrives: missed.
  ``dup-resend``   the same request (same ``readtimeutc``) arrives twice on one replica: a duplicate.
  ``dup-double``   one replica fires one tick twice (a second cron instance, its own ``readtimeutc``): a duplicate.
  ``early``        one replica's timer wakes 10 ms to P/2 before a tick (kit never does): early. An aligned cron
                   re-arms to the same tick and fires it again on time; ``@every`` re-arms from the early wake.
  ``zombie``       a delivery from a replica while it was surely down (in a cut of its window, a period or 1 s
                   from either edge): spurious.

Truth
=====

Counted (expected) units follow the checker's documented glossary in ``harness.oracle.check`` (the spec, not its
code): a job occurrence is counted when due <= observe_end and due <= first delete's invoke - max(1 s, schedule
latency); a binding (replica, tick) when the tick lies in the replica's window ∩ [observe_start, observe_end]
shrunk by one period at each end. Then, per policy:

  jobs (same counts under both policies)
    duplicates   deliveries of an occurrence after the one that closed it (re-sends: dup-*, cutoff)
    missed       counted occurrences with no delivery at all (lost, and counted occurrences Dapr never sent
                 because the delete came first: a stall or a handler backlog running into the delete)
    early        deliveries sent before their due (each stands in for its occurrence)
    spurious     deliveries sent after the delete, or after repeats/ttl ran out
    retries      attempts after a failed attempt on the same occurrence (not an anomaly)
  binding, contract: per (replica, tick): missed = no delivery, duplicates = deliveries beyond the first;
    early = early wakes; spurious = zombies.
  binding, exactly-once: per tick across replicas (aligned schedules, or one replica): duplicates =
    sum(max(0, n - 1)), missed = ticks with n = 0. With ``@every`` and two or more replicas each replica has its
    own phase, so "one tick across replicas" has no definition here: duplicates and missed are None, and the
    verdict is fail: such histories are generated only when two replicas share at least four counted periods.
    ``lost`` and ``early`` go to an ``@every`` tick only after a firing in the same cron run (the first tick hangs
    on the cron's unobserved start), and a lost tick's wake is never late.

Verdicts: exactly-once fails on any duplicate, missed, early or spurious; contract on missed, early or spurious.
Every generated history has at least one counted occurrence or unit, so *unknown* is never the truth.

Ambiguity (issue 11's initial rule, applied to the truth)
  A job history is ambiguous when some delivery arrives more than half a period after it could first have been
  sent: a first attempt after max(its due, the previous delivery's answer), a re-send after the previous
  delivery's answer (an overlapping re-send after the moment the stream died), a retry after max(the previous
  answer, its scheduled retry time). There a lost occurrence plus a duplicate of its neighbour keep both the count
  and the order. A one-shot job has no period and is never ambiguous. Binding histories carry ``readtimeutc`` and
  are never ambiguous (but for a lone fire past its interval's midpoint).

  Extended since, each mark argued where it is set: the job ran behind schedule (a first attempt later than the
  pin window after its due); a schedule call over half a period; an early fire after the previous occurrence was
  answered (it reads as a late re-send), and a re-send just before the next due (it reads as an early fire); a
  lost occurrence next to an extra delivery; a ghost after the end within the schedule call's uncertainty, or
  after a last attempt that went out on its predecessor's answer (the two trade places); a due across the end of
  counting, by the evidence, never delivered; a due past the job's earliest end, by the evidence, that fired.

  Not marked, on purpose (the rule is for the maintainers to extend, not for this generator to fit the checker):
  histories whose truth has no stall but whose evidence also fits a reading *with* one (a lost occurrence next to
  a re-send of its neighbour; an early fire read as a far re-send plus a stall), and a re-send during a handler
  backlog that lasts until the delete (the re-send and the next occurrence are both sent right after an ack).
  ``bench_checker_accuracy.py`` lists them among the misjudged, with seeds.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from harness.model import (
    DEFAULT_FAILURE_POLICY,
    NS,
    BindingPlan,
    Delivery,
    FailurePolicy,
    JobPlan,
    Operation,
    Policy,
    ReplicaWindow,
    SourceKind,
    Verdict,
)
from harness.oracle.check import CheckInput
from harness.oracle.ticks import CronSchedule, EverySchedule, job_expiration_ns, parse_schedule
from harness.oracle.times import parse_due_time

MS = 1_000_000
US = 1_000
POLICIES: tuple[Policy, ...] = ("exactly-once", "contract")
EARLY_TOLERANCE_NS = 5 * MS  # passed explicitly in every CheckInput: the truth's "early" is beyond it
DELETE_GRACE_NS = NS  # likewise
T_BASE = 1_767_225_600 * NS  # 2026-01-01T00:00:00Z
NAME = "job"
BINDING_NAME = "cron"

JobInjection = Literal[
    "stall",
    "lost",
    "dup-near",
    "dup-far",
    "dup-overlap",
    "cutoff",
    "early",
    "spurious-delete",
    "spurious-end",
    "delete-mid",
]
BindingInjection = Literal["kill", "late-wake", "lost", "dup-resend", "dup-double", "early", "zombie"]
JOB_INJECTIONS: tuple[JobInjection, ...] = get_args(JobInjection)
BINDING_INJECTIONS: tuple[BindingInjection, ...] = get_args(BindingInjection)
JobShape = Literal["every", "cron", "oneshot", "every-due"]
BindingShape = Literal["every", "cron"]
HandlerRegime = Literal["small", "medium", "large", "huge"]
KindKnob = Literal["jobs", "binding", "any"]
JOB_SHAPES: tuple[JobShape, ...] = get_args(JobShape)
BINDING_SHAPES: tuple[BindingShape, ...] = get_args(BindingShape)
HANDLER_REGIMES: tuple[HandlerRegime, ...] = get_args(HandlerRegime)
SOURCE_KINDS: tuple[SourceKind, ...] = ("jobs", "binding")


# --- what a history carries ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Truth:
    """Anomaly counts one policy should report. None: the unit is not defined for this history (see module doc)."""

    duplicates: int | None
    missed: int | None
    early: int
    spurious: int
    retries: int | None = None  # jobs only; not an anomaly

    def fails(self, policy: Policy) -> bool:
        if (self.missed or 0) + self.early + self.spurious:
            return True
        # duplicates None: per tick across replicas is undefined, and there are several per period (see above)
        return policy == "exactly-once" and (self.duplicates is None or self.duplicates > 0)


@dataclass(frozen=True, slots=True)
class GeneratedHistory:
    seed: int
    kind: SourceKind
    check_input: CheckInput  # the plan's policy as generated; ``input_for`` swaps it
    truth: Mapping[Policy, Truth]
    expected: Mapping[Policy, Verdict]  # "pass" or "fail", never "unknown"
    ambiguous: bool
    description: str
    injected: tuple[str, ...]  # the injections that took effect
    trace: tuple[str, ...] = ()  # what the generator did, one line per delivery or event (for judging a case)

    def input_for(self, policy: Policy) -> CheckInput:
        inp = self.check_input
        return replace(
            inp,
            jobs=[replace(j, policy=policy) for j in inp.jobs],
            bindings=[replace(b, policy=policy) for b in inp.bindings],
        )


@dataclass(frozen=True, slots=True)
class Knobs:
    kind: KindKnob = "any"
    replicas: int | None = None  # None: 1-5
    schedule: JobShape | BindingShape | None = None
    inject: tuple[str, ...] | None = None  # None: drawn (none at all with probability clean_share)
    clean_share: float = 0.3
    skew: bool | None = None  # app clocks offset by up to ±3 ms
    handler: HandlerRegime | None = None
    fail_rate: float | None = None  # share of job attempts answered 5xx
    long_latency: bool | None = None  # the schedule call takes 50 ms-1.5 s


def generate(
    seed: int,
    *,
    kind: KindKnob = "any",
    replicas: int | None = None,
    schedule: JobShape | BindingShape | None = None,
    inject: Sequence[str] | None = None,
    clean_share: float = 0.3,
    skew: bool | None = None,
    handler: HandlerRegime | None = None,
    fail_rate: float | None = None,
    long_latency: bool | None = None,
) -> GeneratedHistory:
    """One history, reproducible from ``seed`` and the knobs."""
    knobs = Knobs(
        kind,
        replicas,
        schedule,
        None if inject is None else tuple(inject),
        clean_share,
        skew,
        handler,
        fail_rate,
        long_latency,
    )
    rng = random.Random(seed)
    source: SourceKind = rng.choice(SOURCE_KINDS) if kind == "any" else kind
    allowed: tuple[str, ...] = JOB_INJECTIONS if source == "jobs" else BINDING_INJECTIONS
    if knobs.inject is not None:
        unknown = sorted(set(knobs.inject) - set(allowed))
        if unknown:
            raise ValueError(f"unknown {source} injection(s) {unknown}; valid: {', '.join(allowed)}")
    if replicas is not None and not 1 <= replicas <= 16:
        raise ValueError(f"replicas must be 1-16, got {replicas}")
    for _ in range(1000):
        history = _JobSim(rng, seed, knobs).run() if source == "jobs" else _BindingSim(rng, seed, knobs).run()
        if history is not None:
            return history
    raise RuntimeError(f"seed {seed}: no valid history with knobs {knobs}")  # pragma: no cover


def go_utc_string(ns: int) -> str:
    """Go's ``time.Time.String()`` of a UTC time: ``2026-01-01 00:00:03.000412 +0000 UTC`` (no trailing zeros)."""
    seconds, frac = divmod(ns, NS)
    text = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + " +0000 UTC"


# --- shared helpers ------------------------------------------------------------------------------------------


class AlignedGrid:
    """A ``*/k * * * * *`` schedule (the only aligned specs generated here): the seconds whose second-of-minute is a
    multiple of k (kit ``getRange``: ``*/k`` is 0, k, 2k, ... up to 59)."""

    def __init__(self, step_s: int) -> None:
        self.seconds = frozenset(range(0, 60, step_s))

    def next_after(self, t: int) -> int:
        """kit ``SpecSchedule.Next``: the first matching whole second strictly after ``t``."""
        s = t // NS + 1
        while s % 60 not in self.seconds:
            s += 1
        return s * NS


KitSchedule = AlignedGrid | EverySchedule


def _kit(schedule: CronSchedule | EverySchedule) -> KitSchedule:
    if isinstance(schedule, EverySchedule):
        return schedule
    fields = schedule.text.split()
    if len(fields) != 6 or not fields[0].startswith("*/") or any(f != "*" for f in fields[1:]):
        raise ValueError(f"only '*/k * * * * *' aligned specs are generated, not {schedule.text!r}")
    return AlignedGrid(int(fields[0][2:]))


def kit_next(schedule: KitSchedule, t: int) -> int:
    """dapr/kit ``Schedule.Next``: aligned specs by the tick model; ``@every d`` is ``t + d`` (kit v0.18.2
    ``cron/constantdelay.go``: ``Every`` keeps the duration as given and ``Next`` adds it, no rounding)."""
    if isinstance(schedule, EverySchedule):
        return t + schedule.delay_ns
    return schedule.next_after(t)


def _go_ms(ms: int) -> str:
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def _fmt_s(ns: int) -> str:
    return f"{ns / NS:.3f}s"


def _fmt_ms(ns: int) -> str:
    return f"{ns / MS:.1f}ms"


def _pick_injections(rng: random.Random, knobs: Knobs, allowed: tuple[str, ...]) -> list[str]:
    if knobs.inject is not None:
        return [i for i in allowed if i in knobs.inject]  # a fixed order: the rng stream does not depend on it
    if rng.random() < knobs.clean_share:
        return []
    count = rng.choice((1, 1, 2, 2, 3, 4))
    return sorted(rng.sample(allowed, min(count, len(allowed))), key=allowed.index)


def _handler_ns(rng: random.Random, regime: HandlerRegime, period: int) -> int:
    if regime == "small":
        return rng.randint(0, 20 * MS)
    if regime == "medium":
        return rng.randint(20 * MS, max(20 * MS, period // 2))
    if regime == "large":
        return rng.randint(period // 2, period)
    return rng.randint(period, 2 * period)


def _regime(rng: random.Random, knobs: Knobs) -> HandlerRegime:
    if knobs.handler is not None:
        return knobs.handler
    return rng.choices(HANDLER_REGIMES, weights=(50, 20, 15, 15))[0]


# --- jobs ----------------------------------------------------------------------------------------------------


@dataclass
class _Sent:
    """One job delivery as Dapr made it (host clock), with its role in the truth."""

    occ: int  # occurrence index; -1 for a spurious delivery
    role: Literal["attempt", "retry", "dup", "early", "spurious"]
    replica: int
    sent: int
    arrival: int
    answer: int | None  # None: cut off (killed), or answered after collect_end
    status: int | None
    could_first: int | None  # earliest it could have been sent (the ambiguity rule); None: not applicable
    period: int | None  # the occurrence's period for the ambiguity rule; None: one-shot / spurious
    answered_end: int | None = None  # when the scheduler could send the next trigger (ack, or the cut)


@dataclass
class _JobSim:
    rng: random.Random
    seed: int
    knobs: Knobs
    notes: list[str] = field(default_factory=list)
    injected: list[str] = field(default_factory=list)
    ambiguity: list[str] = field(default_factory=list)  # why the evidence cannot tell the truth from a rival

    def run(self) -> GeneratedHistory | None:
        rng, knobs = self.rng, self.knobs
        chosen = _pick_injections(rng, knobs, JOB_INJECTIONS)
        n = knobs.replicas or rng.randint(1, 5)
        self.n = n
        skew = rng.random() < 0.5 if knobs.skew is None else knobs.skew
        self.offsets = [rng.randint(-3 * MS, 3 * MS) if skew else 0 for _ in range(n)]
        self.round_robin = rng.random() < 0.6
        self.turn = rng.randrange(n)
        obs_start = T_BASE + rng.randint(0, 30 * 86_400) * NS + rng.randint(0, NS - 1)

        # the plan
        fixed = next((s for s in JOB_SHAPES if s == knobs.schedule), None)
        shape = fixed or rng.choices(JOB_SHAPES, weights=(45, 30, 10, 15))[0]
        if shape == "oneshot" and "spurious-end" in chosen:
            shape = "every"
        schedule: str | None
        period: int  # nominal, for the handler regime and the observation length
        if shape in ("every", "every-due"):
            period_ms = rng.randint(500, 5000)
            schedule, period = f"@every {_go_ms(period_ms)}", period_ms * MS
        elif shape == "cron":
            step = rng.choice((1, 2, 2, 3, 4, 5, 6, 7))
            schedule, period = f"*/{step} * * * * *", step * NS
        else:
            schedule, period = None, NS
        obs_len = rng.randint(max(10 * NS, 6 * period), max(20 * NS, 12 * period))
        obs_end = obs_start + obs_len
        quiesce = rng.randint(3 * NS, 6 * NS)
        collect_end = obs_end + quiesce + rng.randint(100 * MS, 500 * MS)
        self.collect_end = collect_end

        t_inv = obs_start + rng.randint(200 * US, 5 * MS)
        long_latency = rng.random() < 0.1 if knobs.long_latency is None else knobs.long_latency
        latency = rng.randint(50 * MS, 1500 * MS) if long_latency else rng.randint(1 * MS, 20 * MS)
        t_ok = t_inv + latency
        created = rng.randint(t_inv, t_ok)

        due_time: str | None = None
        if shape == "oneshot":
            lead = rng.randint(1 * NS, max(1 * NS, obs_len - 2 * NS - latency))
            due_time = _go_ms(lead // MS) if rng.random() < 0.5 else _rfc3339(t_inv + lead)
        elif shape == "every-due":
            due_time = _go_ms(rng.randint(0, 3000))
        repeats: int | None = None
        ttl: str | None = None
        if schedule is not None:
            expected = max(1, (obs_len - 2 * NS) // period)
            if "spurious-end" in chosen or rng.random() < 0.2:
                if rng.random() < 0.6:
                    repeats = rng.randint(1, max(1, expected - 1))
                else:
                    ttl = _go_ms(rng.randint(period // MS, max(period, obs_len - 2 * NS) // MS))
        failure: FailurePolicy | None
        draw = rng.random()
        if draw < 0.7:
            failure = None
        elif draw < 0.85:
            failure = FailurePolicy("drop")
        else:
            failure = FailurePolicy("constant", rng.randint(300, 2000) * MS, rng.randint(0, 5))
        plan = JobPlan(NAME, schedule, due_time, repeats, ttl, failure, "exactly-once")
        self.policy = failure or DEFAULT_FAILURE_POLICY

        # the deletes (the runner's at observe_end, and maybe one mid-run)
        ops: list[Operation] = [
            Operation("s0", "schedule", NAME, "invoke", t_inv),
            Operation("s0", "schedule", NAME, "ok", t_ok, {"status": 204}),
        ]
        deletes: list[tuple[int, int, int]] = []  # (invoke, ok, Dapr's delete time)
        if "delete-mid" in chosen or ("spurious-delete" in chosen and rng.random() < 0.5):
            d_inv = rng.randint(obs_start + obs_len * 2 // 5, obs_end - 2 * NS)
            d_ok = d_inv + rng.randint(1 * MS, 20 * MS)
            deletes.append((d_inv, d_ok, rng.randint(d_inv, d_ok)))
        f_inv = obs_end + rng.randint(1 * MS, 30 * MS)
        f_ok = f_inv + rng.randint(1 * MS, 20 * MS)
        deletes.append((f_inv, f_ok, rng.randint(f_inv, f_ok)))
        for i, (inv, ok, _) in enumerate(deletes):
            ops.append(Operation(f"d{i}", "delete", NAME, "invoke", inv))
            ops.append(Operation(f"d{i}", "delete", NAME, "ok", ok, {"status": 204}))
        first_delete_inv, first_delete_ok, gone = deletes[0]
        grace = max(DELETE_GRACE_NS, latency)
        counted_until = min(obs_end, first_delete_inv - grace)

        dues, continuation = _job_dues(plan, created, collect_end)
        live_dues = [d for d in dues if d <= gone]
        counted = [d <= counted_until for d in live_dues]
        if not any(counted):
            return None
        if continuation is not None and continuation > gone:
            continuation = None  # the delete, not repeats/ttl, ended it
        # a re-send must arrive before the delete call, and before the time a job whose repeats/ttl ran out would
        # next have fired: later, it reads as well as a ghost (spurious) as a duplicate
        self.resend_by = first_delete_inv if continuation is None else min(first_delete_inv, continuation)
        self.stalls: list[tuple[int, int]] = []
        if "stall" in chosen:
            a = rng.randint(live_dues[0], max(live_dues[0], counted_until))
            b = a + rng.randint(300 * MS, 8 * NS)
            self.stalls.append((a, b))
            self.injected.append("stall")
            self.notes.append(f"stall {_fmt_s(b - a)} at +{_fmt_s(a - obs_start)}")
        self.down: dict[int, list[tuple[int, int]]] = {r: [] for r in range(n)}
        regime = _regime(rng, knobs)
        self.h_base = _handler_ns(rng, regime, period)
        fail_rate = knobs.fail_rate if knobs.fail_rate is not None else rng.choice((0.0, 0.0, 0.0, 0.05, 0.15, 0.3))
        self.fail_rate = fail_rate

        # which occurrences the targeted injections go to (each occurrence gets at most one)
        relative_chain = schedule is not None and isinstance(parse_schedule(schedule, "jobs"), EverySchedule)
        first_uncertain = latency >= 50 * MS
        if schedule is not None and due_time is None and not relative_chain:
            aligned = _kit(parse_schedule(schedule, "jobs"))
            first_uncertain = first_uncertain or kit_next(aligned, t_inv) != kit_next(aligned, t_ok)
        counted_idx = [i for i, c in enumerate(counted) if c]
        free = list(counted_idx)
        rng.shuffle(free)
        targets: dict[int, str] = {}
        for kind in ("lost", "early", "dup-near", "dup-far", "dup-overlap", "cutoff"):
            if kind not in chosen:
                continue
            for _ in range(rng.choice((1, 1, 2))):
                pool = [i for i in free if not (kind in ("lost", "early") and i == 0 and first_uncertain)]
                if not pool:
                    break
                i = pool[0]
                free.remove(i)
                targets[i] = kind

        # the lower bound the evidence gives for each due (computed from the schedule call's invoke): an early
        # fire must be provably early, i.e. before this bound less the tolerance
        first_depends = _is_relative(due_time) if due_time is not None else relative_chain

        def lower_bound(i: int, due: int) -> int:
            depends = first_depends if i == 0 else relative_chain and first_depends
            return due - (created - t_inv) - MS if depends else due

        def upper_bound(i: int, due: int) -> int:
            depends = first_depends if i == 0 else relative_chain and first_depends
            return due + (t_ok - created) + MS if depends else due

        # the sequential delivery loop
        sent: list[_Sent] = []
        t_free = created  # when the scheduler may send the next trigger
        prev_end: int | None = None  # the previous delivery's answer (or the moment it was cut)
        attempted = [False] * len(live_dues)
        lost: set[int] = set()
        stopped = False  # the delete came while the job still had triggers to send
        for i, due in enumerate(live_dues):
            per = _period_at(live_dues, i, schedule is None)
            target = targets.get(i)
            send = self.defer(max(due, t_free) + self.delay())
            if target == "lost" and send < gone:
                t_free = send  # the counter advanced; nothing went out
                lost.add(i)
                self.injected.append("lost")
                self.notes.append(f"lost #{i}")
                continue
            role: Literal["attempt", "early"] = "attempt"
            replica: int | None = None
            could_first = due if prev_end is None else max(due, prev_end)
            if target == "early":
                early = self.early_send(lower_bound(i, due), per, t_free)
                if early is not None:
                    send, replica = early
                    role = "early"
                    self.injected.append("early")
                    self.notes.append(f"early #{i} by {_fmt_ms(due - send)}")
            if send >= gone:
                stopped = True
                break
            attempted[i] = True
            scheduled = due  # go-etcd-cron's counter.next: a retry is due one interval after it
            failures = 0
            while True:
                status = 200 if role == "early" else self.status()
                success = 200 <= status < 300 or status == 404
                d = self.deliver(i, role if failures == 0 else "retry", send, could_first, per, status, replica)
                replica = None
                if d is None:  # pragma: no cover - every replica down for good: not generated
                    stopped = True
                    break
                sent.append(d)
                if success and target in ("dup-overlap", "cutoff") and role == "attempt":
                    resend = self.overlap(d, target == "cutoff", i, per)
                    if resend is not None:
                        sent.append(resend)
                        d = resend
                if success or d.status is None:
                    break
                failures += 1
                limit = self.policy.max_attempts
                if limit is not None and failures >= limit:
                    break
                scheduled += self.policy.interval_ns
                assert d.answered_end is not None and d.answer is not None
                retry_at = self.defer(max(scheduled, d.answered_end) + self.delay())
                if retry_at >= gone:
                    stopped = True
                    break
                could_first = max(d.answer, scheduled)
                send = retry_at
            if stopped:
                break
            assert d is not None
            prev_end = d.answer if d.answer is not None else d.arrival
            t_free = d.answered_end if d.answered_end is not None else d.arrival
            if target in ("dup-near", "dup-far") and d.status is not None and d.answer is not None:
                ok = 200 <= d.status < 300 or d.status == 404
                resend = self.resend(i, d, target, per, gone) if ok else None
                if resend is not None:
                    sent.append(resend)
                    prev_end = resend.answer if resend.answer is not None else resend.arrival
                    t_free = resend.answered_end if resend.answered_end is not None else resend.arrival

        # after the job: ghosts
        if "spurious-end" in chosen and continuation is not None and not stopped:
            send = self.defer(max(continuation, t_free) + self.delay())
            ghost = self.deliver(-1, "spurious", send, None, None, 200)
            if ghost is not None and ghost.arrival < collect_end - 300 * MS:
                lows = [lower_bound(k, due) for k, due in enumerate(live_dues)]
                if self.trades_with_ghost(sent, ghost, lows):
                    # the last attempt went out on its predecessor's answer (the job was busy when it fell due),
                    # so it reads as a re-send of the occurrence before; the ghost, within half a period of that
                    # answer, then reads as the last occurrence sent late: a duplicate and a spurious trade places
                    self.ambiguity.append("a ghost after the end, and a last attempt sent on its predecessor's answer")
                sent.append(ghost)
                self.injected.append("spurious-end")
                self.notes.append(f"spurious after repeats/ttl at +{_fmt_s(send - obs_start)}")
                # The evidence knows the creation only within [invoke, ok], so the time the job would next have
                # fired only within the two continuations: a ghost before the later one may be a late re-send.
                _, latest_end = _job_dues(plan, t_ok, collect_end)
                seen = ghost.arrival + self.offsets[ghost.replica]
                if latest_end is not None and seen + EARLY_TOLERANCE_NS < latest_end:
                    self.ambiguity.append("a ghost after the job ended, within the schedule call's uncertainty")
        if "spurious-delete" in chosen:
            later = [d for d in dues if d > first_delete_ok + 50 * MS]
            if later and later[0] < collect_end - 500 * MS and rng.random() < 0.5:
                send = later[0] + self.delay()
            else:
                send = first_delete_ok + rng.randint(50 * MS, 1500 * MS)
            ghost = self.deliver(-1, "spurious", send, None, None, 200)
            if ghost is not None and ghost.arrival < collect_end - 300 * MS:
                sent.append(ghost)
                self.injected.append("spurious-delete")
                self.notes.append(f"spurious {_fmt_ms(send - first_delete_ok)} after the delete")
        if len(deletes) > 1:
            self.injected.append("delete-mid")
            self.notes.append(f"deleted at +{_fmt_s(first_delete_inv - obs_start)}")

        # the truth
        duplicates = sum(1 for d in sent if d.role == "dup")
        early_n = sum(1 for d in sent if d.role == "early")
        spurious = sum(1 for d in sent if d.role == "spurious")
        retries = sum(1 for d in sent if d.role == "retry")
        missed = sum(1 for i, c in enumerate(counted) if c and not attempted[i])
        truth = Truth(duplicates, missed, early_n, spurious, retries)
        late = [
            d
            for d in sent
            if d.could_first is not None and d.period is not None and d.arrival - d.could_first > d.period // 2
        ]
        if any(d.role != "dup" for d in late):
            self.ambiguity.append("a stall")
        if any(d.role == "dup" for d in late):  # e.g. an overlapping re-send behind a handler longer than P/2
            self.ambiguity.append("a re-send more than half a period after it could first have been sent")
        if schedule is not None:
            kit = _kit(parse_schedule(schedule, "jobs"))
            period = kit_next(kit, kit_next(kit, t_inv)) - kit_next(kit, t_inv)  # the schedule's, repeats or not
            if t_ok - t_inv > period // 2:
                self.ambiguity.append("the schedule call took over half a period")
        if any(d.role == "early" and d.occ > 0 for d in sent):
            # an early fire after the previous occurrence was answered reads as a late re-send of that one
            self.ambiguity.append("an early fire (or a late re-send of the occurrence before)")
        for d in sent:
            k = d.occ + 1
            if d.role == "dup" and d.period is not None and k < len(dues):
                ahead = lower_bound(k, dues[k]) - (d.arrival + self.offsets[d.replica])
                if -EARLY_TOLERANCE_NS < ahead <= d.period // 2 + EARLY_TOLERANCE_NS:
                    # a re-send just before the next due reads as well as an early fire of the next occurrence
                    self.ambiguity.append("a re-send just before the next due (or an early fire of it)")
        missing = lost or any(c and not attempted[i] for i, c in enumerate(counted))  # lost, or never sent
        if missing and any(d.role in ("dup", "spurious", "early") for d in sent):
            # a lost occurrence and an extra delivery can trade places: the count and the order stay the same
            self.ambiguity.append("a lost occurrence and an extra delivery")
        if any(
            d.role == "attempt" and d.period is not None and d.arrival - dues[d.occ] > min(d.period // 2, 100 * MS)
            for d in sent
        ):
            # off schedule (a backlog behind slow handlers or retries): the deliveries are not pinned to their due
            # times, so a lost occurrence plus a duplicate of its neighbour keep the count and the order there too
            self.ambiguity.append("the job ran behind schedule")
        if any(
            lower_bound(i, due) <= counted_until < upper_bound(i, due) and not (i < len(attempted) and attempted[i])
            for i, due in enumerate(dues)
        ):
            # the evidence knows this due only within the schedule call's span, and counting ends inside it
            self.ambiguity.append("an occurrence due across the end of counting (by the evidence), never delivered")
        _, earliest_end = _job_dues(plan, t_inv, collect_end)
        if earliest_end is not None and any(
            d.occ >= 0 and d.role != "dup" and live_dues[d.occ] + EARLY_TOLERANCE_NS >= earliest_end for d in sent
        ):
            # a delivery on a due time that exists only if Dapr created the job late within the call: read early,
            # the job had ended before it, and it is a fire after the end
            self.ambiguity.append("a due time past the job's earliest end (by the evidence) fired")
        ambiguous = bool(self.ambiguity)
        unsent = sum(1 for i, c in enumerate(counted) if c and not attempted[i] and i not in lost)
        if unsent:
            self.notes.append(f"{unsent} counted never sent before the delete")
        if ambiguous:
            self.notes.append("ambiguous: " + "; ".join(dict.fromkeys(self.ambiguity)))

        deliveries = [
            Delivery(
                f"{self.seed}-{k}",
                "jobs",
                NAME,
                d.replica,
                d.arrival + self.offsets[d.replica],
                d.status,
                {},
                None if d.answer is None else d.answer + self.offsets[d.replica],
            )
            for k, d in enumerate(sent)
            if d.arrival <= collect_end
        ]
        deliveries.sort(key=lambda d: d.received_ns)
        windows = _windows(n, obs_start, collect_end, self.down, rng)
        inp = CheckInput(
            jobs=[plan],
            bindings=[],
            deliveries=deliveries,
            operations=ops,
            windows=windows,
            observe_start_ns=obs_start,
            observe_end_ns=obs_end,
            replicas=n,
            early_tolerance_ns=EARLY_TOLERANCE_NS,
            delete_grace_ns=DELETE_GRACE_NS,
            down=[ReplicaWindow(r, a, b) for r, cut in sorted(self.down.items()) for a, b in cut],
        )
        fp = "default" if failure is None else ("drop" if failure.kind == "drop" else "constant")
        head = (
            f"jobs {plan.schedule or 'oneshot'}"
            + (f" due={due_time}" if due_time else "")
            + (f" repeats={repeats}" if repeats else "")
            + (f" ttl={ttl}" if ttl else "")
            + f" N={n} {'rr' if self.round_robin else 'random'} h={regime}:{_fmt_ms(self.h_base)} fp={fp}"
            + f" fail={fail_rate:g} lat={_fmt_ms(latency)}{' skew' if skew else ''} obs={_fmt_s(obs_len)}"
        )
        trace = [
            f"created +{_fmt_s(created - obs_start)}; counted until +{_fmt_s(counted_until - obs_start)}; "
            f"gone +{_fmt_s(gone - obs_start)}; collect_end +{_fmt_s(collect_end - obs_start)}",
            *(
                f"#{i} due +{_fmt_s(due - obs_start)}{'' if c else ' (not counted)'}"
                f"{' LOST' if i in lost else '' if attempted[i] else ' never sent'}"
                for i, (due, c) in enumerate(zip(live_dues, counted, strict=True))
            ),
            *(_trace_sent(d, obs_start, self.offsets[d.replica]) for d in sent),
        ]
        truths = dict.fromkeys(POLICIES, truth)
        return _history(self.seed, "jobs", inp, truths, ambiguous, head, self.notes, self.injected, trace)

    # --- the parts of one delivery ---

    def delay(self) -> int:
        return self.rng.randint(200 * US, 3 * MS)

    def hop(self) -> int:
        return self.rng.randint(300 * US, 3 * MS)

    def handler(self) -> int:
        return max(0, int(self.h_base * self.rng.uniform(0.8, 1.2))) + self.rng.randint(0, MS)

    def status(self) -> int:
        draw = self.rng.random()
        if draw < self.fail_rate:
            return self.rng.choice((500, 503))
        return 404 if draw < self.fail_rate + 0.03 else 200

    def trades_with_ghost(self, sent: Sequence[_Sent], ghost: _Sent, lows: Sequence[int]) -> bool:
        """Whether the last attempt before a ghost and the ghost can trade roles on the evidence.

        The last attempt could not go out before its predecessor's answer, by the evidence (that answer came after
        the earliest the evidence allows for its due: ``lows``), so it is answer-shaped, not pinned to its due, and
        reads as a re-send of the occurrence before; any re-sends of it after it read the same way; the ghost,
        within half a period of the answer just before it (no stall), then reads as that occurrence sent late."""
        j = max((k for k, d in enumerate(sent) if d.role == "attempt"), default=None)
        if j is None or not sent or sent[-1].answer is None:
            return False
        last = sent[j]
        if last.occ < 1 or last.could_first is None or last.period is None:
            return False
        if any(d.role != "dup" or d.occ != last.occ for d in sent[j + 1 :]):
            return False
        answer = sent[-1].answer + self.offsets[sent[-1].replica]
        seen = ghost.arrival + self.offsets[ghost.replica]
        busy_at_due = last.could_first + EARLY_TOLERANCE_NS > lows[last.occ]
        return busy_at_due and seen - answer <= last.period // 2 + EARLY_TOLERANCE_NS

    def defer(self, t: int) -> int:
        for a, b in self.stalls:
            if a <= t < b:
                return b + self.delay()
        return t

    def is_down(self, replica: int, t: int) -> bool:
        return any(a <= t < b for a, b in self.down[replica])

    def pick(self, t: int, avoid: int | None = None) -> int | None:
        live = [r for r in range(self.n) if r != avoid and not self.is_down(r, t)]
        if not live:
            return None
        if self.round_robin:
            self.turn += 1
            return live[self.turn % len(live)]
        return self.rng.choice(live)

    def deliver(
        self,
        occ: int,
        role: Literal["attempt", "retry", "dup", "early", "spurious"],
        send: int,
        could_first: int | None,
        period: int | None,
        status: int,
        replica: int | None = None,
        avoid: int | None = None,
    ) -> _Sent | None:
        chosen = replica if replica is not None else self.pick(send, avoid)
        while chosen is None:  # no stream for the app: Dapr stages the trigger until one connects (§4.2)
            back = [b for r in range(self.n) if r != avoid for a, b in self.down[r] if a <= send < b]
            if not back:
                return None
            send = min(back) + self.delay()
            chosen = self.pick(send, avoid)
        arrival = send + self.hop()
        answer = arrival + self.handler()
        ack = answer + self.hop()
        if answer > self.collect_end:  # the ledger stops before the handler ends: no answer record
            return _Sent(occ, role, chosen, send, arrival, None, None, could_first, period, ack)
        return _Sent(occ, role, chosen, send, arrival, answer, status, could_first, period, ack)

    def early_send(self, bound: int, period: int | None, t_free: int) -> tuple[int, int] | None:
        """A send time before ``bound`` by 10 ms to P/2 as the app will read it, after the previous ack."""
        span = (period or 2 * NS) // 2
        lead = self.rng.randint(10 * MS, max(10 * MS, span))
        replica = self.pick(bound - lead)
        if replica is None:
            return None
        # the app reads it at send + hop (<= 3 ms) + its offset: at least ``lead`` (>= 10 ms, twice the tolerance)
        # before the bound
        send = bound - lead - 3 * MS - max(0, self.offsets[replica])
        if send <= t_free + 200 * US or any(a <= send < b for a, b in self.stalls):
            return None
        return send, replica

    def overlap(self, first: _Sent, kill: bool, occ: int, period: int | None) -> _Sent | None:
        """The stream of ``first``'s replica dies mid-handler; Dapr re-sends at once to another replica."""
        if self.n < 2 or first.answer is None:
            return None
        lo = first.arrival + 500 * US
        hi = first.answer - 7 * MS  # the re-send (delay + hop <= 6 ms) arrives before the first answer
        if hi <= lo:
            return None
        cut = self.rng.randint(lo, hi)
        send = cut + self.delay()
        again = self.deliver(occ, "dup", send, cut, period, 200, avoid=first.replica)
        if again is None or again.arrival >= first.answer or again.arrival >= self.resend_by:
            return None
        if kill:
            first.answer, first.status = None, None
            first.answered_end = cut
            self.down[first.replica].append((cut, cut + self.rng.randint(1 * NS, 5 * NS)))
            self.injected.append("cutoff")
            self.notes.append(f"cutoff #{occ} on r{first.replica}, re-sent to r{again.replica}")
        else:
            self.injected.append("dup-overlap")
            self.notes.append(f"dup-overlap #{occ} r{first.replica}/r{again.replica}")
        return again

    def resend(self, occ: int, closing: _Sent, kind: str, period: int | None, gone: int) -> _Sent | None:
        """A re-send of a closed occurrence: near (1-50 ms after the answer) or far (0.3-6 s, a reconnect)."""
        assert closing.answered_end is not None and closing.answer is not None
        gap = self.rng.randint(500 * US, 45 * MS) if kind == "dup-near" else self.rng.randint(300 * MS, 6 * NS)
        send = self.defer(closing.answered_end + gap)
        if send >= gone:
            return None
        again = self.deliver(occ, "dup", send, closing.answer, period, 200)
        if again is None or again.arrival >= self.resend_by:
            return None
        self.injected.append(kind)
        self.notes.append(f"{kind} #{occ} +{_fmt_ms(again.arrival - closing.answer)}")
        return again


# --- cron binding --------------------------------------------------------------------------------------------


@dataclass
class _Fire:
    """One run of a replica's cron callback (or a delivery that imitates one), host clock."""

    replica: int
    tick: int  # the Next value it ran for (a zombie: the tick it pretends)
    role: Literal["tick", "dup", "early", "zombie"]
    readtime: int
    arrival: int | None  # None: never reached the app (lost, killed first, after collect_end)
    answer: int | None
    status: int | None


@dataclass
class _BindingSim:
    rng: random.Random
    seed: int
    knobs: Knobs
    notes: list[str] = field(default_factory=list)
    injected: list[str] = field(default_factory=list)

    def run(self) -> GeneratedHistory | None:
        rng, knobs = self.rng, self.knobs
        chosen = _pick_injections(rng, knobs, BINDING_INJECTIONS)
        n = knobs.replicas or rng.randint(1, 5)
        skew = rng.random() < 0.5 if knobs.skew is None else knobs.skew
        offsets = [rng.randint(-3 * MS, 3 * MS) if skew else 0 for _ in range(n)]
        obs_start = T_BASE + rng.randint(0, 30 * 86_400) * NS + rng.randint(0, NS - 1)
        fixed = next((s for s in BINDING_SHAPES if s == knobs.schedule), None)
        shape = fixed or rng.choice(BINDING_SHAPES)
        if shape == "cron":
            step = rng.choice((1, 2, 3, 4, 5, 6, 10))
            text, period = f"*/{step} * * * * *", step * NS
        else:
            every_ms = rng.randint(500, 5000)
            text, period = f"@every {_go_ms(every_ms)}", every_ms * MS
        parsed = parse_schedule(text, "binding")
        self.period = period
        obs_len = rng.randint(max(10 * NS, 8 * period), max(20 * NS, 14 * period))
        obs_end = obs_start + obs_len
        collect_end = obs_end + rng.randint(2 * NS, 5 * NS) + rng.randint(100 * MS, 500 * MS)
        self.collect_end = collect_end
        schedule = _kit(parsed)
        self.schedule = schedule
        regime = _regime(rng, knobs)
        h_base = _handler_ns(rng, regime, period)
        fail_rate = knobs.fail_rate if knobs.fail_rate is not None else rng.choice((0.0, 0.0, 0.05))
        self.h_base, self.fail_rate = h_base, fail_rate
        late_share = rng.uniform(0.02, 0.1) if "late-wake" in chosen else 0.0
        edge = max(period, NS)

        # kills cut windows (one at a time per replica; the first kill is long enough to hold a zombie)
        cuts: dict[int, list[tuple[int, int]]] = {r: [] for r in range(n)}
        if "kill" in chosen or "zombie" in chosen:
            for j, r in enumerate(rng.sample(range(n), min(n, rng.choice((1, 1, 2))))):
                t_kill = rng.randint(obs_start + NS, obs_end - 2 * NS)
                down = rng.randint(2 * NS, 8 * NS)
                if j == 0 and "zombie" in chosen:
                    down = max(down, 2 * edge + NS + rng.randint(0, 2 * NS))
                cuts[r].append((t_kill, t_kill + down))
                self.notes.append(f"kill r{r} at +{_fmt_s(t_kill - obs_start)} for {_fmt_s(down)}")
            self.injected.append("kill")
        windows: list[ReplicaWindow] = []
        runs: list[tuple[int, int, int, bool]] = []  # (replica, cron start, stop, stopped by a kill)
        spans: dict[int, list[tuple[int, int]]] = {r: [] for r in range(n)}
        # every interval the checker counts ticks in, a short one too: where another reading may put a tick
        judged: dict[int, list[tuple[int, int]]] = {r: [] for r in range(n)}
        for r in range(n):
            t = obs_start - rng.randint(1 * NS, 5 * NS)
            segments: list[tuple[int, int, bool]] = []
            for a, b in cuts[r]:
                segments.append((t, a, True))
                t = b
            if t < collect_end:
                segments.append((t, collect_end, False))
            for ws, we, killed in segments:
                windows.append(ReplicaWindow(r, ws, we))
                start = ws + rng.randint(-50 * MS, min(300 * MS, period // 2))
                runs.append((r, start, we, killed))
                lo, hi = max(ws, obs_start) + period, min(we, obs_end) - period
                if lo <= hi:
                    judged[r].append((lo, hi))
                if hi - lo >= period:  # a span shorter than a period may hold no tick: nothing would be counted
                    spans[r].append((lo, hi))
        if not any(spans.values()):
            return None
        every = isinstance(schedule, EverySchedule)
        if every and n > 1 and _shared_ns(spans) < 4 * period:
            return None  # exactly-once is judged "several per period" below: two replicas must share some periods

        def counted(r: int, tick: int) -> bool:
            return any(lo <= tick <= hi for lo, hi in spans[r])

        # targeted injections: (replica, not before this time) -> the first counted tick there takes it
        pending: dict[int, list[tuple[int, str]]] = {r: [] for r in range(n)}
        for kind in ("lost", "dup-resend", "dup-double", "early"):
            if kind in chosen:
                for _ in range(rng.choice((1, 1, 2))):
                    r = rng.randrange(n)
                    pending[r].append((rng.randint(obs_start + period, obs_end - period), kind))
        for r in range(n):
            pending[r].sort()

        fires: list[_Fire] = []
        reached: list[tuple[int, int]] = []  # (replica, tick) the cron ran for
        for r, start, stop, killed in runs:
            nxt = kit_next(schedule, start)
            last_wake = start
            pinned = not every  # the tick's time is known from the evidence (@every: a previous firing in this run)
            while nxt < stop:
                tick = nxt
                todo = next((p for p in pending[r] if p[0] <= tick and counted(r, tick)), None)
                if todo is not None and todo[1] in ("lost", "early") and not pinned:
                    todo = None  # the first tick of an @every run hangs on the cron's unobserved start
                if todo is not None and todo[1] == "early":
                    wake = tick - rng.randint(10 * MS, max(10 * MS, period // 2))
                    if wake > last_wake + MS and wake > start:
                        pending[r].remove(todo)
                        fires.append(self.fire(r, tick, "early", wake, stop, killed))
                        reached.append((r, tick))
                        self.injected.append("early")
                        self.notes.append(f"early r{r} {_fmt_ms(tick - wake)} before +{_fmt_s(tick - obs_start)}")
                        last_wake = wake
                        nxt = kit_next(schedule, wake)  # aligned: the same tick again; @every: from the wake
                        continue
                    todo = None
                # a lost tick's own wake is never late: it is invisible, and would blur one lost @every tick into two
                late = rng.random() < late_share and not (todo is not None and todo[1] == "lost")
                lateness = rng.randint(100 * MS, min(900 * MS, period * 6 // 10)) if late else rng.randint(0, 5 * MS)
                wake = tick + lateness
                if wake >= stop:
                    break
                reached.append((r, tick))
                f = self.fire(r, tick, "tick", wake, stop, killed)
                if todo is not None:
                    pending[r].remove(todo)
                    self.injected.append(todo[1])
                    self.notes.append(f"{todo[1]} r{r} at +{_fmt_s(tick - obs_start)}")
                    if todo[1] == "lost":
                        f.arrival, f.answer, f.status = None, None, None
                    elif todo[1] == "dup-resend" and f.arrival is not None:
                        # the same request again (same readtimeutc), a little later
                        gap = rng.randint(1 * MS, max(1 * MS, min(period // 3, 500 * MS)))
                        again = self.fire(r, tick, "dup", wake, stop, killed, f.arrival + gap)
                        again.readtime = f.readtime
                        fires.append(again)
                    elif todo[1] == "dup-double":
                        second = wake + rng.randint(0, 5 * MS)
                        fires.append(self.fire(r, tick, "dup", second, stop, killed))
                fires.append(f)
                last_wake = wake
                pinned = True
                nxt = kit_next(schedule, wake)

        if "zombie" in chosen:
            zombie = self.zombie(cuts, edge)
            if zombie is not None:
                fires.append(zombie)
                self.injected.append("zombie")
                self.notes.append(f"zombie r{zombie.replica} at +{_fmt_s(zombie.readtime - obs_start)}")
        if late_share:
            self.injected.append("late-wake")
            self.notes.append(f"late wakes {late_share:.0%}")

        truth = self.truth(fires, reached, spans, n, every)
        deliveries = [
            Delivery(
                f"{self.seed}-{k}",
                "binding",
                BINDING_NAME,
                f.replica,
                f.arrival + offsets[f.replica],
                f.status,
                {"timezone": "Local", "readtimeutc": go_utc_string(f.readtime)},
                None if f.answer is None else f.answer + offsets[f.replica],
            )
            for k, f in enumerate(fires)
            if f.arrival is not None
        ]
        deliveries.sort(key=lambda d: d.received_ns)
        inp = CheckInput(
            jobs=[],
            bindings=[BindingPlan(BINDING_NAME, text, "contract")],
            deliveries=deliveries,
            operations=[],
            windows=windows,
            observe_start_ns=obs_start,
            observe_end_ns=obs_end,
            replicas=n,
            early_tolerance_ns=EARLY_TOLERANCE_NS,
            delete_grace_ns=DELETE_GRACE_NS,
            # surely down: from the kill until the replica's cron may start again (up to 50 ms before its window)
            down=[ReplicaWindow(r, a, b - 50 * MS) for r, cut in sorted(cuts.items()) for a, b in cut],
        )
        head = (
            f"binding {text} N={n} h={regime}:{_fmt_ms(h_base)} fail={fail_rate:g}"
            f"{' skew' if skew else ''} obs={_fmt_s(obs_len)}"
        )
        trace = [
            *(
                f"r{r} counted +{_fmt_s(lo - obs_start)}..+{_fmt_s(hi - obs_start)}"
                for r, ss in spans.items()
                for lo, hi in ss
            ),
            *(_trace_fire(f, obs_start, offsets[f.replica]) for f in sorted(fires, key=lambda f: f.readtime)),
        ]
        ambiguous = self.lone_late_fire(fires, judged, schedule, period)
        if ambiguous:
            self.notes.append("ambiguous: a lone fire past its interval's midpoint (late, or a lost tick + early)")
        return _history(self.seed, "binding", inp, truth, ambiguous, head, self.notes, self.injected, trace)

    def lone_late_fire(
        self, fires: list[_Fire], spans: Mapping[int, list[tuple[int, int]]], schedule: object, period: int
    ) -> bool:
        """Whether some tick's only fire came more than half a period after it, that tick or the next one counted: a
        late wake reads the same as a lost tick plus an early fire for the next one (the stall rule's twin for
        bindings). ``spans``: every interval the checker counts ticks in, one shorter than a period too (it may hold
        the tick the other reading fires early for: seed 20942, a replica's life cut by a kill 1.5 periods after
        the window opened)."""
        for r, ss in spans.items():
            mine = sorted(f.readtime for f in fires if f.replica == r and f.arrival is not None)
            for a, b in itertools.pairwise(mine):
                if isinstance(schedule, EverySchedule):
                    late = b - a - period
                    near = (a + period, a + 2 * period)  # the tick it is late for, and the one it may be early for
                    if period // 2 < late < period - EARLY_TOLERANCE_NS and any(
                        lo <= t <= hi for lo, hi in ss for t in near
                    ):
                        return True
            if not isinstance(schedule, EverySchedule):
                for x in mine:
                    tick = (x // period) * period  # the tick at or before x: */k seconds ticks are multiples of k s
                    alone = sum(1 for y in mine if tick <= y < tick + period) == 1
                    near = (tick, tick + period)
                    if alone and x - tick > period // 2 and any(lo <= t <= hi for lo, hi in ss for t in near):
                        return True
        return False

    def fire(
        self,
        replica: int,
        tick: int,
        role: Literal["tick", "dup", "early", "zombie"],
        wake: int,
        stop: int,
        killed: bool,
        arrival_at: int | None = None,
    ) -> _Fire:
        rng, h_base = self.rng, self.h_base
        readtime = wake + rng.randint(10 * US, 300 * US)  # the callback's goroutine reads time.Now()
        arrival: int | None = readtime + rng.randint(300 * US, 3 * MS) if arrival_at is None else arrival_at
        answer: int | None = None if arrival is None else arrival + int(h_base * rng.uniform(0.8, 1.2))
        status: int | None = 500 if rng.random() < self.fail_rate else 200
        if arrival is not None and ((killed and arrival >= stop) or arrival > self.collect_end):
            arrival = None  # the process died first, or the ledger had stopped
        if arrival is None or answer is None or (killed and answer >= stop) or answer > self.collect_end:
            answer, status = None, None  # cut off mid-handler
        return _Fire(replica, tick, role, readtime, arrival, answer, status)

    def zombie(self, cuts: Mapping[int, list[tuple[int, int]]], edge: int) -> _Fire | None:
        """A delivery from a replica deep inside a cut of its window (surely down): its cron pretending a tick."""
        for r in sorted(cuts):
            for a, b in cuts[r]:
                lo, hi = a + edge, min(b, self.collect_end) - edge
                if lo >= hi:
                    continue
                if isinstance(self.schedule, EverySchedule):
                    tick = self.rng.randint(lo, hi)
                else:
                    tick = self.schedule.next_after(lo)
                    if tick > hi:
                        continue
                wake = tick + self.rng.randint(0, 5 * MS)
                zombie = self.fire(r, tick, "zombie", wake, b, False)
                zombie.status = None if zombie.answer is None else 200
                return zombie
        return None

    def truth(
        self,
        fires: list[_Fire],
        reached: list[tuple[int, int]],
        spans: Mapping[int, list[tuple[int, int]]],
        n: int,
        every: bool,
    ) -> dict[Policy, Truth]:
        delivered = [f for f in fires if f.arrival is not None]
        early = sum(1 for f in delivered if f.role == "early")
        spurious = sum(1 for f in delivered if f.role == "zombie")
        per_unit: dict[tuple[int, int], int] = {}
        early_units: set[tuple[int, int]] = set()
        for f in delivered:
            if f.role in ("tick", "dup"):
                per_unit[(f.replica, f.tick)] = per_unit.get((f.replica, f.tick), 0) + 1
            elif f.role == "early":
                early_units.add((f.replica, f.tick))

        def in_spans(r: int, t: int) -> bool:
            return any(lo <= t <= hi for lo, hi in spans[r])

        units = sorted({u for u in reached if in_spans(*u)})
        missed = sum(1 for u in units if per_unit.get(u, 0) == 0 and u not in early_units)
        dups = sum(max(0, per_unit.get(u, 0) - 1) for u in units)
        contract = Truth(dups, missed, early, spurious)
        if every and n > 1:
            return {"contract": contract, "exactly-once": Truth(None, None, early, spurious)}
        if n == 1:
            return {"contract": contract, "exactly-once": contract}
        # aligned, several replicas: one unit per tick across replicas, over the union of the counted spans
        ticks = sorted({t for r, t in reached if in_spans(r, t)})
        per_tick: dict[int, int] = {}
        for (_, t), count in per_unit.items():
            per_tick[t] = per_tick.get(t, 0) + count
        early_ticks = {t for _, t in early_units}
        once = Truth(
            sum(max(0, per_tick.get(t, 0) - 1) for t in ticks),
            sum(1 for t in ticks if per_tick.get(t, 0) == 0 and t not in early_ticks),
            early,
            spurious,
        )
        return {"contract": contract, "exactly-once": once}


def _shared_ns(spans: Mapping[int, list[tuple[int, int]]]) -> int:
    """How long at least two replicas' counted spans overlap (total)."""
    edges = sorted((t, step) for ss in spans.values() for lo, hi in ss for t, step in ((lo, 1), (hi, -1)))
    shared, depth, since = 0, 0, 0
    for t, step in edges:
        if depth >= 2:
            shared += t - since
        depth += step
        since = t
    return shared


def _trace_sent(d: _Sent, origin: int, offset: int) -> str:
    answer = "cut off" if d.answer is None else f"answered +{_fmt_s(d.answer - origin)}"
    slow = ""
    if d.could_first is not None and d.period is not None and d.arrival - d.could_first > d.period // 2:
        slow = f" STALLED {_fmt_ms(d.arrival - d.could_first)} after it could first be sent"
    return (
        f"  {d.role} #{d.occ} r{d.replica} sent +{_fmt_s(d.sent - origin)} arrived +{_fmt_s(d.arrival - origin)} "
        f"(app {'+' if offset >= 0 else ''}{_fmt_ms(offset)}) {answer} status {d.status}{slow}"
    )


def _trace_fire(f: _Fire, origin: int, offset: int) -> str:
    where = "never arrived" if f.arrival is None else f"arrived +{_fmt_s(f.arrival - origin)}"
    return (
        f"  {f.role} r{f.replica} tick +{_fmt_s(f.tick - origin)} read +{_fmt_s(f.readtime - origin)} {where} "
        f"(app {'+' if offset >= 0 else ''}{_fmt_ms(offset)}) status {f.status}"
    )


def _is_relative(text: str) -> bool:
    """A dueTime/ttl that is a duration (relative to creation), not an RFC 3339 time ("2026-01-01T...")."""
    return not (len(text) > 10 and text[4] == "-" and "T" in text)


def _rfc3339(ns: int) -> str:
    seconds, frac = divmod(ns, NS)
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def _period_at(dues: list[int], i: int, oneshot: bool) -> int | None:
    if oneshot or len(dues) < 2:
        return None
    return dues[i] - dues[i - 1] if i > 0 else dues[1] - dues[0]


def _job_dues(plan: JobPlan, created: int, horizon: int) -> tuple[list[int], int | None]:
    """go-etcd-cron's due times up to ``horizon``; and, when repeats/ttl ended the job before it, the time it would
    next have fired (None otherwise)."""
    due = None if plan.due_time is None else parse_due_time(plan.due_time, created)
    if plan.schedule is None:
        assert due is not None
        return ([due] if due <= horizon else []), None
    schedule = _kit(parse_schedule(plan.schedule, "jobs"))
    expiry = job_expiration_ns(plan, created)
    t = due if due is not None else kit_next(schedule, created)
    out: list[int] = []
    while t <= horizon:
        if (plan.repeats is not None and len(out) >= plan.repeats) or (expiry is not None and t > expiry):
            return out, t
        out.append(t)
        t = kit_next(schedule, t)
    return out, None


def _windows(
    n: int, obs_start: int, collect_end: int, down: Mapping[int, list[tuple[int, int]]], rng: random.Random
) -> list[ReplicaWindow]:
    out: list[ReplicaWindow] = []
    for r in range(n):
        t = obs_start - rng.randint(1 * NS, 5 * NS)
        for a, b in sorted(down.get(r, [])):
            if a > t:
                out.append(ReplicaWindow(r, t, a))
            t = max(t, b)
        if t < collect_end:
            out.append(ReplicaWindow(r, t, collect_end))
    return out


def _history(
    seed: int,
    kind: SourceKind,
    inp: CheckInput,
    truth: Mapping[Policy, Truth],
    ambiguous: bool,
    head: str,
    notes: list[str],
    injected: list[str],
    trace: list[str],
) -> GeneratedHistory:
    expected: dict[Policy, Verdict] = {p: "fail" if truth[p].fails(p) else "pass" for p in POLICIES}
    description = head + " | " + ("; ".join(notes) if notes else "clean")
    return GeneratedHistory(
        seed, kind, inp, dict(truth), expected, ambiguous, description, tuple(dict.fromkeys(injected)), tuple(trace)
    )
