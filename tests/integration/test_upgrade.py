"""Two Dapr versions on real processes: a member switched mid-run really runs the new binary, and
`onceonly compare TARGET --dapr OLD --dapr NEW` runs a scenario on both and reports both.

The old version is 1.16.0 (the older of the two this machine can build, issue 2); it is built into onceonly's
cache when missing (`.ci/run` builds it before the tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.cluster.base import ClusterSpec
from harness.cluster.local.cluster import LocalCluster
from tests.integration.helpers import deliveries, schedule_job
from toolchain import binaries as dapr_binaries
from toolchain.binaries import Binaries
from toolchain.build import build
from toolchain.selection import cache_root
from toolchain.versions import lookup

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
OLD_VERSION = "1.16.0"


@pytest.fixture(scope="session")
def old_bins() -> Binaries:
    found = dapr_binaries.locate(OLD_VERSION, cache_root(), Path.home())
    if found is not None:
        return found
    result = build(lookup(OLD_VERSION), cache_root())
    return dapr_binaries.from_dir(result.bin_dir, dapr_binaries.SOURCE_CACHE)


def exe(cluster: LocalCluster, name: str) -> str:
    return str(psutil.Process(cluster.supervisor.get(name).pid).exe())


def test_members_switched_one_at_a_time_run_the_new_binaries_and_deliveries_continue(
    old_bins: Binaries, dapr_bins: Binaries, tmp_path: Path
) -> None:
    assert old_bins.daprd_version != dapr_bins.daprd_version
    with LocalCluster(ClusterSpec(replicas=2), old_bins, tmp_path / "run") as cluster:
        first = cluster.replicas[0]
        schedule_job(cluster, first, "tick", {"schedule": "@every 1s", "data": {"job": "tick"}})  # the old (alpha1) API
        ports = (cluster.schedulers[0].port, first.http_port)
        deadline = time.monotonic() + 15
        while not deliveries(cluster, "tick") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert deliveries(cluster, "tick"), "the job never fired on the old version"
        assert exe(cluster, "scheduler-0") == str(old_bins.scheduler.resolve())
        assert cluster.upgrade_scheduler(0, dapr_bins) == f"{OLD_VERSION} -> {dapr_bins.scheduler_version}"
        assert exe(cluster, "scheduler-0") == str(dapr_bins.scheduler.resolve())
        assert cluster.versions() == {
            "scheduler-0": dapr_bins.scheduler_version,
            "daprd-0": OLD_VERSION,
            "daprd-1": OLD_VERSION,
        }
        for index in (0, 1):
            cluster.upgrade_replica(index, dapr_bins)
            assert exe(cluster, f"daprd-{index}") == str(dapr_bins.daprd.resolve())
        assert set(cluster.versions().values()) == {dapr_bins.daprd_version}
        assert (cluster.schedulers[0].port, cluster.replicas[0].http_port) == ports  # a switch keeps the ports
        # the job made on the old scheduler fires on the new one (its etcd data dir is kept)
        before = len(deliveries(cluster, "tick"))
        deadline = time.monotonic() + 15
        while len(deliveries(cluster, "tick")) < before + 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(deliveries(cluster, "tick")) >= before + 3, "the job made before the upgrade stopped firing"


def test_compare_runs_a_scenario_on_both_versions_and_reports_both(
    old_bins: Binaries, dapr_bins: Binaries, tmp_path: Path
) -> None:
    scenario = tmp_path / "short.yaml"
    scenario.write_text(
        "name: short-compare\nseed: 3\ncluster: {replicas: 2}\n"
        'sources: {jobs: [{name: tick, schedule: "@every 1s"}]}\n'
        "observe: {duration: 8s, quiesce: 3s}\nexpect: {jobs: contract}\n"
    )
    out = tmp_path / "cmp"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "compare",
            str(scenario),
            "--dapr",
            str(old_bins.daprd.parent),
            "--dapr",
            str(dapr_bins.daprd.parent),
            "--lateness-threshold",
            "100000",  # this test is about the plumbing; lateness noise on a shared machine is not a regression
            "--out",
            str(out),
        ],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=400,
        cwd=ROOT,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    data = json.loads((out / "comparison.json").read_text())
    (entry,) = data["scenarios"]
    assert entry["name"] == "short-compare" and entry["regression"] is False
    versions = []
    for side in ("old", "new"):
        results = json.loads((Path(entry[side]["run_dir"]) / "results.json").read_text())
        assert results["verdict"] == entry[side]["verdict"] == "pass", output
        versions.append(results["dapr"]["daprd"])
        assert (Path(entry[side]["run_dir"]) / "report.html").is_file()
    assert versions == [old_bins.daprd_version, dapr_bins.daprd_version]
    page = (out / "report.html").read_text()
    for v in versions:
        assert f"daprd {v}" in page
    assert 'src="http' not in page and 'href="http' not in page
