"""Runs a scenario up to stage 1: scenario → cluster → schedule → observe → quiesce → collect.

Phases (each an event in ``events.jsonl``): stage 0 files; cluster start and readiness; ``observe`` starts and
every job is scheduled through replica 0's daprd (each fan-out's members first, ``harness.run.fanout``); the
scenario's faults (``harness.nemesis``) or its job actions (``harness.run.actions``) are played; after
``observe.duration`` the jobs are deleted (a delivery after that is spurious); ``quiesce`` lets late deliveries
land; every scheduler's and daprd's ``/metrics`` is scraped (``harness.cluster.metrics``: Dapr's counters die with
the processes); the ledger is read; the cluster is torn down (always, in ``finally`` via the context manager);
stage 1 is written. Judging is ``harness.run.judge``; ``harness.campaign.experiment`` ties the run, the judgement
and the outputs together. The runner holds no judgement logic and imports nothing of the outputs.
"""

from __future__ import annotations

import os
import platform
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness.about import onceonly_version
from harness.cluster import metrics as dapr_metrics
from harness.cluster.base import Backend, ClusterSpec, refusal
from harness.cluster.dapr_resources import as_yaml, behaviour_of, binding_component
from harness.cluster.local.backend import LocalBackend
from harness.cluster.user_app import HOP_INFLIGHT_PATH, user_app_of
from harness.errors import InputError
from harness.faults.registry import kind_of
from harness.io import store
from harness.io.app_ops import app_job_names, app_operations
from harness.io.jobs_client import JobsClient
from harness.io.ledger import Ledger
from harness.io.stage_files import ActionCall, History, RunDapr, RunInfo, write_history, write_run_info
from harness.load.process import check_workers, start_load, stop_load, workers_refusal
from harness.model import Capability, Delivery, Operation, ReplicaWindow, version_tuple
from harness.nemesis import FaultHandle, Nemesis, needs, run_timeline
from harness.oracle import crosscheck
from harness.run import fanout
from harness.run.actions import run_actions, schedule_kwargs
from harness.scenario.schema import Scenario
from toolchain.binaries import Binaries, build_record

Progress = Callable[[str], None]
Countdown = Callable[[str, float], None]  # (label, seconds): wait that long, showing progress


@dataclass(frozen=True, slots=True)
class Collected:
    """A run made up to stage 1 (its files written, the cluster stopped): what the ledger held, for the CSV export."""

    run_dir: Path
    deliveries: list[Delivery]
    operations: list[Operation]


def replica_windows(
    replicas: list[int],
    start_ns: int,
    end_ns: int,
    handles: list[FaultHandle],
    lifetimes: dict[int, tuple[int, int | None]] | None = None,
) -> list[ReplicaWindow]:
    """When each replica could receive: from ready (or from when scale added it) to the end (or to when scale
    removed it), minus the time a kill, a pause, a restart or an upgrade step held it down."""
    windows: list[ReplicaWindow] = []
    for replica in replicas:
        born, gone = (lifetimes or {}).get(replica, (start_ns, None))
        lo, hi = max(start_ns, born), min(end_ns, gone or end_ns)
        cuts = sorted(
            (h.injected_ns, h.healed_ns or end_ns)
            for h in handles
            if h.target == replica and kind_of(h.kind).takes_replica_down
        )
        t = lo
        for down, up in cuts:
            if down > t:
                windows.append(ReplicaWindow(replica, t, min(down, hi)))
            t = max(t, up)
        if t < hi:
            windows.append(ReplicaWindow(replica, t, hi))
    return windows


