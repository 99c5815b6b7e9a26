"""The load's side of a run, pure: what the Locust processes are told, and which jobs they created.

Each Locust process (``harness/load/locustfile.py``, run only as a subprocess: importing locust monkey-patches the
whole process with gevent) reads its configuration from the JSON file named by ``ONCEONLY_LOAD_CONFIG`` and its
two secrets from ``ONCEONLY_DAPR_API_TOKEN`` and ``ONCEONLY_REDIS_PASSWORD`` (never written to a file); a worker
of ``--workers N`` its number from ``ONCEONLY_LOAD_WORKER``, which its job names carry (``job_prefix``). It
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

import redis

from harness.model import LOAD_PREFIX, JobPlan, Operation, Policy

CONFIG_ENV = "ONCEONLY_LOAD_CONFIG"
TOKEN_ENV = "ONCEONLY_DAPR_API_TOKEN"
REDIS_PASSWORD_ENV = "ONCEONLY_REDIS_PASSWORD"
REDIS_CONNECTIONS = 64  # per Locust process; a user waits for a free one (up to REDIS_WAIT_S) instead of failing
REDIS_WAIT_S = 30.0
WORKER_ENV = "ONCEONLY_LOAD_WORKER"  # the worker's number (1..N) under ``--workers N``; unset in a single process


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


def ledger_client(port: int, password: str | None) -> redis.Redis:
    """One Locust process's client of the ledger's Redis, shared by all its users (greenlets).

    A blocking pool: with more users in flight than connections, a user waits for one. redis-py's default pool
    raises "Too many connections" past 100 instead, and a call whose outcome could then not be recorded has an
    unknown outcome (seen at 120 users in one process: 252-918 such errors per 30 s run, and an overwrite read as
    not having happened, so its job's later deliveries looked like duplicates).
    """
    # redis-py leaves BlockingConnectionPool.__init__ untyped
    pool = redis.BlockingConnectionPool(  # type: ignore[no-untyped-call]
        host="127.0.0.1", port=port, password=password, max_connections=REDIS_CONNECTIONS, timeout=REDIS_WAIT_S
    )
    return redis.Redis(connection_pool=pool)


def job_prefix(worker: str | None) -> str:
    """How the names of one Locust process's jobs start: ``load-`` alone, or ``load-w<i>-`` in worker ``i``.

    Each process numbers its users and their jobs from 0 (``load-<user>-<n>``), so under ``--workers`` the
    worker's number keeps names, and so jobs, apart: two workers never schedule (or overwrite) each other's job.
    """
    if not worker:
        return LOAD_PREFIX
    if not worker.isdigit():
        raise ValueError(f"{WORKER_ENV} must be a worker number, got {worker!r}")
    return f"{LOAD_PREFIX}w{int(worker)}-"


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
