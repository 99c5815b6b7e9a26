"""Fan-out job sources: a cadence as one-shot jobs, one per occurrence, so every delivery names its occurrence.

Dapr sends no occurrence id with a job trigger, so the deliveries of a recurring job are matched to its
occurrences by time, and some histories are ambiguous (a catch-up burst after a stall reads as late, or as one
lost and one duplicated). A fan-out source (``fanout: {every, count, start}`` in ``sources.jobs``) asks the same
question without that inference: member ``k`` is a job ``<name>-<kkk>`` with only an absolute RFC 3339 ``dueTime``,
so a delivery belongs to exactly one occurrence by its name.

* ``create`` (the runner): reads the clock once, then schedules every member through the run's ``JobsClient`` (so
  each call is an operation with its body), member ``k`` due at ``clock + start + k x every`` rounded up to the
  millisecond. Validation keeps ``start`` long enough to create them all first; the fold says if it was not.
* ``job_plans`` (the judge, also offline): the plans of the scenario's jobs in scenario order, each fan-out's
  members rebuilt from the bodies of their recorded schedule calls (as ``harness.load.workload.load_plans`` does for the
  load), so ``onceonly check`` reproduces ``results.json``. The checker judges each member as an ordinary job.
* ``fold``: the members' rows become one row per fan-out source (``harness.run.fanout_fold``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from harness.io.jobs_client import JobsClient
from harness.load.workload import plan_from_body
from harness.model import NS, JobPlan, Operation
from harness.scenario.schema import FanOutSpec, JobSource, Scenario, format_duration, timedelta_ns

__all__ = [
    "create",
    "describe",
    "due_times",
    "fold_upgrade",
    "job_plans",
    "member_names",
    "member_plans",
    "rfc3339",
    "spec_of",
]

MS = 1_000_000


def rfc3339(ns: int) -> str:
    """``ns`` as an RFC 3339 UTC time, with as many fractional digits as it needs (3, 6 or 9).

    >>> rfc3339(1_767_225_600_000_000_000), rfc3339(1_767_225_600_250_000_000), rfc3339(1_767_225_600_000_001_000)
    ('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.250Z', '2026-01-01T00:00:00.000001Z')
    """
    seconds, frac = divmod(ns, NS)
    digits = 3 if frac % MS == 0 else 6 if frac % 1_000 == 0 else 9
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:09d}"[: digits + 1] + "Z"


def due_times(source: JobSource, base_ns: int) -> list[int]:
    """The members' due times when their creation begins at ``base_ns``: first rounded up to the millisecond."""
    fan = spec_of(source)
    first = -(-(base_ns + timedelta_ns(fan.first_due)) // MS) * MS
    return [first + k * timedelta_ns(fan.every) for k in range(fan.count)]


def create(client: JobsClient, source: JobSource, clock: Callable[[], int] = time.time_ns) -> list[Operation]:
    """Schedule every member of fan-out ``source``, each a one-shot job due at its occurrence; the outcomes."""
    fan = spec_of(source)
    policy = None if source.failure_policy is None else source.failure_policy.to_model()
    done = []
    for name, due in zip(fan.members(source.name), due_times(source, clock()), strict=True):
        done.append(
            client.schedule(
                name,
                due_time=rfc3339(due),
                data=source.data if source.data is not None else {"job": name},
                overwrite=source.overwrite,
                failure_policy=policy,
            )
        )
    return done


def member_plans(source: JobSource, operations: Iterable[Operation], scenario: Scenario) -> list[JobPlan]:
    """One plan per member, from the body of its first schedule call that did not fail (any call's when all
    failed; a bare plan, which the checker judges as unknown, when none was recorded)."""
    members = spec_of(source).members(source.name)
    wanted = set(members)
    ops = [o for o in operations if o.kind == "schedule" and o.name in wanted]
    failed = {o.op_id for o in ops if o.phase == "fail"}
    bodies: dict[str, Mapping[str, Any]] = {}
    for op in sorted((o for o in ops if o.phase == "invoke"), key=lambda o: (o.op_id in failed, o.at_ns)):
        body = op.detail.get("body")
        if isinstance(body, Mapping) and op.name not in bodies:
            bodies[op.name] = body
    policy = scenario.expect.jobs
    fp = None if source.failure_policy is None else source.failure_policy.to_model()
    return [
        replace(plan_from_body(name, bodies[name], policy), failure_policy=fp)
        if name in bodies
        else JobPlan(name, failure_policy=fp, policy=policy)
        for name in members
    ]


def job_plans(scenario: Scenario, operations: Iterable[Operation]) -> list[JobPlan]:
    """The plans of the scenario's jobs in scenario order, each fan-out replaced by its members' plans."""
    ops = list(operations)
    plans: list[JobPlan] = []
    for source in scenario.sources.jobs:
        plans += [source.plan(scenario.expect.jobs)] if source.fanout is None else member_plans(source, ops, scenario)
    return plans


def describe(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """results.json's ``fanout`` field of each fan-out source's row: what it was, and its first and last member."""
    out = {}
    for source in scenario.fanouts:
        fan = spec_of(source)
        members = fan.members(source.name)
        out[source.name] = {
            "every": format_duration(fan.every),
            "start": format_duration(fan.first_due),
            "count": fan.count,
            "first": members[0],
            "last": members[-1],
        }
    return out


def member_names(scenario: Scenario) -> list[str]:
    """Every fan-out member of the scenario (the runner deletes them with the other jobs when observation ends)."""
    return [m for source in scenario.fanouts for m in spec_of(source).members(source.name)]


def fold_upgrade(section: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """A rolling upgrade's ``upgrade`` section with each phase's member deliveries counted under their fan-out."""
    owner = {m: source.name for source in scenario.fanouts for m in spec_of(source).members(source.name)}
    for phase in section["phases"]:
        counts: dict[str, int] = {}
        for key, n in phase["deliveries"].items():
            kind, _, name = key.partition(":")
            key = f"{kind}:{owner[name]}" if kind == "jobs" and name in owner else key
            counts[key] = counts.get(key, 0) + n
        phase["deliveries"] = dict(sorted(counts.items()))
    return section


def spec_of(source: JobSource) -> FanOutSpec:
    if source.fanout is None:
        raise ValueError(f"job {source.name} is not a fan-out")
    return source.fanout
