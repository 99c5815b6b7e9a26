"""Faults on real Dapr: the fault takes effect, is healed, and the checker sees what it provokes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dapr.binaries import Binaries
from tests.integration.test_headline import onceonly

pytestmark = pytest.mark.integration


def test_killing_a_daprd_mid_handler_yields_a_duplicate(dapr_bins: Binaries, tmp_path: Path) -> None:
    """At-least-once, measured: the in-flight trigger of the killed daprd's stream is sent to another replica
    while the first app still finishes its handler, so one occurrence is handled twice."""
    proc = onceonly("run", "scenarios/kill-daprd-mid-handler.yaml", "--reports", str(tmp_path), bins=dapr_bins)
    (run_dir,) = list(tmp_path.glob("kill-daprd-mid-handler/*"))
    results = json.loads((run_dir / "results.json").read_text())
    (fault,) = results["faults"]
    assert fault["kind"] == "kill" and fault["part"] == "daprd" and fault["healed_ns"] > fault["injected_ns"]
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events if e["event"].startswith("fault_")] == ["fault_injected", "fault_healed"]
    victim = fault["target"]
    log = (run_dir / "logs" / f"daprd-{victim}.log").read_text()
    assert log.count("--- onceonly: starting daprd") == 2  # killed, then started again by the heal

    (job,) = results["sources"]
    assert job["duplicates"] >= 1 and job["verdict"] == "fail" and proc.returncode == 1, job
    witness = next(w for w in job["witnesses"] if w["kind"] == "duplicate")
    assert victim in witness["replicas"] and len(witness["replicas"]) == 2
    assert job["missed"] == 0 and job["early"] == 0
    assert f"fault kill on replica {victim}" in (run_dir / "summary.md").read_text()
