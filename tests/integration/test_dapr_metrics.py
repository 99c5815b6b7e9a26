"""Dapr's own metrics beside the ledger on real Dapr: a short no-fault run where every figure must agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.io import store
from harness.io.stage_files import read_history
from harness.model import version_tuple
from harness.oracle import crosscheck
from tests.integration.test_headline import onceonly
from toolchain.binaries import Binaries

pytestmark = pytest.mark.integration

# One job and one cron binding every second on 3 replicas; the app answers 500 to the first two deliveries of
# each source (counted across replicas), so Dapr's failure counters have something to count too.
SCENARIO = """\
name: dapr-metrics-crosscheck
seed: 6
cluster: {replicas: 3}
sources:
  jobs:
    - {name: tick-job, schedule: "@every 1s"}
  bindings:
    - {name: tick-cron, schedule: "*/1 * * * * *"}
app: {fail_first: 2}
observe: {duration: 20s, quiesce: 3s}
expect: {jobs: contract, bindings: contract}
"""


def test_dapr_counts_every_trigger_and_delivery_the_ledger_has(dapr_bins: Binaries, tmp_path: Path) -> None:
    scenario = tmp_path / "dapr-metrics.yaml"
    scenario.write_text(SCENARIO)
    proc = onceonly("run", str(scenario), "--reports", str(tmp_path / "r"), bins=dapr_bins)
    output = proc.stdout + proc.stderr
    (run_dir,) = list((tmp_path / "r").glob("dapr-metrics-crosscheck/*"))
    assert (run_dir / store.DAPR_METRICS).is_file(), output
    scraped = store.load_dapr_metrics(run_dir)
    assert scraped is not None
    assert sorted(p["process"] for p in scraped) == ["daprd-0", "daprd-1", "daprd-2", "scheduler-0"]
    assert all(p["error"] is None and p["samples"] for p in scraped), scraped

    results = json.loads((run_dir / "results.json").read_text())
    check = results["dapr_metrics"]
    rows = {(r["process"], r["figure"]): r for r in check["rows"]}
    triggered = rows[("scheduler", "job triggers done (app answered 2xx or 404)")]
    # the ledger's side, counted here from history.json independently of harness.oracle.crosscheck
    history = read_history(run_dir)
    done = [d for d in history.deliveries if d.source == "jobs" and d.status is not None and 200 <= d.status < 300]
    assert triggered["ledger"] == len(done) >= 15, triggered
    assert triggered["dapr"] == triggered["ledger"] and triggered["status"] == "agree", triggered
    failed = rows[("scheduler", "job triggers failed (app answered otherwise, or not at all)")]
    assert failed["dapr"] == failed["ledger"] == 2, failed
    created = rows[("scheduler", "jobs created (schedule calls answered 2xx)")]
    assert created["dapr"] == created["ledger"] == 1, created
    per_daprd = sum(rows[(f"daprd-{i}", "job deliveries answered 2xx")]["dapr"] for i in range(3))
    assert per_daprd == triggered["dapr"]  # the daprds' own counts add up to the scheduler's
    for i in range(3):
        cron = rows[(f"daprd-{i}", "binding tick-cron deliveries answered 2xx")]
        assert cron["dapr"] >= 15 and cron["status"] == "agree", cron
    if version_tuple(dapr_bins.scheduler_version) < (1, 18):
        disagree = [r for r in check["rows"] if r["status"] not in ("agree", "not-comparable")]
    else:
        disagree = [r for r in check["rows"] if r["status"] != "agree"]
    assert disagree == [], disagree  # a run without faults: every figure agrees
    assert "Dapr's own metrics vs the ledger:" in output and "0 disagree" in output

    # The comparison can fail: one delivery fewer in the ledger and the same real counters disagree.
    fewer = [d for d in history.deliveries if d.delivery_id != done[0].delivery_id]
    again = crosscheck.cross_check(
        scraped,
        fewer,
        history.operations,
        [],
        daprd_version=dapr_bins.daprd_version,
        scheduler_version=dapr_bins.scheduler_version,
        margin_ns=crosscheck.in_flight_margin_ns(0),
    )
    broken = {(r["process"], r["figure"]) for r in again["rows"] if r["status"] == "disagree"}
    assert ("scheduler", "job triggers done (app answered 2xx or 404)") in broken
    assert (f"daprd-{done[0].replica}", "job deliveries answered 2xx") in broken

    # `onceonly check` re-derives the cross-check from the run dir's files alone
    before = (run_dir / "results.json").read_text()
    replay = onceonly("check", str(run_dir), bins=dapr_bins)
    assert "results.json reproduced" in replay.stdout, replay.stdout + replay.stderr
    assert (run_dir / "results.json").read_text() == before
    assert "## Dapr's own metrics (cross-check)" in (run_dir / "summary.md").read_text()
    assert "Dapr's own metrics (cross-check)" in (run_dir / "report.html").read_text()
