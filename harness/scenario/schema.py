"""What a scenario is: its sections as a strict pydantic schema, validated all at once, with its plans and its hash.

Reading a file into it (YAML, ``--set`` overrides, pydantic's errors as our lines) is ``harness.scenario.loader``.

The file is plain data with fixed sections (``name``, ``cluster``, ``sources`` and ``observe`` are required;
``description``, ``seed``, ``dapr``, ``app``, ``expect``, ``workload``, ``faults`` and ``actions`` are optional).
Every problem is reported as one short line naming the file, the field path, the bad value and what would be valid, e.g.
``scenarios/x.yaml: cluster.replicas: -1 is not valid: must be at least 1``; all problems at once, as one
``ScenarioError`` (an ``InputError``: exit 3, nothing started).

Durations (``observe.duration``, ``observe.quiesce``, a failure policy's ``interval``) are Go-style strings
("60s", "500ms", "1m30s") or a bare number of seconds; they load as ``timedelta`` and are written back in one
canonical form ("60s", "500ms", "250us"), so "1m" and "60s" are the same scenario and hash the same.
Schedules, ``due_time`` and ``ttl`` are sent to Dapr verbatim; they are checked with the oracle's own parsers
(``harness.oracle.ticks``), so a scenario that validates is one the checker can model.

A job source is a recurring or one-shot job (``schedule`` / ``due_time`` / ``repeats`` / ``ttl``), or a fan-out:
``fanout: {every: 1s, count: 60, start: 1s}`` (``start`` optional, default ``every``) is 60 one-shot jobs
``<name>-000`` ... ``<name>-059``, member k due ``start + k x every`` after the runner begins creating them (an
absolute RFC 3339 ``dueTime``: ``harness.run.fanout``), reported as one source. It excludes ``schedule``, ``due_time``,
``repeats`` and ``ttl``; ``count`` is 1 to 1000; ``start`` must leave 4 ms per member to create them all before
the first is due, and the last member must be due at least 2 s before ``observe.duration`` ends.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)

from harness.errors import InputError
from harness.faults.kind import FaultKind
from harness.faults.registry import kind_of, names
from harness.model import FANOUT_WIDTH, NS, BindingPlan, FailurePolicy, JobPlan, Policy, fanout_member_names
from harness.oracle.ticks import validate_job, validate_schedule
from harness.oracle.times import ScheduleError, parse_due_time, parse_go_duration
from harness.scenario.user_app import user_app_problems
from target_app.settings import SideEffect
from toolchain.versions import SUPPORTED

REQUIRED_SECTIONS = ("name", "cluster", "sources", "observe")
MAX_ERRORS = 10


class ScenarioError(InputError):
    """A scenario that cannot run: one line per problem, each naming the file and the field."""


class Invalid(ValueError):
    """A validator's complaint. ``field`` extends the path pydantic reports (a model validator's loc is the model)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def show(value: object) -> str:
    """A value as the user wrote it in YAML: 'three', -1, true, null, a mapping."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return str(value)


@dataclass(frozen=True, slots=True)
class Written:
    """How a field is written and its default, in plain words where its type and default do not say it (the
    scenario reference, ``harness.scenario.reference``); pydantic keeps it in the field's metadata and ignores it."""

    words: str = ""
    default: str = ""


DURATION_WORDS = "`60s`, `500ms`, `1m30s`, or a number of seconds"
WHEN_WORDS = "a Go duration (`5s`), an RFC 3339 time, or an ISO 8601 duration (`PT5S`)"
BUSY_WORDS = "`jobs`, `binding`, or `{source: jobs, name: <job>}`"


# --- durations -------------------------------------------------------------------------------------------------

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_BARE_SECONDS = re.compile(rf"[+-]?{_NUMBER}")
DURATION_HINT = "use e.g. 60s, 500ms, 1m30s, or a number of seconds"


def go_duration_ns(text: str) -> int | None:
    """Nanoseconds of a Go duration ("1m30s", "-500ms", "0"), as Go's ``time.ParseDuration`` reads it (one parser
    for the scenario and the oracle: ``harness.oracle.ticks.parse_go_duration``), or None when it is not one."""
    try:
        return parse_go_duration(text.strip())
    except ScheduleError:
        return None


