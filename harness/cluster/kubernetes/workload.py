"""The run's objects on Kubernetes and what is done to them, each one call of ``KubeApi`` (so each is observable
through the API): the run's namespace made and deleted, the rollout awaited, the app's pods listed, the Deployment
scaled or restarted (rolling), one pod deleted (graceful or forced), and one pod of Dapr's scheduler StatefulSet
deleted in Dapr's namespace (opt-in, ``harness.cluster.kubernetes.backend``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.cluster.kubernetes.api import KubeApi, PodView, wait_until
from harness.cluster.kubernetes.manifests import APP
from harness.cluster.kubernetes.render import LABEL_RUN
from harness.errors import ClusterError, InputError

APP_SELECTOR = f"app.kubernetes.io/name={APP}"
REDIS = "onceonly-redis"
REDIS_SELECTOR = f"app.kubernetes.io/name={REDIS}"
# Dapr's Helm chart labels its scheduler pods app=dapr-scheduler-server (StatefulSet dapr-scheduler-server,
# pods dapr-scheduler-server-<i>) and names its injector Deployment dapr-sidecar-injector (env SIDECAR_IMAGE).
SCHEDULER = "dapr-scheduler-server"
SCHEDULER_SELECTOR = f"app={SCHEDULER}"
INJECTOR = "dapr-sidecar-injector"
RESTARTED_AT = "onceonly/restarted-at"  # the pod-template annotation a rolling restart changes


@dataclass
class Workload:
    """The run's namespace and the app in it, on ``api``; ``dapr_namespace``: where Dapr's scheduler runs."""

    api: KubeApi
    namespace: str
    dapr_namespace: str = "dapr-system"
    on_progress: Callable[[str], None] = field(default=lambda _m: None)

    # --- the namespace -----------------------------------------------------------------------------------------

    def create_namespace(self, run_id: str) -> None:
        """Create the run's namespace labelled with the run id. An existing namespace is refused: the run
        deletes its namespace at the end, so it must be one the run made."""
        if self.api.namespace_exists(self.namespace):
            raise InputError(
                f"namespace {self.namespace} exists already in context {self.api.context}: a run deletes its "
                "namespace at the end, so it makes a new one; give another --namespace (or none)"
            )
        self.api.create_namespace(self.namespace, {LABEL_RUN: run_id, "app.kubernetes.io/part-of": "onceonly"})

    def delete_namespace(self, timeout: float = 120.0) -> bool:
        """Delete the run's namespace and wait until the API no longer has it; False if it is still there after
        ``timeout`` seconds (said through progress)."""
        if not self.api.namespace_exists(self.namespace):
            return True
        self.on_progress(f"deleting namespace {self.namespace}")
        self.api.delete_namespace(self.namespace)
        try:
            wait_until(
                f"namespace {self.namespace} deleted",
                lambda: "still there" if self.api.namespace_exists(self.namespace) else None,
                timeout,
                poll=1.0,
            )
        except ClusterError:
            return False
        return True

    # --- the app -----------------------------------------------------------------------------------------------

    def app_pods(self) -> list[PodView]:
        return self.api.pods(self.namespace, APP_SELECTOR)

    def redis_pod(self) -> PodView:
        pods = [p for p in self.api.pods(self.namespace, REDIS_SELECTOR) if p.ready and not p.deleting]
        if not pods:
            raise ClusterError(f"no ready Redis pod ({REDIS_SELECTOR}) in namespace {self.namespace}")
        return pods[0]

    def rollout_problem(self, name: str = APP) -> str | None:
        """None when Deployment ``name`` is rolled out (every replica updated, ready and available) and its pods
        are exactly that many, all Running and Ready; else what is missing."""
        d = self.api.deployment(self.namespace, name)
        if not d.rolled_out():
            return (
                f"deployment {name}: {d.ready}/{d.replicas} ready, {d.updated} updated, {d.available} available "
                f"(generation {d.observed}/{d.generation})"
            )
        selector = APP_SELECTOR if name == APP else f"app.kubernetes.io/name={name}"
        pods = [p for p in self.api.pods(self.namespace, selector) if not p.deleting]
        waiting = [p.name for p in pods if not (p.phase == "Running" and p.ready)]
        if len(pods) != d.replicas or waiting:
            return f"deployment {name}: {len(pods)} pods for {d.replicas} replicas, not ready: {waiting or 'none'}"
        return None

    def wait_rollout(self, timeout: float, name: str = APP, on_poll: Callable[[], None] | None = None) -> float:
        """``on_poll``: called at every poll (the cluster lists the pods then, to see each one the rollout
        deletes close to when it is asked)."""

        def problem() -> str | None:
            if on_poll is not None:
                on_poll()
            return self.rollout_problem(name)

        return wait_until(f"rollout of {name}", problem, timeout, self.on_progress)

    def scale(self, replicas: int) -> None:
        if replicas < 1:
            raise InputError(f"cannot scale to {replicas} replicas: at least 1 is needed")
        self.api.scale(self.namespace, APP, replicas)

    def rolling_restart(self) -> None:
        """What ``kubectl rollout restart`` does: a new pod-template annotation, so every pod is replaced."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.api.patch_template_annotations(self.namespace, APP, {RESTARTED_AT: f"{stamp}-{time.time_ns()}"})

    def delete_pod(self, name: str, forced: bool) -> None:
        """Delete one app pod: gracefully (its grace period: SIGTERM, then SIGKILL) or ``forced``
        (``grace_period_seconds=0``: SIGKILL at once)."""
        self.api.delete_pod(self.namespace, name, 0 if forced else None)

    def wait_pod_gone(self, name: str, timeout: float) -> float:
        return wait_until(
            f"pod {name} gone",
            lambda: "still listed" if any(p.name == name for p in self.app_pods()) else None,
            timeout,
            self.on_progress,
        )

    # --- Dapr's scheduler (opt-in) -----------------------------------------------------------------------------

    def scheduler_pods(self) -> list[PodView]:
        """Dapr's scheduler members in its namespace, by index (the StatefulSet's ordinal)."""
        pods = self.api.pods(self.dapr_namespace, SCHEDULER_SELECTOR)
        return sorted(pods, key=lambda p: scheduler_ordinal(p.name))

    def delete_scheduler_pod(self, index: int, forced: bool) -> None:
        name = f"{SCHEDULER}-{index}"
        if not any(p.name == name for p in self.scheduler_pods()):
            have = [p.name for p in self.scheduler_pods()]
            raise InputError(f"no scheduler pod {name} in namespace {self.dapr_namespace} (it has: {have})")
        self.api.delete_pod(self.dapr_namespace, name, 0 if forced else None)

    def scheduler_problem(self, index: int) -> str | None:
        name = f"{SCHEDULER}-{index}"
        pod = next((p for p in self.scheduler_pods() if p.name == name), None)
        if pod is None:
            return f"{name} not listed"
        if pod.deleting or not pod.ready:
            return f"{name} {'deleting' if pod.deleting else 'not ready'} ({pod.phase})"
        return None


def scheduler_ordinal(name: str) -> int:
    tail = name.rpartition("-")[2]
    return int(tail) if tail.isdigit() else 1 << 30
