"""What ``KubeCluster``'s fault operations do on Kubernetes, each through ``Workload`` or a pod exec and each
waiting for its effect to be seen through the API (the table in ARCHITECTURE.md):

- ``kill`` part both: delete the pod (SIGKILL: ``grace_period_seconds=0``; TERM: its grace period), wait until the
  API no longer lists it; the Deployment's replacement is a new replica index;
- ``kill`` part app or daprd: signal the process in the pod (shared process namespace), wait until the kubelet has
  restarted that container (its restart count rose): same pod, same index, and not down after the call (``kill``
  says so: the fault's window is the call, nothing is healed, no delivery after it is a zombie);
- ``restart_replica``: the same with SIGTERM, then wait ready; for a pod already deleted (the heal of a kill of
  both), only wait ready (its replacement);
- ``scale``: the Deployment's scale subresource, then wait ready and until the scaled-down pods are gone;
- ``rolling_restart``: a new pod-template annotation (every pod replaced, one by one by the Deployment's strategy);
- scheduler: delete pod ``dapr-scheduler-server-<i>`` in Dapr's namespace (opt-in) and wait until its
  StatefulSet has made it again and it is Ready.
"""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING

from harness.cluster.base import Part
from harness.cluster.kubernetes import signals
from harness.cluster.kubernetes.api import PodView, wait_until
from harness.errors import InputError

if TYPE_CHECKING:
    from harness.cluster.kubernetes.cluster import KubeCluster

GONE_TIMEOUT = 120.0  # a graceful delete waits for the pod's grace period (30 s by default) and the kubelet


def pod_of(c: KubeCluster, index: int) -> PodView:
    c.refresh()
    present = c.pods.present()
    if index not in present:
        raise InputError(f"no replica {index}; running: {sorted(present)}")
    return present[index]


def kill(c: KubeCluster, index: int, part: Part, sig: signal.Signals) -> bool:
    """True when the kubelet has started the killed container again (part app or daprd: this waits for it), so the
    replica is not down after the call; False for a deleted pod (gone: its replacement is a new index)."""
    pod = pod_of(c, index)
    if part == "both":
        c.pods.removing(pod.name, time.time_ns())
        c.workload.delete_pod(pod.name, forced=sig == signal.SIGKILL)
        c.workload.wait_pod_gone(pod.name, GONE_TIMEOUT)
        c.forwards.drop(pod.name)
        c.refresh()
        c.write_pods()
        return False
    container = signals.CONTAINERS[part]
    before = pod.restarts.get(container, 0)
    c.signal_part(index, part, sig)

    def probe() -> str | None:
        now = next((p for p in c.workload.app_pods() if p.name == pod.name), None)
        if now is None:
            return None  # the whole pod went (its app's exit failed the pod): down all the same
        count = now.restarts.get(container, 0)
        return None if count > before else f"{container} restart count still {count}"

    wait_until(f"{part} of replica {index} ({pod.name}) exited", probe, GONE_TIMEOUT, c.progress)
    return any(p.name == pod.name for p in c.workload.app_pods())  # the pod itself failed: down, as a delete


def restart_replica(c: KubeCluster, index: int, part: Part, wait: bool) -> None:
    c.refresh()
    if index in c.pods.present():
        kill(c, index, part, signal.SIGTERM)
    if wait:
        c.wait_ready()
        c.write_pods()


def _settle(c: KubeCluster) -> None:
    """Ready again, and no pod of the app still deleting (so ``removed`` says when each was gone)."""
    c.wait_ready()
    wait_until(
        "the app's deleted pods gone",
        lambda: ", ".join(p.name for p in c.workload.app_pods() if p.deleting) or None,
        GONE_TIMEOUT,
        c.progress,
    )
    c.refresh()
    c.write_pods()


def scale(c: KubeCluster, replicas: int) -> None:
    c.workload.scale(replicas)
    _settle(c)


def rolling_restart(c: KubeCluster, wait: bool) -> None:
    c.workload.rolling_restart()
    if wait:
        _settle(c)


def _allowed(c: KubeCluster) -> None:
    if not c.placement.allow_scheduler_faults:
        raise InputError(
            "a scheduler fault deletes a pod in Dapr's namespace: it needs --allow-scheduler-faults (and the right "
            f"to delete pods in {c.placement.dapr_namespace})"
        )


def delete_scheduler(c: KubeCluster, index: int, forced: bool) -> None:
    """Delete scheduler member ``index``'s pod and wait until that pod (its uid) is gone; its StatefulSet makes it
    again under the same name."""
    _allowed(c)
    before = {p.name: p.uid for p in c.workload.scheduler_pods()}
    c.workload.delete_scheduler_pod(index, forced)
    name = next(n for n in before if n.endswith(f"-{index}"))

    def probe() -> str | None:
        still = any(p.name == name and p.uid == before[name] for p in c.workload.scheduler_pods())
        return f"{name} still the same pod" if still else None

    wait_until(f"scheduler pod {name} deleted", probe, GONE_TIMEOUT, c.progress)


def scheduler_back(c: KubeCluster, index: int, wait: bool) -> None:
    """Scheduler member ``index`` Ready again (its StatefulSet recreates it by itself), then, with ``wait``, every
    daprd connected to it again."""
    _allowed(c)
    wait_until(
        f"scheduler member {index} ready",
        lambda: c.workload.scheduler_problem(index),
        c.spec.ready_timeout,
        c.progress,
    )
    if wait:
        c.wait_ready()
