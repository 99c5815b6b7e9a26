"""What the local cluster has, read for others: its endpoints, the processes Dapr's metrics are read from, the
apps' fallback journals, and ``processes.json`` (every process of the run, for tooling and teardown tests)."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cluster.base import MetricsTarget, Role
from harness.model import NS

if TYPE_CHECKING:
    from harness.cluster.local.cluster import LocalCluster


def endpoints(c: LocalCluster) -> dict[str, object]:
    return {
        "app_id": c.spec.app_id,
        "redis": f"redis://127.0.0.1:{c.redis.port}",
        "schedulers": [
            {
                "name": m.name,
                "grpc": m.address,
                "healthz": f"http://127.0.0.1:{m.healthz_port}/healthz",
                "metrics": f"http://127.0.0.1:{m.metrics_port}/metrics",
                "etcd": f"http://127.0.0.1:{m.etcd_client_port}",
                **({} if c.proxy is None else {"via_proxy": c.proxy.address(m.index)}),
            }
            for m in c.schedulers
        ],
        **({} if c.proxy is None else {"fault_proxy": c.proxy.api}),
        "replicas": [
            {
                "index": r.index,
                "app": r.app_url,
                "dapr_http": r.dapr_http,
                "dapr_grpc": f"127.0.0.1:{r.grpc_port}",
                "metrics": f"http://127.0.0.1:{r.metrics_port}/metrics",
            }
            for r in c.replicas.values()
        ],
    }


def metrics_targets(c: LocalCluster) -> list[MetricsTarget]:
    """Every scheduler member and every replica's daprd the run had, with its lives and its last start."""
    sup = c.supervisor
    lives = Counter(child.name for child in sup.history)
    now_ns, now = time.time_ns(), time.monotonic()
    targets = []

    def target(name: str, role: Role, index: int, port: int, version: str) -> MetricsTarget:
        child = sup.children.get(name)
        started = None if child is None else now_ns - int((now - child.started_at) * NS)
        alive = child is not None and child.alive()
        url = f"http://127.0.0.1:{port}/metrics" if alive else None
        note = "" if alive else "not running at the end"
        return MetricsTarget(name, role, index, url, lives[name], started, note, version)

    for member in c.schedulers:
        version = c.scheduler_binaries(member.index).scheduler_version
        targets.append(target(member.name, "scheduler", member.index, member.metrics_port, version))
    for index in sorted(set(c.replicas) | set(c.lifetimes)):
        replica = c.replicas.get(index)
        if replica is None:
            gone = c.lifetimes[index][1]
            when = "" if gone is None else f" at {time.strftime('%H:%M:%S', time.gmtime(gone // NS))}Z"
            note = f"removed by scale{when}: its counters went with it"
            targets.append(MetricsTarget(f"daprd-{index}", "daprd", index, None, lives[f"daprd-{index}"], None, note))
            continue
        version = c.daprd_binaries(index).daprd_version
        targets.append(target(replica.daprd_name, "daprd", index, replica.metrics_port, version))
    return targets


def read_journals(directory: Path) -> list[str | None]:
    """The text of every ``*.jsonl`` journal in ``directory`` (None for one that cannot be read)."""
    texts: list[str | None] = []
    for path in sorted(directory.glob("*.jsonl")):
        try:
            texts.append(path.read_text())
        except (OSError, UnicodeDecodeError):
            texts.append(None)
    return texts


def write_processes(c: LocalCluster) -> None:
    """``processes.json``: every process of the run (also earlier lives), with the ports the run took."""
    rows = [{"name": p.name, "pid": p.pid, "alive": p.alive(), "log": str(p.log_path)} for p in c.supervisor.history]
    path = c.run_dir / "processes.json"
    path.write_text(json.dumps({"processes": rows, "ports": sorted(c.ports.taken)}, indent=1) + "\n")