def duration_ns(value: object) -> int:
    """Nanoseconds of a scenario duration: a Go duration string, or a number (or numeric string) of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return int(Decimal(str(value)) * NS)
    if isinstance(value, str):
        if _BARE_SECONDS.fullmatch(value.strip()):
            return int(Decimal(value.strip()) * NS)
        ns = go_duration_ns(value)
        if ns is not None:
            return ns
        raise Invalid(f"{show(value)} is not a duration: {DURATION_HINT}")
    raise Invalid(f"expected a duration ({DURATION_HINT}), got {show(value)}")


def format_duration(value: timedelta) -> str:
    """The canonical text of a duration: whole seconds as "60s", else "500ms", else "250us"."""
    us = value // timedelta(microseconds=1)
    if us % 1_000_000 == 0:
        return f"{us // 1_000_000}s"
    if us % 1_000 == 0:
        return f"{us // 1_000}ms"
    return f"{us}us"


def _to_timedelta(value: object) -> timedelta:
    ns = duration_ns(value)
    if ns % 1_000:
        raise Invalid(f"{show(value)} is not valid: durations have microsecond resolution")
    return timedelta(microseconds=ns // 1_000)


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise Invalid(f"{format_duration(value)!r} is not valid: must be greater than 0s")
    return value


def _non_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise Invalid(f"{format_duration(value)!r} is not valid: must be at least 0s")
    return value


_Read = BeforeValidator(_to_timedelta)
_Write = PlainSerializer(format_duration, return_type=str)
PositiveDuration = Annotated[
    timedelta, _Read, AfterValidator(_positive), _Write, Written(f"a duration over 0: {DURATION_WORDS}")
]
NonNegativeDuration = Annotated[
    timedelta, _Read, AfterValidator(_non_negative), _Write, Written(f"a duration: {DURATION_WORDS}")
]


def timedelta_ns(value: timedelta) -> int:
    return (value // timedelta(microseconds=1)) * 1_000


# --- field checks ----------------------------------------------------------------------------------------------

_NAME = re.compile(r"[a-z0-9-]{1,63}")


def _check_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise Invalid(f"{show(value)} is not valid: use 1 to 63 characters from a-z, 0-9 and '-'")
    return value


Name = Annotated[str, AfterValidator(_check_name), Written("a name: 1 to 63 of `a-z`, `0-9`, `-`")]


def _check_when(value: str | None, field: Literal["due_time", "ttl"]) -> str | None:
    """A due time or ttl as Dapr takes it (Go duration, RFC 3339 time, ISO 8601 duration): the oracle's parser."""
    if value is None:
        return None
    try:
        parse_due_time(value, 0)  # ttl takes the same forms (builder.go parsePointInTime)
    except ScheduleError as exc:
        raise ScheduleError(str(exc).replace("dueTime", field, 1)) from None
    return value


DueTime = Annotated[str | None, AfterValidator(lambda v: _check_when(v, "due_time")), Written(WHEN_WORDS)]
Ttl = Annotated[str | None, AfterValidator(lambda v: _check_when(v, "ttl")), Written(WHEN_WORDS)]


def _check_schedule(value: str, kind: Literal["jobs", "binding"]) -> str:
    validate_schedule(value, kind)  # ScheduleError is a ValueError: pydantic reports it at the field
    return value


def _job_schedule(value: str | None) -> str | None:
    return None if value is None else _check_schedule(value, "jobs")


def _binding_schedule(value: str) -> str:
    return _check_schedule(value, "binding")


JobSchedule = Annotated[
    str | None,
    AfterValidator(_job_schedule),
    Written("cron with seconds (`*/5 * * * * *`), `@every 5s`, or `@hourly`, `@daily`, ..."),
]
BindingSchedule = Annotated[
    str,
    AfterValidator(_binding_schedule),
    Written("cron, seconds optional (`*/2 * * * * *`), `@every 2s`, or `@hourly`, `@daily`, ..."),
]


# --- the sections ----------------------------------------------------------------------------------------------


class _Section(BaseModel):
    """A section of the format. Each field's docstring says what it means, for people who write scenarios (the
    scenario reference, docs/scenario-reference.md, is made from them)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True)


class DaprSection(_Section):
    """Which Dapr to run. Neither field: the command line's version, else the default; a version the scenario names
    is replaced from the command line only with ``--override-scenario-dapr`` (``harness.campaign.binaries``)."""

    version: Annotated[str | None, Written(f"a Dapr version: {', '.join(SUPPORTED)}")] = None
    """The Dapr version the run starts on (binaries onceonly builds); absent: the command line's, else the default."""
    bin_dir: Annotated[str | None, Written("a directory")] = None
    """A directory with your own `daprd` and `scheduler` to run instead of a version (give one of the two)."""
    upgrade_to: Annotated[str | None, Written(f"a Dapr version: {', '.join(SUPPORTED)}")] = None
    """The version a rolling upgrade switches members to, one `upgrade` / `scheduler-upgrade` fault at a time."""
    upgrade_bin_dir: Annotated[str | None, Written("a directory")] = None
    """A directory of binaries to upgrade to, instead of `upgrade_to` (give one of the two)."""

    @field_validator("version", "upgrade_to")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.removeprefix("v") not in SUPPORTED:
            raise Invalid(f"{show(value)} is not a supported Dapr version: must be one of {', '.join(SUPPORTED)}")
        return value.removeprefix("v")

    @model_validator(mode="after")
    def _one_way(self) -> DaprSection:
        if self.version is not None and self.bin_dir is not None:
            raise Invalid("give either version or bin_dir, not both")
        if self.upgrade_to is not None and self.upgrade_bin_dir is not None:
            raise Invalid("give either upgrade_to or upgrade_bin_dir, not both")
        return self

    @property
    def upgrades(self) -> bool:
        return self.upgrade_to is not None or self.upgrade_bin_dir is not None


class ClusterSection(_Section):
    replicas: int = Field(ge=1, le=20)
    """How many replicas run at the start: each an app and its daprd sidecar, all one app-id."""
    schedulers: Annotated[int, Written("`1` or `3`")] = 1
    """Scheduler members: 1, or 3 for an HA cluster (scheduler faults then pick one)."""

    @field_validator("schedulers")
    @classmethod
    def _ha_sizes(cls, value: int) -> int:
        if value not in (1, 3):
            raise Invalid(f"{value} is not valid: must be 1 or 3")
        return value


