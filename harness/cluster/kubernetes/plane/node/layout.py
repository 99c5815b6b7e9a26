"""Where a real node keeps its files, its names on the host and the loopback ports it listens on.

Everything lives under ``<plane dir>/node/``::

    containerd/config.toml   containerd's configuration (configs.py); root/, state/, opt/
    cni/net.d/               the one CNI conflist (the bridge); cni/ipam/ host-local's leases
    kubelet/                 kubelet's --root-dir (pods' volumes are mounted here), config.yaml, its serving pair
    kube-proxy.yaml          kube-proxy's configuration
    images/                  the OCI archives built here (pause, busybox) and the pause binary

containerd's socket is not there but in ``/run/onceonly/<12 hex of the node dir>/``: a unix socket's path may have
at most 104 bytes (containerd's own check, for its ``.ttrpc`` twin too), and a plane dir can be long (a pytest tmp
dir is). On the host: the bridge ``BRIDGE`` with ``GATEWAY`` on ``POD_CIDR``, the network namespaces containerd makes in
/run/netns (``cni-<uuid>``), the cgroups under ``cgroup_root()``. One node per machine: the bridge and the pod
network are fixed names, so a second node is refused by the bridge already being there (cleanup.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from harness.cluster.local.ports import PortAllocator

BRIDGE = "onceonly-cni0"
POD_CIDR = "10.88.0.0/16"
GATEWAY = "10.88.0.1"
NETNS_DIR = Path("/run/netns")
CGROUP_LEAF = "onceonly-node"
SOCKET_ROOT = Path("/run/onceonly")


@dataclass(frozen=True, slots=True)
class NodePorts:
    kubelet: int
    kubelet_healthz: int
    proxy_healthz: int
    proxy_metrics: int
    api_relay: int

    @classmethod
    def take(cls, ports: PortAllocator) -> NodePorts:
        return cls(**{name: ports.take() for name in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class NodeLayout:
    dir: Path  # <plane dir>/node

    @property
    def containerd(self) -> Path:
        return self.dir / "containerd"

    @property
    def containerd_config(self) -> Path:
        return self.containerd / "config.toml"

    @property
    def containerd_root(self) -> Path:
        return self.containerd / "root"

    @property
    def containerd_state(self) -> Path:
        return self.containerd / "state"

    @property
    def sockets(self) -> Path:
        """containerd's socket directory: short whatever the node dir is, and one per node dir."""
        return SOCKET_ROOT / hashlib.sha256(str(self.dir.absolute()).encode()).hexdigest()[:12]

    @property
    def socket(self) -> Path:
        return self.sockets / "containerd.sock"

    @property
    def cni_conf_dir(self) -> Path:
        return self.dir / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.dir / "cni" / "ipam"

    @property
    def kubelet(self) -> Path:
        return self.dir / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.kubelet / "config.yaml"

    @property
    def kubelet_cert(self) -> Path:
        return self.kubelet / "serving.crt"

    @property
    def kubelet_key(self) -> Path:
        return self.kubelet / "serving.key"

    @property
    def proxy_config(self) -> Path:
        return self.dir / "kube-proxy.yaml"

    @property
    def images(self) -> Path:
        return self.dir / "images"

    def mount_roots(self) -> tuple[Path, ...]:
        """Where containerd and kubelet mount (rootfs overlays, shm, volumes): unmounted at teardown."""
        return (self.containerd, self.kubelet)


def cgroup_root(proc_cgroup: str) -> str:
    """kubelet's ``cgroupRoot``: a leaf under the deepest cgroup this process runs in (``/proc/self/cgroup``, v1),
    so pods stay inside whatever limits the machine put around the harness and nothing is moved out of it."""
    paths = [line.split(":", 2)[2] for line in proc_cgroup.splitlines() if line.split(":", 2)[1]]
    deepest = max(paths, key=lambda path: len(path.strip("/").split("/")) if path.strip("/") else 0, default="/")
    return f"{deepest.rstrip('/')}/{CGROUP_LEAF}"
