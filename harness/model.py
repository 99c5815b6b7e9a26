"""The data every part of a run shares: what was scheduled, what the harness did, what the apps received.

Pure data: frozen dataclasses and literals, no I/O, no third-party imports. The ledger produces ``Delivery`` and
``Operation`` rows; the plan produces ``JobPlan`` and ``BindingPlan``; the checker turns all of them into
``SourceResult`` rows. All times are integer nanoseconds since the Unix epoch on the host clock (every process of
the local backend shares one clock).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, cast, overload

SourceKind = Literal["jobs", "binding"]
Policy = Literal["exactly-once", "contract"]
Verdict = Literal["pass", "fail", "unknown"]
VERDICT_RANK: dict[Verdict, int] = {"pass": 0, "unknown": 1, "fail": 2}  # worse is higher; unknown is not pass
LOAD_PREFIX = "load-"  # the name of every job the load creates starts with it (harness.load.workload)
ALL_MEMBERS = -1  # a network fault's target when it cuts the links to every scheduler member (harness.nemesis)
FANOUT_WIDTH = 3  # digits in a fan-out member's name (harness.scenario.schema.FanOutSpec)


def fanout_member_names(name: str, count: int) -> list[str]:
    """The members of fan-out ``name``: ``name-000``, ``name-001``, ... (zero-padded, so they sort in due order)."""
    return [f"{name}-{k:0{FANOUT_WIDTH}d}" for k in range(count)]


class Capability(StrEnum):
    """One thing a cluster backend can do to a running cluster beyond running it (``harness.cluster.base``); each
    fault kind needs one (``harness.faults``)."""

    KILL = "kill"  # signal a replica's app/daprd or a scheduler member to exit, and start it again
    PAUSE = "pause"  # freeze a replica's app/daprd and thaw it
    RESTART = "restart"  # restart a replica's app/daprd or a scheduler member in place
    NETWORK = "network"  # delay, blackhole or reset the link between the daprds and a scheduler member
    SCALE = "scale"  # add or remove replicas mid-run
    UPGRADE = "upgrade"  # restart one member on other Dapr binaries
    CHART_UPGRADE = "chart-upgrade"  # upgrade Dapr's Helm release, then roll the app's pods onto the new sidecar
    OWN_APP = "own-app"  # run a user's own app (app.command) behind the recording hop instead of the recorder
    LOAD_WORKERS = "load-workers"  # run the load as Locust's master and N worker processes (``--workers N``)


def rank(verdict: str) -> int:
    """How bad a verdict is (``VERDICT_RANK``); anything else, e.g. a missing verdict, counts as unknown."""
    return VERDICT_RANK.get(cast(Verdict, verdict), 1)


def worst(verdicts: Iterable[str]) -> Verdict:
    """The worst of ``verdicts`` (pass < unknown < fail); ``pass`` for none."""
    order: tuple[Verdict, ...] = ("pass", "unknown", "fail")
    return order[max((rank(v) for v in verdicts), default=0)]


def version_tuple(version: str) -> tuple[int, ...]:
    """(1, 16, 0) for "1.16.0"; a version that is not numeric (a user's "edge" build) counts as newest."""
    try:
        return tuple(int(p) for p in version.removeprefix("v").split("-")[0].split("."))
    except ValueError:
        return (999,)


OpPhase = Literal["invoke", "ok", "fail", "info"]  # info: outcome unknown (e.g. read timeout)

NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class FailurePolicy:
    """A Jobs API failure policy. ``max_retries`` None with kind "constant" means retry forever."""

    kind: Literal["constant", "drop"] = "constant"
    interval_ns: int = NS
    max_retries: int | None = 3

    @property
    def max_attempts(self) -> int | None:
        """Deliveries one occurrence can get when every attempt fails (None: unbounded)."""
        if self.kind == "drop":
            return 1
        return None if self.max_retries is None else 1 + self.max_retries


DEFAULT_FAILURE_POLICY = FailurePolicy()  # go-etcd-cron internal/scheduler/builder.go: constant, 1 s, 3 retries


@dataclass(frozen=True, slots=True)
class JobPlan:
    """One Jobs API job as the scenario asks for it (strings exactly as sent to Dapr)."""

    name: str
    schedule: str | None = None  # 6-field cron, "@every 1s", "@hourly", ...
    due_time: str | None = None  # "5s", RFC3339, or ISO8601 duration
    repeats: int | None = None
    ttl: str | None = None
    failure_policy: FailurePolicy | None = None  # None: Dapr's default (DEFAULT_FAILURE_POLICY)
    policy: Policy = "exactly-once"


@dataclass(frozen=True, slots=True)
class BindingPlan:
    """One cron input binding; every replica's daprd runs its own copy."""

    name: str
    schedule: str
    policy: Policy = "contract"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request a target app received from its daprd: its arrival record, joined with its answer record.

    The app writes the arrival before any handler work and the answer after it. A delivery with an arrival and no
    answer is *cut off* (``status`` None): the app died, or the run ended, mid-handler. It still reached business
    logic, so it counts as a delivery; Dapr never got an answer for it.
    """

    delivery_id: str  # unique per request (uuid4 hex), so a retried ledger write is not a duplicate delivery
    source: SourceKind
    name: str  # job name, or binding name
    replica: int
    received_ns: int  # the app's clock when the request arrived (the arrival record)
    status: int | None  # the HTTP status the app answered; None: cut off (no answer record)
    headers: dict[str, str] = field(default_factory=dict)
    answered_ns: int | None = None  # the app's clock when it answered; None: cut off, or a run from before answers
    effects: tuple[str, ...] = ()  # the side effects the handler ran ("naive", "idempotent")

    @property
    def cut_off(self) -> bool:
        return self.status is None


class LatenessSamples(Sequence[tuple[int, Delivery]]):
    """(due time, the delivery that answered it first) for each counted occurrence that was delivered, kept as two
    columns: a long run has a million, and a pair object each is a million more objects for Python's cycle collector
    to walk once the check is over (about 0.4 s at a million). Reads as the sequence of pairs, equals any sequence
    of the same pairs, and shows as one."""

    __slots__ = ("dues", "firsts")

    def __init__(self, dues: Sequence[int] = (), firsts: Sequence[Delivery] = ()) -> None:
        if len(dues) != len(firsts):
            raise ValueError(f"{len(dues)} due times for {len(firsts)} deliveries")
        self.dues = tuple(dues)
        self.firsts = tuple(firsts)

    def __len__(self) -> int:
        return len(self.dues)

    @overload
    def __getitem__(self, k: int) -> tuple[int, Delivery]: ...

    @overload
    def __getitem__(self, k: slice) -> Sequence[tuple[int, Delivery]]: ...

    def __getitem__(self, k: int | slice) -> tuple[int, Delivery] | Sequence[tuple[int, Delivery]]:
        if isinstance(k, slice):
            return LatenessSamples(self.dues[k], self.firsts[k])
        return (self.dues[k], self.firsts[k])

    def __iter__(self) -> Iterator[tuple[int, Delivery]]:
        return zip(self.dues, self.firsts, strict=True)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LatenessSamples):
            return self.dues == other.dues and self.firsts == other.firsts
        if not isinstance(other, Sequence) or len(other) != len(self):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # equal to a tuple of pairs, so it cannot hash like one

    def __repr__(self) -> str:
        return repr(tuple(self))


@dataclass(frozen=True, slots=True)
class Operation:
    """One harness action, recorded as an ``invoke`` row and then one ``ok``/``fail``/``info`` row."""

    op_id: str
    kind: Literal["schedule", "get", "delete", "fault"]
    name: str  # job name, or fault label
    phase: OpPhase
    at_ns: int
    detail: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReplicaWindow:
    """When a replica was able to receive deliveries (from ready to stop), for the binding oracle."""

    replica: int
    start_ns: int
    end_ns: int


@dataclass(frozen=True, slots=True)
class Witness:
    """Evidence for one anomaly: the deliveries involved, readable without the rest of the run."""

    kind: Literal["duplicate", "missed", "early", "spurious", "retry", "ambiguous"]
    source: SourceKind
    name: str
    due_ns: int | None  # the occurrence (or tick) concerned; None when there is none (spurious)
    deliveries: tuple[Delivery, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class Lateness:
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None


@dataclass(frozen=True, slots=True)
class SourceResult:
    """The figures for one source (one job, or one cron binding) under its policy. Mirrors results.json."""

    source: SourceKind
    name: str
    policy: Policy
    replicas: int
    occurrences: int  # jobs: occurrences due in the window; bindings: ticks in the window
    deliveries: int
    duplicates: int
    retries: int
    missed: int
    early: int
    spurious: int
    lateness_ms: Lateness
    per_replica: dict[int, int]
    side_effects: dict[str, int]  # {"naive": n, "idempotent": m}
    verdict: Verdict
    witnesses: tuple[Witness, ...] = ()
    notes: tuple[str, ...] = ()
    # one per counted occurrence that was delivered: its due time and the delivery that answered it first (the
    # lateness percentiles are over these); lateness.csv holds them
    lateness_samples: Sequence[tuple[int, Delivery]] = ()
    # deliveries recorded but not counted against an occurrence, by why (after the window, edge ticks, ...)
    uncounted: dict[str, int] = field(default_factory=dict)

    @property
    def received(self) -> int:
        """Every delivery the apps recorded for this source (``deliveries`` counts those judged against it)."""
        return sum(self.per_replica.values())

    @property
    def deliveries_per_occurrence(self) -> float | None:
        return None if self.occurrences == 0 else self.deliveries / self.occurrences