class ConstantPolicy(_Section):
    """Retry every ``interval``; ``max_retries`` absent means forever. Both as Dapr: an absent interval is 0s."""

    interval: NonNegativeDuration = timedelta(0)
    """The wait before each retry of a failed delivery (absent: 0s, as Dapr)."""
    max_retries: int | None = Field(default=None, ge=0)
    """Retries after a failed delivery; absent: retry for ever, as Dapr."""


class DropPolicy(_Section):
    pass


class FailurePolicySpec(_Section):
    constant: ConstantPolicy | None = None
    """Retry a delivery the app answered with an error (non-2xx), at a constant interval."""
    drop: Annotated[DropPolicy | None, Written("`{}`")] = None
    """Never retry: a delivery the app answered with an error is dropped (write `drop: {}`)."""

    @model_validator(mode="before")
    @classmethod
    def _bare_drop(cls, data: Any) -> Any:
        if isinstance(data, dict) and "drop" in data and data["drop"] is None:  # YAML "drop:" means {drop: {}}
            return {**data, "drop": {}}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> FailurePolicySpec:
        if (self.constant is None) == (self.drop is None):
            raise Invalid("give exactly one of constant: {interval: 1s, max_retries: 3} or drop: {}")
        return self

    def to_model(self) -> FailurePolicy:
        if self.constant is None:
            return FailurePolicy(kind="drop", interval_ns=0, max_retries=0)
        return FailurePolicy("constant", timedelta_ns(self.constant.interval), self.constant.max_retries)


FANOUT_MAX = 1000  # members of one fan-out; their names carry FANOUT_WIDTH digits
FANOUT_CREATE_NS = 4_000_000  # creating a job takes about this long at least (~260 schedule calls/s, README)
FANOUT_END_MARGIN = timedelta(seconds=2)  # the last member is due at least this long before observe.duration ends


