"""Issue 11 on real Dapr: a replica killed mid-handler leaves a delivery cut off (an arrival record, no answer),
the occurrence is delivered again elsewhere, and exactly-once fails with the duplicate's witness; the fan-out
source beside the recurring job shows the same by its member's name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.io import csv_files
from harness.io.ledger import ledger_gaps
from harness.io.stage_files import read_history
from tests.integration.test_headline import onceonly
from toolchain.binaries import Binaries

pytestmark = pytest.mark.integration


def test_a_busy_kill_mid_handler_is_a_cut_off_delivery_and_a_duplicate(dapr_bins: Binaries, tmp_path: Path) -> None:
    proc = onceonly("run", "scenarios/kill-busy-mid-handler.yaml", "--reports", str(tmp_path), bins=dapr_bins)
    (run_dir,) = list(tmp_path.glob("kill-busy-mid-handler/*"))
    results = json.loads((run_dir / "results.json").read_text())
    output = proc.stdout + proc.stderr

    # the fault struck a replica inside tick-job's handler, and says which delivery that was
    fault, fan_fault = results["faults"]
    assert (fault["kind"], fault["part"], fault["signal"]) == ("kill", "both", "KILL"), fault
    victim, in_flight = fault["target"], fault["in_flight"]
    assert in_flight is not None and (in_flight["source"], in_flight["name"]) == ("jobs", "tick-job"), fault

    # the ledger: that delivery arrived on the killed replica and was never answered
    deliveries, _ = csv_files.read_ledger_csv(run_dir)
    by_id = {d.delivery_id: d for d in deliveries}
    cut = by_id[in_flight["delivery_id"]]
    assert (cut.replica, cut.status, cut.answered_ns, cut.effects) == (victim, None, None, ()), cut
    assert cut.received_ns < fault["injected_ns"]
    assert all(d.replica in (victim, fan_fault["target"]) for d in deliveries if d.cut_off)
    stats = read_history(run_dir).ledger_stats
    assert stats["cut_off"] >= 1 and ledger_gaps(stats) == [], stats

    # the checker: one occurrence delivered twice, first to the killed replica (cut off), then to another one
    job, fan = results["sources"]
    assert (job["name"], fan["name"]) == ("tick-job", "tick-fan")
    assert job["policy"] == "exactly-once" and job["verdict"] == "fail" and proc.returncode == 1, output
    assert job["duplicates"] >= 1 and job["missed"] == 0 and job["early"] == 0, job
    witness = next(
        w
        for w in job["witnesses"]
        if w["kind"] == "duplicate" and in_flight["delivery_id"] in [d["delivery_id"] for d in w["deliveries"]]
    )
    assert len(witness["replicas"]) == 2 and victim in witness["replicas"], witness
    (again,) = [d for d in witness["deliveries"] if d["delivery_id"] != in_flight["delivery_id"]]
    assert again["replica"] != victim and again["status"] == 200 and again["received_ns"] > cut.received_ns
    assert [d["cut_off"] for d in witness["deliveries"] if d["delivery_id"] == cut.delivery_id] == [True]

    # and every report says so
    summary = (run_dir / "summary.md").read_text()
    assert f"in flight: delivery {cut.delivery_id} (jobs tick-job)" in summary
    assert "cut off (no answer)" in summary
    assert f"in flight: delivery {cut.delivery_id} (jobs tick-job)" in (run_dir / "report.html").read_text()

    # the fan-out: the second kill struck a replica inside a member's handler; that member, named, was delivered
    # twice: by its name, with no timing inference
    member = fan_fault["in_flight"]
    assert member is not None and member["name"].startswith("tick-fan-"), fan_fault
    fan_cut = by_id[member["delivery_id"]]
    assert (fan_cut.replica, fan_cut.status) == (fan_fault["target"], None), fan_cut
    assert fan["verdict"] == "fail" and fan["duplicates"] >= 1 and fan["missed"] == 0, fan
    named = [w for w in fan["witnesses"] if w["kind"] == "duplicate" and w["note"].startswith(f"{member['name']}:")]
    assert named and member["delivery_id"] in [d["delivery_id"] for d in named[0]["deliveries"]], fan["witnesses"]
    again_fan = [d for d in deliveries if d.name == member["name"] and d.delivery_id != member["delivery_id"]]
    assert again_fan and all(d.replica != fan_fault["target"] for d in again_fan), again_fan
