"""Faults on real Dapr: the fault takes effect, is healed, and the checker sees what it provokes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.integration.helpers import wait_gone
from tests.integration.test_headline import onceonly
from toolchain.binaries import Binaries

pytestmark = pytest.mark.integration


def test_killing_a_daprd_mid_handler_yields_a_duplicate(dapr_bins: Binaries, tmp_path: Path) -> None:
    """At-least-once, measured: the in-flight trigger of the killed daprd's stream is sent to another replica
    while the first app still finishes its handler, so one occurrence is handled twice: slow-job's occurrence or
    a member of the slow-fan fan-out (one-shot jobs, one per occurrence), whichever the killed replica held."""
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

    rows = {s["name"]: s for s in results["sources"]}
    assert list(rows) == ["slow-job", "slow-fan"], rows  # the fan-out is one row, beside the recurring job
    assert results["verdict"] == "fail" and proc.returncode == 1, rows
    assert sum(s["duplicates"] for s in rows.values()) >= 1, rows
    duplicates = [(s["name"], w) for s in rows.values() for w in s["witnesses"] if w["kind"] == "duplicate"]
    assert duplicates and all(victim in w["replicas"] and len(w["replicas"]) == 2 for _, w in duplicates)
    assert all(w["note"].startswith("slow-fan-00") for name, w in duplicates if name == "slow-fan")
    assert all(s["missed"] == 0 and s["early"] == 0 and s["spurious"] == 0 for s in rows.values()), rows
    fan = rows["slow-fan"]
    assert (fan["occurrences"], fan["fanout"]["count"]) == (5, 5), fan
    assert f"fault kill on replica {victim}" in (run_dir / "summary.md").read_text()


def test_interrupting_a_suite_keeps_finished_runs_and_leaves_no_process(dapr_bins: Binaries, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    env = {**os.environ, "ONCEONLY_DAPR_BIN_DIR": str(dapr_bins.daprd.parent)}
    args = ["suite", "scenarios/regression.yaml", "--only", "handler-404", "--only", "pause-replica"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", *args, "--junit", str(junit), "--reports", str(tmp_path / "r")],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        second: list[Path] = []
        while not second and time.monotonic() < deadline:  # wait until the second case's cluster is up
            second = [p for p in (tmp_path / "r").glob("pause-replica/*") if (p / "processes.json").exists()]
            time.sleep(0.2)
        assert second, "the second case never started"
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 130, output
    assert "interrupted after 1 of 2" in output
    cases = ET.parse(junit).getroot().findall("testcase")
    assert [c.get("name") for c in cases] == ["handler-404"]
    (first,) = list((tmp_path / "r").glob("handler-404/*"))
    assert (first / "results.json").is_file()
    pids = [p["pid"] for p in json.loads((second[0] / "processes.json").read_text())["processes"]]
    assert wait_gone(pids, timeout=10) == []