class FanOutSpec(_Section):
    """A cadence fanned out into one-shot jobs, one per occurrence (``harness.run.fanout``).

    Member ``k`` (``<name>-000`` ... ) is a job with only a ``dueTime``: the absolute RFC 3339 time ``start + k x
    every`` after the runner begins creating the members (``start`` defaults to ``every``, as an ``@every`` job's
    first tick comes one period after its creation). Each delivery names its member, so it belongs to exactly one
    occurrence: duplicates and missed occurrences are counted without matching by time.
    """

    every: PositiveDuration
    """The cadence: member k is due `start + k x every` after onceonly begins creating the members."""
    count: int = Field(ge=1, le=FANOUT_MAX)
    """How many one-shot jobs (occurrences), named `<name>-000`, `<name>-001`, ..."""
    start: Annotated[PositiveDuration | None, Written(default="`every`")] = None
    """When member 000 is due; it must leave 4 ms per member to create them all first."""

    @property
    def first_due(self) -> timedelta:
        """When member 000 is due, after the runner begins creating the members."""
        return self.every if self.start is None else self.start

    @property
    def last_due(self) -> timedelta:
        return self.first_due + self.every * (self.count - 1)

    @model_validator(mode="after")
    def _time_to_create(self) -> FanOutSpec:
        need = timedelta(microseconds=self.count * FANOUT_CREATE_NS // 1_000)
        if self.first_due < need:
            given = "start" if self.start is not None else "start (by default every)"
            raise Invalid(
                f"{given} {format_duration(self.first_due)} is too short to create {self.count} jobs before the "
                f"first is due (a schedule call takes about {FANOUT_CREATE_NS // 1_000_000} ms here): use at least "
                f"{format_duration(need)}",
                "start",
            )
        return self

    def members(self, name: str) -> list[str]:
        return fanout_member_names(name, self.count)


class JobSource(_Section):
    """One Jobs API job (``schedule`` and/or ``due_time``, with ``repeats``, ``ttl``), sent to Dapr verbatim; or a
    fan-out (``FanOutSpec``): ``count`` one-shot jobs judged one by one and reported as one source.
    """

    name: Name
    """The job's name in Dapr, and the source's name in every report; unique in the scenario."""
    schedule: JobSchedule = None
    """When it fires, sent to Dapr verbatim; with `due_time`, from that time on."""
    due_time: DueTime = None
    """When it first fires: from its creation (`5s`), or at an absolute time."""
    repeats: int | None = Field(default=None, ge=1)
    """Fire at most this many times (more than 1 needs a `schedule`)."""
    ttl: Ttl = None
    """When the job expires and stops firing (needs a `schedule`)."""
    fanout: FanOutSpec | None = None  # before data: its default depends on it
    """Instead of one recurring job: a named one-shot job per occurrence, so no delivery is matched by time."""
    data: Annotated[JsonValue, Written(default="`{job: <name>}`")] = Field(default=None, validate_default=True)
    """The data Dapr hands back with each trigger (a fan-out's members: `{job: <member name>}`)."""
    failure_policy: FailurePolicySpec | None = None
    """What Dapr does when the app answers a trigger with an error; absent: Dapr's (1 s apart, 3 retries)."""
    overwrite: bool = False
    """Create it with overwrite, replacing a job of that name (without, Dapr refuses a second create)."""

    @field_validator("data")
    @classmethod
    def _some_data(cls, value: JsonValue, info: ValidationInfo) -> JsonValue:
        # Dapr never delivers a job created without data, so every job carries some (a fan-out's members: their own)
        if value is None and isinstance(info.data.get("name"), str) and info.data.get("fanout") is None:
            return {"job": info.data["name"]}
        return value

    @model_validator(mode="after")
    def _dapr_rules(self) -> JobSource:  # go-etcd-cron internal/scheduler/builder.go
        if self.fanout is not None:
            for key in ("schedule", "due_time", "repeats", "ttl"):
                value = getattr(self, key)
                if value is not None:
                    raise Invalid(
                        f"{show(value)} is not valid with fanout: each member is a one-shot job due at its "
                        f"occurrence (fanout.every, fanout.count, fanout.start); remove {key}",
                        key,
                    )
            longest = 63 - 1 - FANOUT_WIDTH
            if len(self.name) > longest:
                raise Invalid(
                    f"{show(self.name)} is too long for a fan-out: its members are named {self.name}-000 and "
                    f"must fit 63 characters; use at most {longest}",
                    "name",
                )
            return self
        if self.schedule is None and self.due_time is None:
            raise Invalid("needs a schedule or a due_time (or both), or a fanout")
        if self.schedule is None and self.repeats is not None and self.repeats > 1:
            raise Invalid(
                f"{self.repeats} is not valid without a schedule: a job with only a due_time fires once", "repeats"
            )
        if self.schedule is None and self.ttl is not None:
            raise Invalid(f"{show(self.ttl)} is not valid without a schedule: ttl needs a schedule", "ttl")
        return self

    def plan(self, policy: Policy) -> JobPlan:
        if self.fanout is not None:
            raise ValueError(f"{self.name} is a fan-out: its members' plans come from their schedule calls")
        fp = None if self.failure_policy is None else self.failure_policy.to_model()
        return JobPlan(self.name, self.schedule, self.due_time, self.repeats, self.ttl, fp, policy)


class BindingSource(_Section):
    name: Name
    """The cron binding component's name, and the source's name in every report; unique in the scenario."""
    schedule: BindingSchedule
    """When it fires: every replica's daprd fires it on each tick."""


class Sources(_Section):
    jobs: list[JobSource] = Field(default_factory=list)
    """Jobs API jobs, created through replica 0's daprd when the observation starts."""
    bindings: list[BindingSource] = Field(default_factory=list)
    """Cron bindings: a component every replica's daprd loads."""

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _unique(self) -> Sources:
        seen: dict[str, str] = {}
        entries = [(f"jobs.{i}.name", j.name) for i, j in enumerate(self.jobs)]
        entries += [(f"bindings.{i}.name", b.name) for i, b in enumerate(self.bindings)]
        for where, name in entries:
            if name in seen:
                raise Invalid(
                    f"{show(name)} is already used by sources.{seen[name]}: source names must be unique", where
                )
            seen[name] = where
        for i, job in enumerate(self.jobs):
            members = [] if job.fanout is None else job.fanout.members(job.name)
            for where, name in entries:
                if name in members:
                    raise Invalid(
                        f"{show(name)} is a member of the fan-out sources.jobs.{i} ({members[0]} to {members[-1]}): "
                        "source names must be unique",
                        where,
                    )
        return self


class AppSection(_Section):
    """The app every replica runs: onceonly's recorder app and how it answers (``target_app.settings.Behaviour``),
    or, with ``command``, your own app, unmodified, behind the recording hop (``hop/``; README "Your own app").
    Per replica onceonly starts your command (its own process group: a fault with ``part: app`` strikes it), a hop
    and a daprd whose ``--app-port`` is the hop's. Your app gets ``DAPR_HTTP_PORT`` (the hop, which passes every
    call on to daprd and records the Jobs API calls), ``DAPR_GRPC_PORT`` (daprd's own), ``APP_PORT``, ``APP_ID``,
    ``DAPR_API_TOKEN`` and ``APP_API_TOKEN``. The recorder's fields (``delay_ms`` ... ``bodies``) are refused with
    ``command``: your app answers as it answers."""

    delay_ms: int = Field(default=0, ge=0)
    """Milliseconds the handler works before answering (a window for a fault to cut a delivery off)."""
    status: int = Field(default=200, ge=100, le=599)
    """The HTTP status the app answers with (when it does not fail on purpose)."""
    fail_first: int = Field(default=0, ge=0)
    """Answer 500 to the first this-many deliveries of each source, counted across replicas."""
    side_effect: SideEffect = "both"
    """The side effect a successful delivery runs: `naive` (every time), `idempotent` (once an occurrence)."""
    bodies: dict[str, JsonValue] = Field(default_factory=dict)
    """Per job name, the JSON body the app answers with (`{status: RETRY}`, `{status: DROPPED}`)."""
    command: Annotated[str | None, Written("a command line: `uvicorn main:app --port {app_port}`")] = None
    """Your own app instead of the recorder: its command line, run per replica without a shell (split as a POSIX
    shell would; `{app_port}` is replaced by the replica's app port, also in `APP_PORT`)."""
    cwd: Annotated[str | None, Written("a directory", default="the scenario file's directory")] = None
    """With `command`: where it runs; a relative path is taken from the scenario file's directory."""
    env: dict[str, str] = Field(default_factory=dict)
    """With `command`: more environment for your app (the Dapr variables above are onceonly's and refused here)."""
    health: Annotated[str | None, Written("a path: `/health`", default="its port accepting connections")] = None
    """With `command`: the path that answers 2xx once your app is ready (asked through the hop)."""

    @model_validator(mode="after")
    def _own_app_fits(self) -> AppSection:
        for message, field in user_app_problems(self):
            raise Invalid(message, field)
        return self

    @property
    def own(self) -> bool:
        """Your own app (``command``) rather than onceonly's recorder app."""
        return self.command is not None


class ObserveSection(_Section):
    duration: PositiveDuration
    """How long jobs fire and deliveries count; then every job is deleted (a delivery after is spurious)."""
    quiesce: NonNegativeDuration = timedelta(seconds=5)
    """After the delete, how long late deliveries are still recorded before the cluster stops."""


def _known_kind(value: str) -> str:
    if value not in names():
        raise Invalid(f"{show(value)} is not valid: must be one of {', '.join(names())}")
    return value


BusyKind = Literal["jobs", "binding"]


class BusySource(_Section):
    """What a ``busy`` target waits for: a delivery of ``source`` (and of the source ``name``, when given). Written
    ``busy: jobs`` / ``busy: binding`` (any source of the kind) or ``busy: {source: jobs, name: tick-job}``."""

    source: BusyKind
    """Wait for a delivery of this kind: `jobs` or `binding`."""
    name: Name | None = None
    """And of this source only (a job or binding of the scenario)."""


def _busy_shorthand(value: object) -> object:
    if isinstance(value, str):
        return {"source": value}
    if value is None or isinstance(value, dict | BusySource):
        return value
    raise Invalid(f"expected jobs, binding or {{source: jobs, name: <a job>}}, got {show(value)}")


def busy_source(fault: FaultSpec, has_jobs: bool) -> tuple[BusyKind, str | None]:
    """What a ``busy`` target waits for: (source kind, source name or None for any of that kind). Without ``busy``:
    a Jobs API delivery when the scenario has jobs (``has_jobs``), else a cron-binding delivery."""
    if fault.busy is not None:
        return fault.busy.source, fault.busy.name
    return ("jobs" if has_jobs else "binding"), None


def _busy_fits(
    fault: FaultSpec, where: str, jobs: list[str], bindings: list[str], has_jobs: bool, *, own_app: bool = False
) -> None:
    """``busy`` only with ``target: busy``, naming a kind the scenario has and, with a name, one of its sources
    (any job name with your own app: it schedules jobs the scenario cannot know)."""
    if fault.busy is None:
        return
    if fault.target != "busy":
        raise Invalid(f"is only valid with target busy, not target {show(fault.target)}", f"{where}.busy")
    kind, name = busy_source(fault, has_jobs)
    planned = jobs if kind == "jobs" else bindings
    what = "sources.jobs" if kind == "jobs" else "sources.bindings"
    if name is None:
        if not planned and not (kind == "jobs" and has_jobs):
            raise Invalid(f"{show(kind)} is not valid: the scenario has no {what}", f"{where}.busy")
        return
    if own_app and kind == "jobs":
        return
    other = bindings if kind == "jobs" else jobs
    if name not in planned and name in other:
        right = "binding" if kind == "jobs" else "jobs"
        raise Invalid(
            f"{show(name)} is not a source of {what}: it is one of the other kind (use source: {right})",
            f"{where}.busy.name",
        )
    if name not in planned:
        close = difflib.get_close_matches(name, planned, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise Invalid(
            f"{show(name)} is not a source of {what}{hint}; {kind}: {', '.join(planned) or 'none'}",
            f"{where}.busy.name",
        )


def _own_field(fault: FaultSpec, kind: FaultKind, field: str, i: int) -> None:
    """A field only some kind takes (its ``takes``): required for that kind, and refused for any other."""
    if (field in kind.takes) != (getattr(fault, field) is not None):
        owners = ", ".join(name for name in names() if field in kind_of(name).takes)
        raise Invalid(f"{field} is required for kind {owners}, and only for it", f"faults.{i}.{field}")


class FaultSpec(_Section):
    """One entry of the fault timeline; what each ``kind`` does is said once, in ``harness.faults`` (and the rules
    only one kind has, in its ``problems``); ``harness.nemesis`` carries it out. A ``busy`` target is a replica whose
    app is inside the handler of a delivery ``busy`` names; the fault records that delivery (its event, results.json
    ``faults`` ``in_flight``, the reports). A scenario with a network fault runs with the fault proxy.
    """

    at: NonNegativeDuration
    """When it strikes, after the observation starts (within `observe.duration`)."""
    kind: Annotated[str, AfterValidator(_known_kind), Written("a fault kind (below)")]
    """What it does: one of the fault kinds below."""
    target: int | Literal["random", "busy", "all"] = "random"
    """Which replica or scheduler member: an index, `random` (seeded), `busy` or `all` (network faults)."""
    part: Literal["app", "daprd", "both"] = "both"
    """The replica's part struck: its app, its daprd, or both."""
    signal: Literal["KILL", "TERM"] = "KILL"
    """The signal for kinds that stop a process."""
    heal_after: NonNegativeDuration | None = None
    """Undo it after this long (restart, resume, mend the link); some kinds have a default (below)."""
    replicas: int | None = Field(default=None, ge=1, le=20)
    """`scale` only: the replica count to scale to."""
    delay: PositiveDuration | None = None
    """`network-delay` only: how long each byte is held, per direction."""
    direction: Literal["both", "to-scheduler", "from-scheduler"] | None = None
    """Network faults only: which way bytes are struck; absent: both."""
    busy: Annotated[BusySource | None, BeforeValidator(_busy_shorthand), Written(BUSY_WORDS)] = None
    """With `target: busy`: the delivery to wait for, up to 30 s (absent: a job's if there are jobs or a load)."""

    @property
    def on_scheduler(self) -> bool:
        """Its target is a scheduler member (or the link to one), not a replica."""
        return kind_of(self.kind).on_scheduler


ActionOp = Literal["schedule", "delete", "get"]
PLAN_FIELDS = ("schedule", "due_time", "repeats", "ttl", "data", "overwrite")


class ActionSpec(_Section):
    """One Jobs API call the runner makes during the observation (``harness.run.runner``), through ``JobsClient``:
    ``schedule`` re-POSTs a job with the action's fields over the job's own (a field cannot be removed); ``delete``
    and ``get`` take only ``at``, ``job`` and ``expect_status``.
    """

    at: NonNegativeDuration
    """When it calls, after the observation starts; actions are listed in time order."""
    op: ActionOp
    """`schedule` re-creates the job (its fields below replace the job's own), `delete`, or `get`."""
    job: Name
    """A job of `sources.jobs` (not a fan-out)."""
    schedule: JobSchedule = None
    """`schedule` only: replaces the job's `schedule`."""
    due_time: DueTime = None
    """`schedule` only: replaces the job's `due_time`."""
    repeats: int | None = Field(default=None, ge=1)
    """`schedule` only: replaces the job's `repeats`."""
    ttl: Ttl = None
    """`schedule` only: replaces the job's `ttl`."""
    data: JsonValue = None
    """`schedule` only: replaces the job's `data`."""
    overwrite: bool | None = None
    """`schedule` only: replaces the job's `overwrite`."""
    expect_status: int | None = Field(default=None, ge=100, le=599)
    """The HTTP status Dapr must answer (a claim: another answer fails the run)."""

    @model_validator(mode="after")
    def _fields_fit_op(self) -> ActionSpec:
        if self.op != "schedule":
            for key in PLAN_FIELDS:
                if getattr(self, key) is not None:
                    raise Invalid(f"is only valid for op schedule, not {self.op}", key)
        return self

    def merged(self, job: JobSource) -> JobSource:
        """The job as this ``schedule`` action re-POSTs it: the action's fields over the job's."""
        changes = {key: getattr(self, key) for key in PLAN_FIELDS if getattr(self, key) is not None}
        return job.model_copy(update=changes)


class LoadStage(_Section):
    """One stage of the load: hold ``users`` Locust users (added or removed at ``spawn_rate`` per second)."""

    duration: PositiveDuration
    """How long this stage lasts."""
    users: int = Field(ge=0, le=500)
    """Locust users held during the stage."""
    spawn_rate: float = Field(default=10.0, gt=0, le=500)
    """Users started or stopped per second until `users` run."""


class LoadMix(_Section):
    """Relative weights of what a load user does on each step (``harness.load.locustfile``)."""

    one_shot: int = Field(default=10, ge=0)
    """Weight of: create a job that fires once, `due_in` from now."""
    recurring: int = Field(default=2, ge=0)
    """Weight of: create a job `@every <every>` with `repeats`."""
    overwrite: int = Field(default=1, ge=0)
    """Weight of: create one of the user's recurring jobs again, with overwrite."""
    get: int = Field(default=1, ge=0)
    """Weight of: read one of the user's recurring jobs."""
    delete: int = Field(default=1, ge=0)
    """Weight of: delete one of the user's recurring jobs."""


class LoadSection(_Section):
    """Locust users calling the Jobs API through the replicas' daprds while the run observes.

    The load starts with the observation and runs its stages; every job it creates is named ``load-...`` and
    recorded like the harness's own calls, and is accounted for by the oracle. Jobs created near the end still
    fire within the observation: ``observe.duration`` must cover the stages plus ``drain`` (the longest a job
    created at the end can take to finish: ``due_in``, or ``repeats`` x ``every``, whichever is longer, plus 3 s).
    """

    stages: list[LoadStage] = Field(min_length=1)
    """The stages, one after another from the start of the observation."""
    wait: NonNegativeDuration = timedelta(milliseconds=100)
    """Each user's pause between calls."""
    due_in: PositiveDuration = timedelta(seconds=5)
    """When a one-shot load job is due, after its creation."""
    every: PositiveDuration = timedelta(seconds=1)
    """A recurring load job's interval."""
    repeats: int = Field(default=3, ge=1, le=100)
    """How many times a recurring load job fires."""
    mix: LoadMix = Field(default_factory=LoadMix)
    """What users do, as relative weights."""

    @property
    def duration(self) -> timedelta:
        return sum((stage.duration for stage in self.stages), timedelta(0))

    @property
    def drain(self) -> timedelta:
        return max(self.due_in, self.every * self.repeats) + timedelta(seconds=3)

    @model_validator(mode="after")
    def _something_to_do(self) -> LoadSection:
        if self.mix.one_shot + self.mix.recurring == 0:
            raise Invalid("creates no job: give one_shot or recurring a weight above 0", "mix")
        return self


class WorkloadSection(_Section):
    load: LoadSection | None = None
    """Locust users calling the Jobs API while the run observes (`onceonly load`); every job they make is judged."""


class ExpectSection(_Section):
    jobs: Policy = "exactly-once"
    """How jobs are judged: `exactly-once` (a duplicate fails) or `contract` (Dapr's promise: duplicates reported)."""
    bindings: Policy = "contract"
    """How cron bindings are judged (`contract`: each replica fires each tick; `exactly-once` fails on that)."""
    lateness_p99_ms: int | None = Field(default=None, gt=0)
    """Fail a source whose lateness p99 (received - due) is over this many ms; absent: reported, not judged."""


class Scenario(_Section):
    name: Name
    """The scenario's name; its runs go to `reports/<name>/`."""
    description: str | None = None
    """A sentence for people, kept with the run."""
    seed: int = Field(default=0, ge=0)
    """Seeds every random choice (a `random` fault target), so the scenario replays alike."""
    dapr: DaprSection = Field(default_factory=DaprSection)
    """Which Dapr to run, and what a rolling upgrade switches to."""
    cluster: ClusterSection
    """How many replicas and scheduler members start."""
    sources: Sources
    """What fires: Jobs API jobs and cron bindings (at least one)."""
    app: AppSection = Field(default_factory=AppSection)
    """How the app answers deliveries."""
    observe: ObserveSection
    """How long onceonly observes, and waits for late deliveries."""
    expect: ExpectSection = Field(default_factory=ExpectSection)
    """The policy each kind of source is judged by, and an optional lateness limit."""
    workload: WorkloadSection = Field(default_factory=WorkloadSection)
    """Load on the Jobs API while the run observes."""
    faults: list[FaultSpec] = Field(default_factory=list)
    """The fault timeline: what strikes when, and where (not with `actions`)."""
    actions: list[ActionSpec] = Field(default_factory=list)
    """Jobs API calls made during the observation, each a claim on Dapr's answer (not with `faults`)."""

    @model_validator(mode="before")
    @classmethod
    def _null_is_default(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if v is not None or k in REQUIRED_SECTIONS}

    @model_validator(mode="after")
    def _has_sources(self) -> Scenario:
        if not self.sources.jobs and not self.sources.bindings and not self.app.own:
            raise Invalid(
                "no jobs and no bindings: add at least one source (or run your own app: app.command)", "sources"
            )
        return self

    @model_validator(mode="after")
    def _load_fits(self) -> Scenario:
        load = self.workload.load
        if load is not None and load.duration + load.drain > self.observe.duration:
            need = format_duration(load.duration + load.drain)
            raise Invalid(
                f"{format_duration(self.observe.duration)} is too short for the load: its stages take "
                f"{format_duration(load.duration)} and the jobs created last need {format_duration(load.drain)} "
                f"more to fire; use at least {need}",
                "observe.duration",
            )
        return self

    @model_validator(mode="after")
    def _fanouts_fit(self) -> Scenario:
        latest = self.observe.duration - FANOUT_END_MARGIN
        for i, job in enumerate(self.sources.jobs):
            fan = job.fanout
            if fan is None or fan.last_due <= latest:
                continue
            fits = 0 if fan.first_due > latest else (latest - fan.first_due) // fan.every + 1
            need = format_duration(fan.last_due + FANOUT_END_MARGIN)
            instead = (
                f"count at most {fits}, or observe.duration at least {need}"
                if fits
                else f"observe.duration at least {need}"
            )
            raise Invalid(
                f"{fan.count} members every {format_duration(fan.every)} from {format_duration(fan.first_due)} put "
                f"the last at {format_duration(fan.last_due)}, past observe.duration "
                f"{format_duration(self.observe.duration)} minus {format_duration(FANOUT_END_MARGIN)} (jobs are "
                f"deleted when the observation ends, and the last second before is not counted): use {instead}",
                f"sources.jobs.{i}.fanout.count",
            )
        return self

    @model_validator(mode="after")
    def _faults_fit(self) -> Scenario:
        jobs, bindings = [j.name for j in self.sources.jobs], [b.name for b in self.sources.bindings]
        for i, fault in enumerate(self.faults):
            if fault.at >= self.observe.duration:
                raise Invalid(f"at {format_duration(fault.at)} is not within observe.duration", f"faults.{i}.at")
            limit = self.cluster.schedulers if fault.on_scheduler else self.cluster.replicas
            if isinstance(fault.target, int) and not 0 <= fault.target < limit:
                what = "scheduler members" if fault.on_scheduler else "replicas"
                raise Invalid(
                    f"{fault.target} is not valid: there are {limit} {what} (0..{limit - 1})", f"faults.{i}.target"
                )
            kind = kind_of(fault.kind)
            _own_field(fault, kind, "replicas", i)
            if fault.target == "busy" and fault.on_scheduler:
                raise Invalid("busy is only valid for replica faults", f"faults.{i}.target")
            _busy_fits(fault, f"faults.{i}", jobs, bindings, self.has_jobs, own_app=self.app.own)
            network = kind.network
            if fault.target == "all" and not network:
                raise Invalid("all is only valid for network faults", f"faults.{i}.target")
            _own_field(fault, kind, "delay", i)
            if fault.direction is not None and not network:
                raise Invalid("direction is only valid for network faults", f"faults.{i}.direction")
            for message, field in kind.problems(fault, self.dapr.upgrades):
                raise Invalid(message, f"faults.{i}.{field}")
        if self.dapr.upgrades and not any(kind_of(f.kind).upgrade for f in self.faults):
            raise Invalid(
                "dapr.upgrade_to is set but no fault upgrades anything: add upgrade / scheduler-upgrade steps "
                "(on Kubernetes: chart-upgrade, then sidecar-upgrade)",
                "dapr",
            )
        return self

    @property
    def has_jobs(self) -> bool:
        """Jobs API jobs fire: the scenario's, the load's, or those your own app schedules."""
        return bool(self.sources.jobs) or self.workload.load is not None or self.app.own

    @property
    def needs_fault_proxy(self) -> bool:
        return any(kind_of(f.kind).network for f in self.faults)

    @model_validator(mode="after")
    def _actions_fit(self) -> Scenario:
        if self.actions and self.faults:
            raise Invalid("faults and actions in one scenario are not supported yet: use one or the other", "actions")
        jobs = {j.name: j for j in self.sources.jobs if j.fanout is None}
        fanouts = {j.name for j in self.sources.jobs if j.fanout is not None}
        deleted: set[str] = set()
        previous = timedelta(0)
        for i, action in enumerate(self.actions):
            where = f"actions.{i}"
            if action.at >= self.observe.duration:
                raise Invalid(f"at {format_duration(action.at)} is not within observe.duration", f"{where}.at")
            if action.at < previous:
                raise Invalid(
                    f"at {format_duration(action.at)} is before the action above it: list them in time order",
                    f"{where}.at",
                )
            previous = action.at
            if action.job in fanouts:
                raise Invalid(
                    f"{show(action.job)} is a fan-out source: its members are one-shot jobs the runner creates, "
                    "which actions cannot target",
                    f"{where}.job",
                )
            if action.job not in jobs:
                close = difflib.get_close_matches(action.job, list(jobs), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                valid = ", ".join(jobs) or "none"
                raise Invalid(f"{show(action.job)} is not a job of sources.jobs{hint}; jobs: {valid}", f"{where}.job")
            if action.op == "delete":
                deleted.add(action.job)
            elif action.op == "schedule":
                if action.job in deleted:
                    raise Invalid(
                        "a schedule after a delete of the same job re-creates it, which the oracle does not model",
                        f"{where}.op",
                    )
                try:
                    validate_job(self.action_plan(i))
                except ScheduleError as exc:
                    raise Invalid(str(exc).split(": ", 1)[-1], where) from None
        for name in self.app.bodies:
            if name in fanouts:
                raise Invalid(
                    f"{show(name)} is a fan-out source: bodies are per job name, and its members have their own",
                    f"app.bodies.{name}",
                )
            if name not in jobs:
                raise Invalid(
                    f"{show(name)} is not a job of sources.jobs: bodies are per job name", f"app.bodies.{name}"
                )
        return self

    def action_job(self, index: int) -> JobSource:
        """The job as ``schedule`` action ``index`` re-POSTs it (its fields over the job's)."""
        action = self.actions[index]
        job = next(j for j in self.sources.jobs if j.name == action.job)
        return action.merged(job)

    def action_plan(self, index: int) -> JobPlan:
        """The plan the ``schedule`` action ``index`` asks for, under the scenario's jobs policy."""
        return self.action_job(index).plan(self.expect.jobs)

    def job_plans(self) -> list[JobPlan]:
        """The plans of the jobs that are not fan-outs (``harness.run.fanout`` plans those from their calls)."""
        return [job.plan(self.expect.jobs) for job in self.sources.jobs if job.fanout is None]

    @property
    def fanouts(self) -> list[JobSource]:
        """The fan-out job sources, in scenario order."""
        return [job for job in self.sources.jobs if job.fanout is not None]

    def binding_plans(self) -> list[BindingPlan]:
        return [BindingPlan(b.name, b.schedule, self.expect.bindings) for b in self.sources.bindings]

    def canonical(self) -> dict[str, Any]:
        """The validated scenario as JSON data: defaults filled in, durations and versions in canonical form."""
        return self.model_dump(mode="json", exclude_none=True)

    def canonical_hash(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()

    def dump_yaml(self) -> str:
        """The scenario as run (overrides applied, defaults filled in); loading it gives the same hash."""
        header = (
            f"# scenario {self.name} as run (overrides applied, defaults filled in), hash {self.canonical_hash()}\n"
        )
        return header + yaml.safe_dump(self.canonical(), sort_keys=False, allow_unicode=True, width=120)
