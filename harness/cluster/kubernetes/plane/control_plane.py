"""``LocalControlPlane``: a real Kubernetes control plane on 127.0.0.1 with Dapr's sidecar injector, as a context
manager. Started in order, each step waited for: etcd → kube-apiserver (/readyz) → Dapr's CRDs and the Dapr
namespace → kube-controller-manager and kube-scheduler (/healthz) → kwok and N fake nodes (Ready) → sentry
(/healthz, its trust anchors stored) → the injector (/healthz, the webhook's caBundle patched, and a dry-run pod
mutated with a daprd container: the webhook answers). With ``host_dapr=False`` (a plane for Dapr's chart on a real
node) only the CRDs: no sentry, injector, webhook or ``dapr-system`` objects, which helm would refuse to adopt.
Stopped in reverse order through the ``Supervisor``, whose children die with the harness even when it is SIGKILLed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType

from harness.cluster.kubernetes.plane import checks, commands, objects, pki
from harness.cluster.kubernetes.plane.api import Api, read_yaml_documents
from harness.cluster.kubernetes.plane.layout import Layout, Ports, write_kubeconfig, write_private
from harness.cluster.kubernetes.plane.waits import http_ok, wait_until
from harness.cluster.local.ports import PortAllocator
from harness.cluster.local.processes import Supervisor

DAPR_NAMESPACE = "dapr-system"
COMPONENT_USERS = (
    pki.ADMIN,
    pki.CONTROLLER_MANAGER,
    pki.SCHEDULER,
    pki.KWOK,
    pki.NODE,
    pki.KUBE_PROXY,
    pki.KUBELET_CLIENT,
)
STOP_ORDER = (
    ("injector",),
    ("sentry",),
    ("kwok",),
    ("kube-scheduler", "kube-controller-manager"),
    ("kube-apiserver",),
    ("etcd",),
)


@dataclass(frozen=True, slots=True)
class PlaneBinaries:
    """What a plane runs: the control plane's bin dir, sentry and injector's, Dapr's CRDs, kwok's stage files, and
    the versions."""

    kube_bin: Path
    dapr_bin: Path
    dapr_crds: Path
    kwok_stages: tuple[Path, ...]
    kube_version: str
    dapr_version: str


class LocalControlPlane:
    def __init__(
        self,
        directory: Path,
        binaries: PlaneBinaries,
        *,
        nodes: int = 3,
        host_dapr: bool = True,
        on_progress: Callable[[str], None] | None = None,
    ) -> None:
        if nodes < 1:
            raise ValueError("a plane needs at least one node")
        self.layout = Layout(directory.resolve())
        self.binaries = binaries
        self.nodes = nodes
        self.host_dapr = host_dapr
        self.ports = Ports.take(PortAllocator())
        self.supervisor = Supervisor(self.layout.logs)
        self.api = Api(self.api_server, self.layout.pki, pki.ADMIN)
        self.ready_seconds: float | None = None
        self.on_progress = on_progress or (lambda _message: None)

    # --- what a user of the plane needs -------------------------------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        return self.layout.kubeconfig

    @property
    def api_server(self) -> str:
        return f"https://127.0.0.1:{self.ports.apiserver}"

    @property
    def dapr_namespace(self) -> str:
        return DAPR_NAMESPACE

    @property
    def dapr_version(self) -> str:
        return self.binaries.dapr_version

    @property
    def node_names(self) -> list[str]:
        return [objects.node_name(i) for i in range(self.nodes)]

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def __enter__(self) -> LocalControlPlane:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop every process, the injector first and etcd last; idempotent."""
        self.api.close()
        self.supervisor.stop_all(STOP_ORDER, grace=10.0)

    def start(self) -> None:
        started = time.monotonic()
        self._files()
        self._etcd_and_apiserver()
        self._cluster_objects()
        self._controllers_and_nodes()
        if self.host_dapr:
            self._sentry()
            self._injector()
        self.ready_seconds = time.monotonic() - started
        self._record()

    # --- steps -------------------------------------------------------------------------------------------------

    def _files(self) -> None:
        self.on_progress("generating the CA, certificates and service-account keys")
        layout = self.layout
        pki.generate(layout.pki, COMPONENT_USERS)
        write_kubeconfig(layout.kubeconfig, self.api_server, layout.pki, pki.ADMIN)
        for user in COMPONENT_USERS[1:]:
            write_kubeconfig(layout.component_kubeconfig(user), self.api_server, layout.pki, user)
        layout.kwok_config.write_text(commands.kwok_config(self.binaries.kwok_stages))
        (layout.dapr / "issuer").mkdir(parents=True, exist_ok=True)  # sentry watches it even in Kubernetes mode

    def _wait(self, process: str, what: str, check: Callable[[], bool], timeout: float) -> None:
        wait_until(self.supervisor, process, what, check, timeout)

    def _start(self, command: commands.Command) -> None:
        self.supervisor.start(command.name, command.argv, command.env, cwd=self.layout.dir)

    def _etcd_and_apiserver(self) -> None:
        kube, layout, ports = self.binaries.kube_bin, self.layout, self.ports
        self.on_progress("starting etcd")
        self._start(commands.etcd(kube, layout, ports))
        self._wait("etcd", "/health answered", http_ok(f"http://127.0.0.1:{ports.etcd_client}/health"), 30)
        self.on_progress("starting kube-apiserver")
        self._start(commands.apiserver(kube, layout, ports))
        self._wait("kube-apiserver", "/readyz answered 200", lambda: self.api.exists("/readyz"), 90)

    def _cluster_objects(self) -> None:
        self.on_progress("applying Dapr's CRDs and the Dapr namespace")
        crds = [d for f in sorted(self.binaries.dapr_crds.glob("*.yaml")) for d in read_yaml_documents(f)]
        for crd in crds:
            self.api.apply(crd)
        for crd in crds:
            name = crd["metadata"]["name"]
            self._wait(
                "kube-apiserver",
                f"CRD {name} established",
                partial(checks.crd_established, self.api, name),
                30,
            )
        self.api.kind("dapr.io/v1alpha1", "Configuration", refresh=True)
        if not self.host_dapr:
            return  # the chart makes its namespace and what sentry needs
        for doc in [objects.namespace(DAPR_NAMESPACE), *self._sentry_objects()]:
            self.api.apply(doc)

    def _sentry_objects(self) -> list[objects.Resource]:
        return objects.sentry_objects(DAPR_NAMESPACE, commands.TRUST_DOMAIN, f"127.0.0.1:{self.ports.sentry}")

    def _controllers_and_nodes(self) -> None:
        kube, layout, ports = self.binaries.kube_bin, self.layout, self.ports
        self.on_progress("starting kube-controller-manager, kube-scheduler and kwok")
        self._start(commands.controller_manager(kube, layout, ports))
        self._start(commands.scheduler(kube, layout, ports))
        self._start(commands.kwok(kube, layout))
        for name, port in (("kube-controller-manager", ports.controller_manager), ("kube-scheduler", ports.scheduler)):
            self._wait(name, "/healthz answered 200", http_ok(f"https://127.0.0.1:{port}/healthz"), 60)
        for index in range(self.nodes):
            self.api.apply(objects.fake_node(index))
        self.on_progress(f"waiting for kwok to make {self.nodes} fake nodes Ready")
        self._wait(
            "kwok",
            f"{self.nodes} nodes Ready",
            partial(checks.nodes_ready, self.api, self.node_names),
            60,
        )
        for account in ("default/serviceaccounts/default", "kube-system/serviceaccounts/replicaset-controller"):
            created = partial(self.api.exists, f"/api/v1/namespaces/{account}")
            self._wait("kube-controller-manager", f"{account} created", created, 60)

    def _sentry(self) -> None:
        ns, layout = DAPR_NAMESPACE, self.layout
        self.on_progress("starting Dapr's sentry")
        self._start(commands.sentry(self.binaries.dapr_bin, layout, self.ports, ns))
        healthz = http_ok(f"http://127.0.0.1:{self.ports.sentry_healthz}/healthz")
        self._wait("sentry", "/healthz answered 200", healthz, 60)
        self._wait("sentry", "its trust anchors stored", lambda: bool(checks.trust_anchors(self.api, ns)), 30)
        layout.trust_anchors.write_text(checks.trust_anchors(self.api, ns))

    def _injector(self) -> None:
        ns, layout, port = DAPR_NAMESPACE, self.layout, self.ports.injector
        self.on_progress("starting Dapr's sidecar injector")
        for doc in objects.injector_identity(ns, self.node_names[0]):
            self.api.apply(doc)
        pod = self.api.get(f"/api/v1/namespaces/{ns}/pods/{objects.INJECTOR_POD}")
        audiences = ["dapr.io/sentry", f"spiffe://{commands.TRUST_DOMAIN}/ns/{ns}/dapr-sentry"]
        write_private(
            layout.injector_token, self.api.service_account_token(ns, objects.INJECTOR_SERVICE_ACCOUNT, pod, audiences)
        )
        self.api.apply(objects.webhook_service(ns, port))
        self.api.apply(objects.webhook_configuration(ns, port))
        self._start(commands.injector(self.binaries.dapr_bin, layout, self.ports, ns))
        healthz = http_ok(f"http://127.0.0.1:{self.ports.injector_healthz}/healthz")
        self._wait("injector", "/healthz answered 200", healthz, 60)
        self._wait("injector", "the webhook's caBundle patched", partial(checks.ca_bundle_set, self.api), 30)
        self._wait(
            "injector",
            "a dry-run pod mutated with daprd",
            partial(checks.webhook_answers, self.api),
            30,
        )

    def _record(self) -> None:
        record = {
            "api_server": self.api_server,
            "kubeconfig": str(self.kubeconfig),
            "kubernetes": self.binaries.kube_version,
            "dapr": self.dapr_version,
            "dapr_namespace": DAPR_NAMESPACE,
            "host_dapr": self.host_dapr,
            "nodes": self.node_names,
            "ports": self.ports.as_dict(),
            "processes": {c.name: c.pid for c in self.supervisor.children.values()},
            "ready_seconds": round(self.ready_seconds or 0.0, 2),
        }
        self.layout.record.write_text(json.dumps(record, indent=1) + "\n")

    def pids(self) -> list[int]:
        """Every process of the plane ever started (for teardown checks)."""
        return [c.pid for c in self.supervisor.history]