def down_intervals(handles: list[FaultHandle], removed: dict[int, int], end_ns: int) -> list[ReplicaWindow]:
    """When each replica was surely unable to receive: from a kill (which waits for the exit) or a pause taking
    effect to the start of its heal, and from when scale had stopped it to the end. A delivery recorded then is a
    zombie (``CheckInput.down``). Restarts and upgrade steps are left out: their down time is inside one call."""
    down = [
        ReplicaWindow(h.target, h.struck_ns, h.heal_started_ns or end_ns)
        for h in handles
        if kind_of(h.kind).struck_down and h.struck_ns is not None
    ]
    down += [ReplicaWindow(index, at, end_ns) for index, at in sorted(removed.items())]
    return down


def sleep_with(countdown: Countdown | None, label: str, seconds: float) -> None:
    if countdown is not None:
        countdown(label, seconds)
    else:
        time.sleep(seconds)


def execute(
    scenario: Scenario,
    bins: Binaries,
    run_dir: Path,
    *,
    progress: Progress | None = None,
    countdown: Countdown | None = None,
    toxiproxy: Path | None = None,
    web_port: int | None = None,
    workers: int = 0,
    upgrade: Binaries | None = None,
    backend: Backend | None = None,
) -> Collected:
    """Run ``scenario`` on ``bins`` into ``run_dir`` (which exists and is empty) up to stage 1: the cluster is
    stopped and ``history.json``, ``run.json`` and ``dapr_metrics.json`` are written; judging is ``harness.run.judge``.

    ``upgrade``: the binaries a rolling upgrade's steps switch members to (the scenario's ``dapr.upgrade_to``).

    ``backend``: where the cluster runs (default: local processes, ``LocalBackend(toxiproxy)``; ``toxiproxy`` is
    the toxiproxy-server binary, needed when the scenario has network faults). A scenario that needs something the
    backend cannot do is refused before anything starts. ``web_port``: serve Locust's web UI (with onceonly's tab)
    on 127.0.0.1:<port> while the load runs; None runs it headless. ``workers``: run the load as Locust's master
    and that many worker processes (0: one process; ``harness.load.process``).
    """
    if scenario.dapr.upgrades and upgrade is None:
        raise InputError(f"scenario {scenario.name} upgrades Dapr mid-run: give the binaries to upgrade to")
    backend = backend or LocalBackend(toxiproxy)
    user_app = user_app_of(scenario)
    if user_app is not None:
        user_app.check()
    own = [(Capability.OWN_APP, "app.command (your own app)")] if user_app is not None else []
    refused = refusal(backend, [*own, *needs(scenario.faults)])
    if refused is not None:
        raise InputError(f"scenario {scenario.name}: {refused}")
    check_workers(workers)
    if workers and scenario.workload.load is None:
        raise InputError(f"scenario {scenario.name}: --workers runs Locust's workers, but it has no workload.load")
    if workers and Capability.LOAD_WORKERS not in backend.capabilities:
        raise InputError(workers_refusal(backend.name))
    say = progress or (lambda _m: None)
    events = store.EventLog(run_dir / "events.jsonl")
    jobs, bindings = scenario.job_plans(), scenario.binding_plans()
    behaviour = behaviour_of(scenario)
    (run_dir / "scenario.yaml").write_text(scenario.dump_yaml())
    store.write_json(
        run_dir / "plan.json",
        {
            "jobs": [_job_body(scenario, j.name) | {"name": j.name} for j in jobs],
            "bindings": [{"name": b.name, "schedule": b.schedule} for b in bindings],
            "fanouts": [{"name": name, **fan} for name, fan in fanout.describe(scenario).items()],
            "actions": [
                {"at": scenario.canonical()["actions"][i]["at"], "op": a.op, "job": a.job}
                | (
                    {"body": JobsClient.schedule_body(**schedule_kwargs(scenario, a.job, i))}
                    if a.op == "schedule"
                    else {}
                )
                for i, a in enumerate(scenario.actions)
            ],
            "cluster": {"replicas": scenario.cluster.replicas, "schedulers": scenario.cluster.schedulers},
            "behaviour": behaviour.to_json(),
            "observe": {
                "duration_s": scenario.observe.duration.total_seconds(),
                "quiesce_s": scenario.observe.quiesce.total_seconds(),
            },
        },
    )
    events.emit("run_started", scenario=scenario.name, hash=scenario.canonical_hash())
    t_start = time.monotonic()
    spec = ClusterSpec(
        replicas=scenario.cluster.replicas,
        schedulers=scenario.cluster.schedulers,
        fault_proxy=scenario.needs_fault_proxy,
        user_app=user_app,
    )
    cluster = backend.create(
        spec,
        bins,
        run_dir,
        on_progress=say,
        resources={f"binding-{b.name}.yaml": as_yaml(binding_component(b)) for b in bindings},
        app_env={"ONCEONLY_BEHAVIOUR": behaviour.to_json()},
    )
    with cluster:
        ready_ns = time.time_ns()
        events.emit("cluster_ready", seconds=cluster.ready_seconds, endpoints=cluster.endpoints())
        events.emit("versions", members=cluster.versions())
        t_ready = time.monotonic()
        ledger = Ledger(cluster.redis_client(), cluster.run_id, cluster.journal_texts, cluster.replica_of_pod)
        first = cluster.replicas[min(cluster.replicas)]
        # /v1.0/jobs from 1.18 on; 1.18 still serves /v1.0-alpha1, so a mixed-version run uses the older path
        daprds = [bins] + ([upgrade] if upgrade is not None and scenario.dapr.upgrades else [])
        stable_api = all(version_tuple(b.daprd_version) >= (1, 18) for b in daprds)

        def record(op: Any) -> None:
            ledger.record_op(op)
            events.emit("operation", op=op.kind, name=op.name, phase=op.phase, detail=op.detail)

        with httpx.Client(timeout=35.0) as http:
            client = JobsClient(http, first.dapr_http, cluster.tokens.dapr_api, stable_api, record)
            observe_start_ns = time.time_ns()
            events.emit("observe_started")
            for source in scenario.fanouts:  # first, so the other jobs keep their phase against the fault timeline
                say(f"creating fan-out {source.name}: {fanout.spec_of(source).count} one-shot jobs")
                fanout.create(client, source)
            say(f"scheduling {len(jobs)} job(s) through replica {first.index}'s daprd")
            for job in jobs:
                client.schedule(job.name, **schedule_kwargs(scenario, job.name))
            if scenario.workload.load is not None:
                say("starting the load (Locust)")
                start_load(cluster, run_dir, scenario.workload.load, stable_api, web_port=web_port, workers=workers)
            handles: list[FaultHandle] = []
            actions: list[ActionCall] = []
            if scenario.actions:
                actions = run_actions(
                    client,
                    scenario,
                    scenario.observe.duration.total_seconds(),
                    lambda label, secs: sleep_with(countdown, label, secs),
                    events.emit,
                )
            else:
                handles = run_timeline(
                    Nemesis(
                        cluster,
                        random.Random(scenario.seed),
                        http,
                        events.emit,
                        upgrade=upgrade,
                        has_jobs=scenario.has_jobs,
                        inflight_path=HOP_INFLIGHT_PATH if user_app is not None else "/healthz",
                    ),
                    scenario.faults,
                    scenario.observe.duration.total_seconds(),
                    lambda label, secs: sleep_with(countdown, label, secs),
                )
            observe_end_ns = time.time_ns()
            events.emit("observe_ended")
            if scenario.workload.load is not None:
                stop_load(cluster, events.emit, workers)
            # through a daprd that is still up: a fault may have killed the first replica for good (seen: the
            # delete refused, the job kept firing into the quiesce, and a delivery read mid-handler as cut off)
            alive = cluster.live_replica() or first
            deleter = (
                client
                if alive is first
                else JobsClient(http, alive.dapr_http, cluster.tokens.dapr_api, stable_api, record)
            )
            # the jobs a user's own app scheduled too: deliveries after the delete are then spurious, as for ours
            own_jobs = app_job_names(app_operations(cluster.redis_client(), cluster.run_id)) if user_app else []
            scenario_jobs = [j.name for j in jobs] + fanout.member_names(scenario)
            for name in scenario_jobs + [n for n in own_jobs if n not in scenario_jobs]:
                deleter.delete(name)
            sleep_with(countdown, "quiescing", scenario.observe.quiesce.total_seconds())
            # Dapr's own counters die with the processes: read them now, before the ledger (so the ledger has
            # every delivery Dapr counted)
            say("reading Dapr's metrics")
            scraped = dapr_metrics.scrape(http, cluster.metrics_targets())
            events.emit(
                "dapr_metrics_scraped",
                processes=[p["process"] for p in scraped],
                errors={p["process"]: p["error"] for p in scraped if p["error"] is not None},
            )
        collect_end_ns = time.time_ns()
        events.emit("versions", members=cluster.versions())
        deliveries, ledger_stats = ledger.deliveries()
        operations = ledger.operations()
        app_ops = app_operations(cluster.redis_client(), cluster.run_id) if user_app is not None else []
        side_effects = ledger.side_effects()
        replicas = sorted(set(cluster.replicas) | set(cluster.lifetimes))
        lifetimes = dict(cluster.lifetimes)
        removed = dict(cluster.removed)
        events.emit("collected", deliveries=len(deliveries), operations=len(operations), ledger=ledger_stats)
        say("stopping the cluster")
    t_observed = time.monotonic()
    events.emit("cluster_stopped")
    windows = replica_windows(replicas, ready_ns, collect_end_ns, handles, lifetimes)
    write_history(
        run_dir,
        History(
            deliveries=deliveries,
            operations=operations,
            windows=windows,
            down=down_intervals(handles, removed, collect_end_ns),
            observe_start_ns=observe_start_ns,
            observe_end_ns=observe_end_ns,
            collect_end_ns=collect_end_ns,
            replicas=len(replicas),
            side_effects=side_effects,
            ledger_stats=ledger_stats,
            actions=actions,
            app_operations=app_ops,
        ),
    )
    dapr: RunDapr = {"daprd": bins.daprd_version, "scheduler": bins.scheduler_version, "source": bins.source}
    if upgrade is not None and scenario.dapr.upgrades:
        dapr["upgrade_to"] = {"daprd": upgrade.daprd_version, "scheduler": upgrade.scheduler_version}
    built = build_record(bins)  # the commit and Go version of a build of ours; nothing for other binaries
    if "commit" in built:
        dapr["commit"] = built["commit"]
    if "go" in built:
        dapr["go"] = built["go"]
    write_run_info(
        run_dir,
        RunInfo(
            dapr=dapr,
            scenario={"name": scenario.name, "hash": scenario.canonical_hash()},
            faults=[h.window() for h in handles],
            host={"node": platform.node(), "python": platform.python_version(), "cpus": (os.cpu_count() or 0)},
            timings={
                "cluster_ready_s": round(cluster.ready_seconds or 0.0, 2),
                "start_to_ready_s": round(t_ready - t_start, 2),
                "observe_and_quiesce_s": round(t_observed - t_ready, 2),
            },
            onceonly=onceonly_version(),
        ),
    )
    store.write_dapr_metrics(
        run_dir,
        scraped,
        crosscheck.cross_check(
            scraped,
            deliveries,
            operations + app_ops,  # a user app's own Jobs API calls count as Dapr counts them
            [h.window() for h in handles],
            daprd_version=bins.daprd_version,
            scheduler_version=bins.scheduler_version,
            margin_ns=crosscheck.in_flight_margin_ns(behaviour.delay_ms),
        ),
    )
    return Collected(run_dir, deliveries, operations)


def _job_body(scenario: Scenario, name: str) -> dict[str, Any]:
    """The JSON body the schedule call sends for job ``name`` (as written to plan.json)."""
    return JobsClient.schedule_body(**schedule_kwargs(scenario, name))
