"""The load's side of a run, pure: what the Locust process is told, and which jobs it created.

The Locust process (``harness/load/locustfile.py``, run only as a subprocess: importing locust monkey-patches the
whole process with gevent) reads its configuration from the JSON file named by ``ONCEONLY_LOAD_CONFIG`` and its
two secrets from ``ONCEONLY_DAPR_API_TOKEN`` and ``ONCEONLY_REDIS_PASSWORD`` (never written to a file). It
records every Jobs API call it makes to the run's ledger exactly as the harness does (``harness.io.jobs_client``),
with the body it sent. After the run, ``load_plans`` turns those recorded calls back into the oracle's inputs:
one ``JobPlan`` per job the load created (from its first schedule call's body) and the plan of every later
overwrite (``op_plans``), so every job created under load is accounted for like a scenario's own jobs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.model import LOAD_PREFIX, JobPlan, Operation, Policy

CONFIG_ENV = "ONCEONLY_LOAD_CONFIG"
TOKEN_ENV = "ONCEONLY_DAPR_API_TOKEN"
REDIS_PASSWORD_ENV = "ONCEONLY_REDIS_PASSWORD"


@dataclass(frozen=True, slots=True)
class LoadConfig:
    """What the Locust process needs (secrets apart). Durations in seconds."""

    run_id: str
    redis_port: int
    dapr_urls: list[str]  # every replica's daprd HTTP address; users spread their calls over them
    stable_api: bool  # /v1.0/jobs (1.18+) or /v1.0-alpha1/jobs
    stages: list[dict[str, float]]  # {"duration_s", "users", "spawn_rate"}
    wait_s: float
    due_in_s: float
    every_s: float
    repeats: int
    mix: dict[str, int]

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")
        return path

    @classmethod
    def read(cls, path: Path) -> LoadConfig:
        return cls(**json.loads(path.read_text()))


def stage_at(stages: list[dict[str, float]], elapsed_s: float) -> tuple[int, float] | None:
    """(users, spawn rate) of the stage running ``elapsed_s`` after the start; None once every stage is over."""
    end = 0.0
    for stage in stages:
        end += stage["duration_s"]
        if elapsed_s < end:
            return int(stage["users"]), float(stage["spawn_rate"])
    return None


def plan_from_body(name: str, body: Mapping[str, Any], policy: Policy) -> JobPlan:
    """The oracle's plan of a job from the schedule body that created it (as ``JobsClient.schedule_body``)."""

    def text(key: str) -> str | None:
        value = body.get(key)
        return None if value is None else str(value)

    repeats = body.get("repeats")
    return JobPlan(
        name,
        schedule=text("schedule"),
        due_time=text("dueTime"),
        repeats=int(repeats) if isinstance(repeats, int) else None,
        ttl=text("ttl"),
        policy=policy,
    )


def load_plans(operations: Iterable[Operation], policy: Policy) -> tuple[list[JobPlan], dict[str, JobPlan]]:
    """Plans of the jobs the load created, and of their overwrites by schedule op id, from the recorded calls.

    A job's plan comes from its first schedule call that did not fail; every later one of the same name (an
    overwrite) maps its op id to the plan it asked for. A job whose every create call failed (``fail``: not
    sent, or refused) was never created: it gets no plan, so a delivery for it would be an unplanned, spurious
    one. Calls of names outside ``load-`` are not the load's.
    """
    plans: dict[str, JobPlan] = {}
    op_plans: dict[str, JobPlan] = {}
    ops = [o for o in operations if o.kind == "schedule" and o.name.startswith(LOAD_PREFIX)]
    failed = {o.op_id for o in ops if o.phase == "fail"}
    invokes = sorted((o for o in ops if o.phase == "invoke" and o.op_id not in failed), key=lambda o: o.at_ns)
    for op in invokes:
        body = op.detail.get("body")
        if not isinstance(body, Mapping):
            continue
        plan = plan_from_body(op.name, body, policy)
        if op.name in plans:
            op_plans[op.op_id] = plan
        else:
            plans[op.name] = plan
    return list(plans.values()), op_plans


@dataclass
class _Tracked:
    kind: str  # "one-shot" | "recurring"
    created_ns: int
    expected: int  # deliveries the job should get
    every_ns: int
    due_in_ns: int
    delivered: int = 0
    live: bool = True  # False once deleted or overwritten: the final oracle judges those


class LiveTally:
    """A running estimate of what the load's jobs got, for Locust's UI while the load runs (not the verdict).

    ``created`` when a schedule call is sent, ``delivered`` for every delivery the ledger stream shows. A job
    delivered more often than it should fire counts a duplicate; one whose last due time is ``grace_s`` past
    without its deliveries counts as missed so far. Deleted and overwritten jobs are left to the oracle.
    """

    def __init__(self, grace_s: float = 10.0) -> None:
        self.jobs: dict[str, _Tracked] = {}
        self.grace_ns = int(grace_s * 1e9)
        self.deliveries = 0
        self.duplicates = 0
        self.lateness_ms: list[float] = []

    def created(self, name: str, kind: str, at_ns: int, *, due_in_s: float, every_s: float, repeats: int) -> None:
        expected = 1 if kind == "one-shot" else repeats
        self.jobs[name] = _Tracked(kind, at_ns, expected, int(every_s * 1e9), int(due_in_s * 1e9))

    def retired(self, name: str) -> None:
        if name in self.jobs:
            self.jobs[name].live = False

    def delivered(self, name: str, received_ns: int) -> tuple[str, float, bool] | None:
        """(kind, lateness ms, is a duplicate) of a delivery of one of the load's live jobs; None otherwise."""
        job = self.jobs.get(name)
        if job is None or not job.live:
            return None
        self.deliveries += 1
        job.delivered += 1
        k = job.delivered
        due = job.created_ns + (job.due_in_ns if job.kind == "one-shot" else min(k, job.expected) * job.every_ns)
        lateness = (received_ns - due) / 1e6
        duplicate = k > job.expected
        if duplicate:
            self.duplicates += 1
        else:
            self.lateness_ms.append(lateness)
        return job.kind, lateness, duplicate

    def missed(self, now_ns: int) -> int:
        missed = 0
        for job in self.jobs.values():
            last_due = job.created_ns + (job.due_in_ns if job.kind == "one-shot" else job.expected * job.every_ns)
            if job.live and now_ns > last_due + self.grace_ns:
                missed += max(0, job.expected - job.delivered)
        return missed

    def rows(self, now_ns: int) -> list[dict[str, str]]:
        """The onceonly tab of Locust's UI: one (metric, value) row each."""
        late = sorted(self.lateness_ms)

        def pct(p: float) -> str:
            return "-" if not late else f"{late[min(len(late) - 1, int(p * len(late)))]:.1f}"

        values = [
            ("jobs created", str(len(self.jobs))),
            ("deliveries", str(self.deliveries)),
            ("duplicates so far", str(self.duplicates)),
            (f"missed so far (>{self.grace_ns / 1e9:g} s overdue)", str(self.missed(now_ns))),
            ("trigger lateness p50 ms", pct(0.50)),
            ("trigger lateness p99 ms", pct(0.99)),
        ]
        return [{"metric": k, "value": v} for k, v in values]
