"""The node's processes, their command lines and environment: containerd (Debian's, with our config), kubelet and
kube-proxy (built with the plane). kubelet takes as flags only what its configuration file cannot say: the
kubeconfig, the node's name and address (127.0.0.1: the API server dials it there for logs and exec), its root dir.
"""

from __future__ import annotations

from pathlib import Path

from harness.cluster.kubernetes.plane.commands import Command, base_env
from harness.cluster.kubernetes.plane.node.layout import NodeLayout

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # runc, the shim, iptables, mount


def env() -> dict[str, str]:
    inherited = base_env()
    return {**inherited, "PATH": f"{inherited.get('PATH', '')}:{SYSTEM_PATH}".lstrip(":")}


def containerd(layout: NodeLayout) -> Command:
    return Command("containerd", ["containerd", "--config", str(layout.containerd_config)], env())


def kubelet(kube_bin: Path, layout: NodeLayout, kubeconfig: Path, node_name: str, node_ip: str) -> Command:
    argv = [
        str(kube_bin / "kubelet"),
        f"--config={layout.kubelet_config}",
        f"--kubeconfig={kubeconfig}",
        f"--hostname-override={node_name}",
        f"--node-ip={node_ip}",
        f"--root-dir={layout.kubelet}",
        f"--cert-dir={layout.kubelet / 'pki'}",
        "--v=1",
    ]
    return Command("kubelet", argv, env())


def kube_proxy(kube_bin: Path, layout: NodeLayout) -> Command:
    return Command("kube-proxy", [str(kube_bin / "kube-proxy"), f"--config={layout.proxy_config}", "--v=1"], env())
