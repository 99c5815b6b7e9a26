"""``KubeCluster``: a run's cluster on Kubernetes, as the ``Cluster`` protocol (``harness.cluster.base``) sees it.

Start: the run's namespace is created (labelled with the run id; ``Workload.create_namespace``), the scenario's
manifests (``harness.cluster.kubernetes.render``) are server-side applied, Redis and the app are rolled out, and
every pod's daprd is awaited ready and connected to the scheduler over a port-forward
(``harness.cluster.kubernetes.readiness``). Stop (from ``__exit__`` whatever happened, Ctrl-C included, with
SIGINT and SIGTERM ignored meanwhile): helpers and port-forwards closed, ``pods.json`` written, the namespace
deleted and awaited gone. A namespace the run did not create is never deleted.

Replica indices are pods' (``harness.cluster.kubernetes.replicas``). What each fault operation does on
Kubernetes (ARCHITECTURE.md has the table): ``kill`` part both deletes the pod (SIGKILL: ``grace_period_seconds=0``;
TERM: its grace period) and the Deployment replaces it with a new index; part app or daprd signals that process in
the pod (``harness.cluster.kubernetes.signals``) and the kubelet restarts the container (same pod, same index);
``restart_replica`` is the same with TERM, then waits ready (one pod, not a rollout); ``scale`` scales the Deployment
(the ReplicaSet picks which pods go); scheduler operations delete a pod of Dapr's scheduler StatefulSet, which
recreates it; ``upgrade_chart`` and ``roll_sidecars`` are a rolling upgrade (``chart_upgrade``).
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx
import redis

from harness.cluster.base import ClusterSpec, Direction, MetricsTarget, NetworkKind, Part, Tokens
from harness.cluster.kubernetes import chart_upgrade, inventory, journals, operations, signals
from harness.cluster.kubernetes.api import KubeApi, PodView
from harness.cluster.kubernetes.manifests import APP, Overlay
from harness.cluster.kubernetes.portforward import Forwards
from harness.cluster.kubernetes.readiness import DAPR_HTTP, wait_daprds_ready
from harness.cluster.kubernetes.render import CAPABILITIES, render
from harness.cluster.kubernetes.replicas import ReplicaMap
from harness.cluster.kubernetes.workload import REDIS, Workload
from harness.cluster.local.processes import Supervisor
from harness.errors import ClusterError, InputError
from harness.io.pods import write_pods
from harness.io.store import EventLog
from harness.model import Capability
from harness.scenario.schema import Scenario
from toolchain.binaries import Binaries

REDIS_PORT = 6379
APP_PORT = 8000


@dataclass(frozen=True, slots=True)
class KubeReplica:
    index: int
    pod: str
    dapr_http: str
    app_url: str


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a run goes: its namespace, the app's image, Dapr's namespace, whether its scheduler may be hit, the
    node directory for the apps' journals (None: each pod's ``emptyDir``) and ``chart``: the Helm upgrade a
    ``chart-upgrade`` step runs (prepared before the run)."""

    namespace: str
    image: str
    dapr_namespace: str = "dapr-system"
    allow_scheduler_faults: bool = False
    journal_host_dir: str | None = None
    chart: chart_upgrade.ChartStep | None = None


