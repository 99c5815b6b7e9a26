"""``pods.json``: which Kubernetes pod each replica index was, in a Kubernetes run's directory.

A Deployment's pods have no index; the Kubernetes backend gives each pod one (``harness.cluster.kubernetes.
replicas``) and the ledger's arrival records, which carry their pod's name, are read with it
(``harness.io.ledger.Ledger``'s ``pod_replica``). The mapping is written here so a reader of history.json can see
which pod a replica was; ``onceonly check`` re-judges from history.json, whose deliveries already carry the index.

Format: ``{"namespace": str, "context": str, "pods": [row, ...]}``, one row per index in index order (``PodRow``):
times in ns since the epoch, null when unknown; ``seen_in`` "api" (listed by the harness) or "ledger" (named only
by arrival records: the pod came and went between two listings); ``daprd_version`` the tag of its daprd image
(a pod's sidecar never changes: a rolling upgrade on Kubernetes gives each replica index one version).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NotRequired, TypedDict, cast

PODS = "pods.json"


class PodRow(TypedDict):
    replica: int
    name: str
    node: str
    ip: str
    uid: str
    created_ns: int | None
    ready_ns: int | None  # its Ready condition turned true
    removed_ns: int | None  # its deletion began
    gone_ns: int | None  # the API no longer listed it
    initial: bool  # one of the pods of the start (before the cluster was first ready)
    seen_in: str  # "api" | "ledger"
    daprd_version: NotRequired[str | None]  # its daprd image's tag (a pod keeps its sidecar); absent in older files


class PodsFile(TypedDict):
    namespace: str
    context: str
    pods: list[PodRow]


def write_pods(run_dir: Path, namespace: str, context: str, rows: list[PodRow]) -> None:
    doc = PodsFile(namespace=namespace, context=context, pods=rows)
    path = run_dir / PODS
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)


def read_pods(run_dir: Path) -> PodsFile | None:
    """The run's pods.json, or None for a run that has none (a local run)."""
    path = run_dir / PODS
    if not path.is_file():
        return None
    return cast(PodsFile, json.loads(path.read_text()))


def daprd_versions(doc: PodsFile | None) -> dict[int, str]:
    """Replica index -> the Dapr version of its daprd, for every pod whose image said one (none for a local run)."""
    rows = doc["pods"] if doc is not None else []
    return {row["replica"]: v for row in rows if (v := row.get("daprd_version")) and v != "unknown"}


def replica_by_pod(doc: PodsFile) -> dict[str, int]:
    """Pod name -> replica index, as the ledger was read with."""
    return {row["name"]: row["replica"] for row in doc["pods"]}
