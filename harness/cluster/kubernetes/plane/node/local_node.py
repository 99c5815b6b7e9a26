"""``LocalNode``: one real Kubernetes node beside a ``LocalControlPlane``, as a context manager. Started in order,
each step waited for: leftovers of an earlier node cleaned (cleanup.py) → files (configs, kubelet's serving pair,
the pause and busybox images built) → the bridge → cluster DNS (CoreDNS on the bridge's gateway, port 53, when
built; kubelet's ``clusterDNS``) → containerd (its socket answers; the images imported) → kubelet (/healthz,
then the Node ``Ready``) → kube-proxy (/healthz) → the plane's kwok nodes tainted, so real pods land here.
Stopped in reverse, then everything the node left on the host removed.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType

from harness.cluster.kubernetes.plane import checks, dns, pki
from harness.cluster.kubernetes.plane.commands import Command
from harness.cluster.kubernetes.plane.control_plane import LocalControlPlane
from harness.cluster.kubernetes.plane.node import (
    api_relay,
    cgroups,
    cleanup,
    commands,
    configs,
    images,
    network,
    sysctls,
)
from harness.cluster.kubernetes.plane.node.layout import BRIDGE, GATEWAY, NodeLayout, NodePorts, cgroup_root
from harness.cluster.kubernetes.plane.waits import http_ok, listening, wait_until
from harness.cluster.local.ports import PortAllocator
from harness.cluster.local.processes import Supervisor
from harness.errors import EnvironmentProblem

STOP_ORDER = (("apiserver-relay", "kube-proxy"), ("kubelet",), ("containerd",), (dns.PROCESS,))
KWOK_TAINT = {"key": "onceonly.dev/kwok", "value": "fake", "effect": "NoSchedule"}


@dataclass(frozen=True, slots=True)
class NodeBinaries:
    kube_bin: Path  # kubelet, kube-proxy
    pause_source: Path  # pause.c of the release's k8s.io/kubernetes module
    kube_version: str
    coredns: Path | None = None  # the cluster DNS; None: pods get no resolver
    archives: tuple[images.Image, ...] = ()  # imported into containerd before kubelet starts (`k8s up --images`)


class LocalNode:
    def __init__(
        self,
        plane: LocalControlPlane,
        binaries: NodeBinaries,
        *,
        proxy: bool = True,
        on_progress: Callable[[str], None] | None = None,
    ) -> None:
        self.plane = plane
        self.binaries = binaries
        self.proxy = proxy
        self.name = pki.NODE_NAME
        self.layout = NodeLayout(plane.layout.dir / "node")
        self.ports = NodePorts.take(PortAllocator())
        self.leftovers = cleanup.Leftovers(self.layout, cgroup_root(Path("/proc/self/cgroup").read_text()))
        self.supervisor = Supervisor(plane.layout.logs)
        self.ready_seconds: float | None = None
        self.cleaned: list[str] = []
        self.owns_host = False
        self.on_progress = on_progress or (lambda _message: None)

    def __enter__(self) -> LocalNode:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        """kube-proxy, kubelet and containerd stopped, then every leftover removed; idempotent."""
        self.supervisor.stop_all(STOP_ORDER, grace=10.0)
        if self.owns_host:  # never another node's leftovers (a start refused because one runs)
            self.cleaned = cleanup.clean(self.leftovers)
            self.owns_host = False

    def start(self) -> None:
        started = time.monotonic()
        self._earlier_node()
        self._files()
        self._host()
        self._cluster_dns()
        self._containerd()
        self._kubelet()
        if self.proxy:
            self._kube_proxy()
            self._api_relay()
        self._taint_kwok_nodes()
        self.ready_seconds = time.monotonic() - started
        self._record()

    # --- steps -------------------------------------------------------------------------------------------------

    def _earlier_node(self) -> None:
        earlier = cleanup.marked()
        if earlier is not None:
            self.on_progress(f"cleaning up after an earlier node in {earlier.layout.dir}")
            cleanup.clean(earlier)
        if network.bridge_exists():
            raise EnvironmentProblem(
                f"the bridge {BRIDGE} exists: another node runs on this machine (one at a time); stop it, or "
                "remove its leftovers with `onceonly k8s down --dir DIR` (DIR: that plane's directory)"
            )

    def _files(self) -> None:
        self.on_progress("building the pause and busybox images; writing containerd's, CNI's and kubelet's files")
        layout, keys = self.layout, self.plane.layout.pki
        for directory in (layout.containerd, layout.sockets, layout.cni_conf_dir, layout.cni_ipam_dir, layout.kubelet):
            directory.mkdir(parents=True, exist_ok=True)
        self.pause = images.build_pause(self.binaries.pause_source, self.binaries.kube_version, layout.images)
        self.busybox = images.build_busybox(layout.images)
        layout.containerd_config.write_text(configs.containerd_toml(layout, self.pause.reference))
        (layout.cni_conf_dir / "10-onceonly.conflist").write_text(configs.cni_conflist(layout))
        pki.serving_pair(keys, layout.kubelet_cert, layout.kubelet_key, self.name, (GATEWAY,))
        layout.kubelet_config.write_text(
            configs.kubelet_yaml(
                layout, self.ports, keys.ca_cert, self.leftovers.cgroup_root, GATEWAY if self.binaries.coredns else None
            )
        )
        proxy_kubeconfig = self.plane.layout.component_kubeconfig(pki.KUBE_PROXY)
        layout.proxy_config.write_text(configs.kube_proxy_yaml(proxy_kubeconfig, self.ports, self.name))

    def _host(self) -> None:
        """The marker first (a SIGKILL from here on is cleaned at the next start), then the cgroups, the bridge and
        the rule keeping pod traffic on this machine. The kernel settings are read after ``_earlier_node``."""
        self.leftovers = dataclasses.replace(self.leftovers, sysctls=sysctls.snapshot())
        cleanup.mark(self.leftovers)
        self.owns_host = True
        made = cgroups.make_root(self.leftovers.cgroup_root)
        self.leftovers = dataclasses.replace(self.leftovers, cgroups_made=tuple(made))
        cleanup.mark(self.leftovers)
        network.make_bridge()
        network.keep_pods_inside()

    def _cluster_dns(self) -> None:
        """CoreDNS on the bridge's gateway (it must exist to be bound), before kubelet starts any pod."""
        if self.binaries.coredns is None:
            return
        self.on_progress(f"starting the cluster DNS on {GATEWAY}:53")
        ports = PortAllocator()
        config = dns.DnsConfig(GATEWAY, 53, ports.take(), ports.take(), self.plane.kubeconfig)
        dns.ClusterDns(self.layout.dir / "dns", self.binaries.coredns, config).start(self.supervisor)

    def _containerd(self) -> None:
        self.on_progress("starting containerd; importing the images into its k8s.io namespace")
        self._start(commands.containerd(self.layout))
        answers = partial(lambda: images.ctr(self.layout.socket, "version", timeout=5).returncode == 0)
        wait_until(self.supervisor, "containerd", "its socket answered", answers, 30)
        for image in (self.pause, self.busybox, *self.binaries.archives):
            images.import_image(self.layout.socket, image)

    def _kubelet(self) -> None:
        self.on_progress(f"starting kubelet; waiting for the Node {self.name} to be Ready")
        kubeconfig = self.plane.layout.component_kubeconfig(pki.NODE)
        self._start(commands.kubelet(self.binaries.kube_bin, self.layout, kubeconfig, self.name, GATEWAY))
        healthz = http_ok(f"http://127.0.0.1:{self.ports.kubelet_healthz}/healthz")
        wait_until(self.supervisor, "kubelet", "/healthz answered 200", healthz, 60)
        ready = partial(checks.nodes_ready, self.plane.api, [self.name])
        wait_until(self.supervisor, "kubelet", f"the Node {self.name} Ready", ready, 90)

    def _kube_proxy(self) -> None:
        self.on_progress("starting kube-proxy (iptables mode)")
        self._start(commands.kube_proxy(self.binaries.kube_bin, self.layout))
        healthz = http_ok(f"http://127.0.0.1:{self.ports.proxy_healthz}/healthz")
        wait_until(self.supervisor, "kube-proxy", "/healthz answered 200", healthz, 60)

    def _api_relay(self) -> None:
        self.on_progress("relaying the kubernetes Service (10.96.0.1:443) to the API server")
        port = self.ports.api_relay
        self._start(api_relay.socat(GATEWAY, port, self.plane.ports.apiserver))
        wait_until(self.supervisor, "apiserver-relay", f"{GATEWAY}:{port} accepts", listening(GATEWAY, port), 10)
        self.plane.api.apply(api_relay.endpoint_slice(GATEWAY, port))

    def _taint_kwok_nodes(self) -> None:
        for name in self.plane.node_names:
            self.plane.api.apply(
                {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {"taints": [KWOK_TAINT]}}
            )

    def _start(self, command: Command) -> None:
        self.supervisor.start(command.name, command.argv, command.env, cwd=self.layout.dir)

    def _record(self) -> None:
        record = {
            "node": self.name,
            "cgroup_root": self.leftovers.cgroup_root,
            "containerd_socket": str(self.layout.socket),
            "images": [self.pause.reference, self.busybox.reference, *(i.reference for i in self.binaries.archives)],
            "ports": {name: getattr(self.ports, name) for name in self.ports.__dataclass_fields__},
            "processes": {c.name: c.pid for c in self.supervisor.children.values()},
            "ready_seconds": round(self.ready_seconds or 0.0, 2),
        }
        (self.plane.layout.dir / "node.json").write_text(json.dumps(record, indent=1) + "\n")

    def pids(self) -> list[int]:
        return [c.pid for c in self.supervisor.history]
