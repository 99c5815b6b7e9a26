"""Judge a run from its stage-1 files alone (no services, nothing written): ``judge(run_dir, scenario)``.

Reads ``history.json``, ``run.json`` and ``dapr_metrics.json``; rebuilds every job's plan (the scenario's, each
fan-out's members from their recorded schedule bodies, the load's jobs from its recorded calls, the plans the
scenario's actions asked for); runs the checker; folds each fan-out's members into one row; makes the results.json
document (``harness.oracle.results``, with a rolling upgrade's accounting). ``harness.campaign.experiment`` writes
stage 2 from the ``Judgement``. Used after a run and by ``onceonly check``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.io import store
from harness.io.ledger import ledger_gaps
from harness.io.pods import daprd_versions, read_pods
from harness.io.stage_files import ActionCall, read_history, read_run_info
from harness.load.workload import load_plans
from harness.model import JobPlan
from harness.oracle import crosscheck
from harness.oracle.check import CheckInput, CheckResult, check
from harness.oracle.claims import ActionClaim
from harness.oracle.results import DaprDoc, Results, results_document
from harness.oracle.upgrade import accounting as upgrade_accounting
from harness.run import fanout
from harness.run.app_jobs import app_document, app_plans
from harness.run.fanout_fold import fold
from harness.scenario.schema import Scenario


@dataclass(frozen=True, slots=True)
class Judgement:
    """One run judged: the checker's result and the results.json document made of it."""

    run_dir: Path
    scenario: Scenario
    check: CheckResult
    results: Results


def judge(run_dir: Path, scenario: Scenario) -> Judgement:
    """Judge a run from its stage-1 files alone; writes nothing."""
    history = read_history(run_dir)
    info = read_run_info(run_dir)
    op_plans, claims = action_inputs(scenario, history.actions)
    load_jobs: list[JobPlan] = []
    if scenario.workload.load is not None:  # every job the load created, from its recorded schedule calls
        load_jobs, load_op_plans = load_plans(history.operations, scenario.expect.jobs)
        op_plans = {**op_plans, **load_op_plans}
    plans = fanout.job_plans(scenario, history.operations) + load_jobs  # fan-outs: one plan per member
    app_jobs, app_op_plans = app_plans(history.app_operations, scenario.expect.jobs, [p.name for p in plans])
    op_plans = {**op_plans, **app_op_plans}
    plans += app_jobs  # a user's own app's jobs, from the calls its hops recorded
    operations = history.operations + history.app_operations
    result = check(
        CheckInput(
            jobs=plans,
            bindings=scenario.binding_plans(),
            deliveries=history.deliveries,
            operations=operations,
            windows=history.windows,
            observe_start_ns=history.observe_start_ns,
            observe_end_ns=history.observe_end_ns,
            replicas=history.replicas,
            side_effects=history.side_effects,
            lateness_p99_ms=scenario.expect.lateness_p99_ms,
            op_plans=op_plans,
            actions=claims,
            ledger_gaps=ledger_gaps(history.ledger_stats),
            down=history.down,
        )
    )
    result = fold(result, scenario, operations, plans)  # one row per fan-out source
    dapr: DaprDoc = {"daprd": info.dapr["daprd"], "scheduler": info.dapr["scheduler"]}  # not where they came from
    if "upgrade_to" in info.dapr:
        dapr["upgrade_to"] = info.dapr["upgrade_to"]
    for key in ("commit", "go"):  # the build's, when run.json has them
        if key in info.dapr:
            dapr[key] = info.dapr[key]
    faults = info.faults
    scraped = store.load_dapr_metrics(run_dir)  # None for a run made before onceonly read Dapr's metrics
    doc = results_document(
        result,
        dapr=dapr,
        scenario=info.scenario,
        host=info.host,
        timings=info.timings,
        faults=faults,
        dapr_metrics=None
        if scraped is None
        else crosscheck.cross_check(
            scraped,
            history.deliveries,
            operations,  # a user app's own Jobs API calls count as Dapr counts them
            faults,
            daprd_version=info.dapr["daprd"],
            scheduler_version=info.dapr["scheduler"],
            margin_ns=crosscheck.in_flight_margin_ns(scenario.app.delay_ms),
        ),
        fanouts=fanout.describe(scenario),
        onceonly=info.onceonly,
    )
    upgraded = upgrade_accounting(
        faults,
        history.deliveries,
        doc["sources"],
        observe_start_ns=history.observe_start_ns,
        collect_end_ns=history.collect_end_ns,
        old=dapr,
        new=dapr.get("upgrade_to", dapr),
        daprd_of=daprd_versions(read_pods(run_dir)),  # Kubernetes: each replica index is one pod, one daprd
    )
    if upgraded is not None:
        doc["upgrade"] = fanout.fold_upgrade(upgraded, scenario)
    if scenario.app.command is not None:
        doc["app"] = app_document(history.app_operations, app_op_plans, scenario.app.command)
    return Judgement(run_dir, scenario, result, doc)


def action_inputs(scenario: Scenario, done: list[ActionCall]) -> tuple[dict[str, JobPlan], list[ActionClaim]]:
    """From the actions the runner made (``history.json`` ``actions``): the plan each ``schedule`` call asked for
    (op_id -> JobPlan) and one claim per scenario action (``op_id`` None for an action never made)."""
    op_ids = {a.index: a.op_id for a in done}
    op_plans = {
        op_ids[i]: scenario.action_plan(i)
        for i, action in enumerate(scenario.actions)
        if action.op == "schedule" and i in op_ids
    }
    claims = [
        ActionClaim(i, a.at.total_seconds(), a.op, a.job, op_ids.get(i), a.expect_status)
        for i, a in enumerate(scenario.actions)
    ]
    return op_plans, claims
