"""What a ``KubeCluster`` says about itself: its endpoints, each member's Dapr version (from its image), Dapr's
metrics targets (daprd's port 9090 over a port-forward) and the scheduler's member count. The apps' journals are
``harness.cluster.kubernetes.journals``'.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from harness.cluster.base import MetricsTarget
from harness.cluster.kubernetes.images import image_version
from harness.cluster.kubernetes.signals import CONTAINERS
from harness.model import NS

if TYPE_CHECKING:
    from harness.cluster.kubernetes.cluster import KubeCluster

METRICS = 9090  # dapr.io/metrics-port in k8s/base/app.yaml


def scheduler_count(c: KubeCluster, default: int | None = -1) -> int:
    """How many scheduler members Dapr's installation has (its pods); ``default`` (-1: the scenario's) when they
    cannot be listed."""
    try:
        found = len(c.workload.scheduler_pods())
    except Exception:
        found = 0
    if found:
        return found
    return c.spec.schedulers if default == -1 else (default or 0)


def endpoints(c: KubeCluster) -> dict[str, object]:
    return {
        "backend": "kubernetes",
        "context": c.api.context,
        "namespace": c.placement.namespace,
        "dapr_namespace": c.placement.dapr_namespace,
        "image": c.placement.image,
        "pods": {str(i): pod.name for i, pod in sorted(c.pods.present().items())},
    }


def versions(c: KubeCluster) -> dict[str, str]:
    """``daprd-<i>``: the tag of replica i's daprd image; ``scheduler-<i>``: the scheduler pods' (when listable)."""
    found = {}
    try:
        for i, pod in enumerate(c.workload.scheduler_pods()):
            image = next((img for name, img in pod.images.items() if "scheduler" in name), None)
            if image is not None:
                found[f"scheduler-{i}"] = image_version(image)
    except Exception:  # no right to list Dapr's namespace: the scheduler's version is not said
        pass
    c.refresh()
    for i, live in sorted(c.pods.live().items()):
        image = live.images.get(CONTAINERS["daprd"])
        if image is not None:
            found[f"daprd-{i}"] = image_version(image)
    return found


def metrics_targets(c: KubeCluster) -> list[MetricsTarget]:
    """Each replica's daprd (live: over a port-forward to 9090; gone: no URL, its counters went with the pod); the
    scheduler's members are in Dapr's namespace and only named (their counters are not read)."""
    c.refresh()
    live = c.pods.live()
    targets = []
    for row in c.pods.rows():
        i = row["replica"]
        pod = live.get(i)
        if pod is None:
            gone = row["removed_ns"]
            when = "" if gone is None else f" at {time.strftime('%H:%M:%S', time.gmtime(gone // NS))}Z"
            targets.append(MetricsTarget(f"daprd-{i}", "daprd", i, None, 1, None, f"pod {row['name']} deleted{when}"))
            continue
        image = pod.images.get(CONTAINERS["daprd"], "")
        url = f"{c.forwards.url(pod.name, METRICS)}/metrics"
        lives = 1 + pod.restarts.get(CONTAINERS["daprd"], 0)
        targets.append(MetricsTarget(f"daprd-{i}", "daprd", i, url, lives, None, "", image_version(image)))
    note = "in Dapr's namespace: its counters are not read by a Kubernetes run"
    for m in range(scheduler_count(c)):
        targets.append(MetricsTarget(f"scheduler-{m}", "scheduler", m, None, 1, None, note))
    return targets