class KubeCluster:
    """A run's cluster on Kubernetes. Use as a context manager."""

    capabilities = CAPABILITIES

    def __init__(
        self,
        api: KubeApi,
        scenario: Scenario,
        spec: ClusterSpec,
        run_dir: Path,
        placement: Placement,
        *,
        run_id: str,
        tokens: Tokens | None = None,
        on_progress: Callable[[str], None] | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        spec.validate()
        self.api, self.scenario, self.spec, self.run_dir, self.placement = api, scenario, spec, run_dir, placement
        self.run_id = run_id
        self.tokens = tokens or Tokens()
        self.progress = on_progress or (lambda _m: None)
        self._owns_http = http is None
        self._http = http or httpx.Client()
        self.workload = Workload(api, placement.namespace, placement.dapr_namespace, self.progress)
        self.forwards = Forwards(lambda pod, port: api.open_port(placement.namespace, pod, port))
        self.pods = ReplicaMap()
        self.supervisor = Supervisor(run_dir / "logs")
        self.ready_seconds: float | None = None
        self.created = False  # the namespace is the run's (only then is it deleted)

    # --- lifecycle -----------------------------------------------------------------------------------------

    def __enter__(self) -> KubeCluster:
        try:
            self.start()
        except BaseException:
            self.stop(failed=True)
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop(failed=exc is not None)

    def start(self) -> None:
        started = time.monotonic()
        ns = self.placement.namespace
        overlay = Overlay(ns, self.placement.image, self.run_id, self.tokens, self.placement.journal_host_dir)
        resources = render(self.scenario, overlay)  # first: a name Kubernetes would refuse creates nothing
        for res in resources:
            if res["kind"] == "Deployment" and res["metadata"]["name"] == APP:
                res["spec"]["replicas"] = self.spec.replicas
        self.progress(f"creating namespace {ns} in context {self.api.context}")
        self.workload.create_namespace(self.run_id)
        self.created = True
        self.progress(f"applying {len(resources)} objects (server-side, field manager onceonly)")
        for res in resources:
            self.api.apply(res)
        left = self.spec.ready_timeout
        left -= self.workload.wait_rollout(left, REDIS)
        self.wait_ready(timeout=max(left, 1.0))
        self.pods.started()
        self.ready_seconds = time.monotonic() - started

    def stop(self, failed: bool = False) -> None:
        """Close helpers and forwards, write pods.json, remove the journals from the nodes (with
        ``--journal-host-dir``; a failure is a warning in events.jsonl), delete the run's namespace; safe to call
        more than once."""
        with _signals_ignored():
            self.supervisor.stop_all()
            self.forwards.close()
            if self._owns_http:
                self._http.close()
            self.write_pods()
            if not self.created:
                return
            self.remove_journals()
            gone = self.workload.delete_namespace()
            self.created = not gone
            if not gone:
                message = f"namespace {self.placement.namespace} was not gone 120 s after its deletion: delete it"
                if not failed:
                    raise ClusterError(message)
                self.progress(message)

    def remove_journals(self) -> None:
        """The run's journals removed from the nodes' directory (nothing to do without one): a
        ``journals_removed`` event naming the nodes done and, as warnings, what was not (also said through
        progress), never raised."""
        if self.placement.journal_host_dir is None:
            return
        done, warnings = journals.remove(self)
        EventLog(self.run_dir / "events.jsonl").emit("journals_removed", nodes=done, warnings=warnings)
        for warning in warnings:
            self.progress(f"warning: {warning}")

    def write_pods(self) -> None:
        write_pods(self.run_dir, self.placement.namespace, self.api.context, self.pods.rows())

    # --- what is running -----------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.pods.observe(self.workload.app_pods(), time.time_ns())

    @property
    def replicas(self) -> Mapping[int, KubeReplica]:
        self.refresh()
        return {
            i: KubeReplica(i, pod.name, self.forwards.url(pod.name, DAPR_HTTP), self.forwards.url(pod.name, APP_PORT))
            for i, pod in self.pods.live().items()
        }

    @property
    def lifetimes(self) -> Mapping[int, tuple[int, int | None]]:
        return self.pods.lifetimes

    @property
    def removed(self) -> Mapping[int, int]:
        return self.pods.removed

    def replica_of_pod(self, pod: str) -> int:
        return self.pods.index_of(pod)

    @property
    def scheduler_count(self) -> int:
        return inventory.scheduler_count(self)

    @property
    def redis_port(self) -> int:
        return self.forwards.local_port(self.workload.redis_pod().name, REDIS_PORT)

    def redis_client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.redis_port, password=self.tokens.redis)

    def live_replica(self) -> KubeReplica | None:
        live = self.replicas
        return live[min(live)] if live else None

    def endpoints(self) -> dict[str, object]:
        return inventory.endpoints(self)

    def versions(self) -> dict[str, str]:
        return inventory.versions(self)

    def journal_texts(self) -> list[str | None]:
        return journals.texts(self)

    def metrics_targets(self) -> list[MetricsTarget]:
        return inventory.metrics_targets(self)

    def start_helper(self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        self.supervisor.start(name, list(argv), dict(env), cwd=cwd)

    def stop_helper(self, name: str) -> int | None:
        return self.supervisor.stop(name)

    def wait_ready(self, timeout: float | None = None) -> float:
        """The app rolled out, then every live pod's daprd ready and connected; the seconds it took."""
        limit = timeout or self.spec.ready_timeout
        took = self.workload.wait_rollout(limit, on_poll=self.refresh)
        self.refresh()
        took += wait_daprds_ready(
            self._http,
            self.forwards,
            self._live_pods,
            self.tokens.dapr_api,
            inventory.scheduler_count(self, default=None),
            max(limit - took, 1.0),
            self.progress,
        )
        return took

    def _live_pods(self) -> Mapping[int, PodView]:
        self.refresh()
        return self.pods.live()

    # --- operations for faults (harness.cluster.kubernetes.operations) --------------------------------------

    def kill(self, index: int, part: Part = "both", sig: signal.Signals = signal.SIGKILL) -> bool:
        return operations.kill(self, index, part, sig)

    def restart_replica(self, index: int, part: Part = "both", wait: bool = True) -> None:
        operations.restart_replica(self, index, part, wait)

    def scale(self, replicas: int) -> None:
        operations.scale(self, replicas)

    def rolling_restart(self, wait: bool = True) -> None:
        operations.rolling_restart(self, wait)

    def stop_scheduler(self, index: int, sig: signal.Signals = signal.SIGTERM) -> None:
        operations.delete_scheduler(self, index, forced=sig == signal.SIGKILL)

    def start_scheduler(self, index: int, wait: bool = True) -> None:
        operations.scheduler_back(self, index, wait)

    def restart_scheduler(self, index: int = 0, sig: signal.Signals = signal.SIGTERM, wait: bool = True) -> None:
        self.stop_scheduler(index, sig)
        self.start_scheduler(index, wait=wait)

    def pause(self, index: int, part: Part = "both") -> None:
        raise _not_here(Capability.PAUSE)

    def resume(self, index: int, part: Part = "both") -> None:
        raise _not_here(Capability.PAUSE)

    def upgrade_chart(self, to: Binaries, wait: bool = True) -> str:
        return chart_upgrade.upgrade_chart(self, to)

    def roll_sidecars(self, to: Binaries, wait: bool = True) -> str:
        return chart_upgrade.roll_sidecars(self, to)

    def upgrade_scheduler(self, index: int, to: Binaries, wait: bool = True) -> str:
        raise _not_here(Capability.UPGRADE)

    def upgrade_replica(self, index: int, to: Binaries, part: Part = "both", wait: bool = True) -> str:
        raise _not_here(Capability.UPGRADE)

    def cut_network(
        self, members: Sequence[int], kind: NetworkKind, direction: Direction, delay_ms: int, tag: str
    ) -> object:
        raise _not_here(Capability.NETWORK)

    def mend_network(self, cut: object) -> None:
        raise _not_here(Capability.NETWORK)

    def signal_part(self, index: int, part: Part, sig: signal.Signals) -> list[int]:
        """Send ``sig`` to ``part``'s process(es) in replica ``index``'s pod; the pids signalled."""
        pod = operations.pod_of(self, index)
        output = self.api.exec(
            self.placement.namespace, pod.name, signals.CONTAINERS["app"], signals.kill_argv(part, sig)
        )
        return signals.signalled(output, pod.name, part)


def _not_here(capability: Capability) -> InputError:
    return InputError(
        f"the kubernetes backend does not have the {capability.value!r} capability (a run needing it is refused)"
    )


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """SIGINT/SIGTERM ignored while the namespace is deleted, so a second Ctrl-C cannot leave it behind."""
    saved = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread: handlers stay
            saved[sig] = signal.signal(sig, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
