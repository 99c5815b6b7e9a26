"""Small helpers shared by the integration tests: scheduling a job through a daprd, reading deliveries."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from harness.cluster.local.cluster import LocalCluster
from harness.cluster.local.members import ReplicaMember

ROOT = Path(__file__).resolve().parents[2]


def jobs_url(cluster: LocalCluster, replica: ReplicaMember, name: str) -> str:
    # /v1.0/jobs exists from 1.18 on; earlier releases only serve /v1.0-alpha1/jobs (pkg/api/http/jobs.go)
    major, minor = (int(p) for p in cluster.binaries.daprd_version.split(".")[:2])
    prefix = "v1.0" if (major, minor) >= (1, 18) else "v1.0-alpha1"
    return f"{replica.dapr_http}/{prefix}/jobs/{name}"


def schedule_job(cluster: LocalCluster, replica: ReplicaMember, name: str, body: dict[str, object]) -> None:
    resp = httpx.post(
        jobs_url(cluster, replica, name),
        json=body,
        headers={"dapr-api-token": cluster.tokens.dapr_api},
        timeout=35.0,
    )
    assert resp.status_code == 204, f"schedule {name}: {resp.status_code} {resp.text}"


def deliveries(cluster: LocalCluster, name: str | None = None) -> list[dict[str, object]]:
    """Every delivery line the apps of the run logged (all lives of all replicas)."""
    rows: list[dict[str, object]] = []
    for log in sorted(Path(cluster.supervisor.log_dir).glob("app-*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"delivery"' in line:
                row = json.loads(line)
                if name is None or row["name"] == name:
                    rows.append(row)
    return rows


def wait_for_deliveries(cluster: LocalCluster, name: str, count: int, timeout: float) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = deliveries(cluster, name)
        if len(rows) >= count:
            return rows
        time.sleep(0.1)
    return deliveries(cluster, name)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(pids: list[int], timeout: float = 15.0) -> list[int]:
    """The pids still alive after ``timeout`` seconds (empty when all are gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if not gone(p)]
        if not left:
            return []
        time.sleep(0.1)
    return [p for p in pids if not gone(p)]


def hold_then_interrupt(argv: list[str], ready: Path, what: str) -> tuple[dict[str, Any], str, int]:
    """Run a held command (``onceonly k8s up ...``) until it writes ``ready``, check it still holds a second
    later, send SIGINT (Ctrl-C) and wait for it: ``ready``'s JSON, its output and its exit code."""
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ready.exists(), f"{what} exited {proc.poll()} before it was ready"
        record = json.loads(ready.read_text())
        time.sleep(1)
        assert proc.poll() is None, f"{what} must hold until signalled"
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.communicate()
    return record, output, proc.returncode
