"""What a real node needs from this machine before anything starts: root (it makes cgroups, a bridge, iptables
rules and mounts), and Debian's containerd, runc, CNI plugins, iptables, socat, gcc with glibc's static libraries
(the pause image) and busybox-static (the test image). Missing pieces are named with the command that installs
them (scripts/setup.sh need_node installs them all)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness.errors import EnvironmentProblem

PACKAGES = "containerd runc containernetworking-plugins iptables conntrack socat busybox-static gcc libc6-dev iproute2"
TOOLS = {
    "containerd": "containerd",
    "containerd-shim-runc-v2": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "iptables": "iptables",
    "iptables-save": "iptables",
    "socat": "socat",
    "gcc": "gcc",
    "ip": "iproute2",
}
FILES = {
    Path("/usr/lib/cni/bridge"): "containernetworking-plugins",
    Path("/usr/lib/cni/host-local"): "containernetworking-plugins",
    Path("/bin/busybox"): "busybox-static",
    Path("/usr/lib/x86_64-linux-gnu/libc.a"): "libc6-dev",
}
SEARCH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def missing(path: str | None = None) -> list[str]:
    """Each missing tool or file with its Debian package ("runc (runc)")."""
    search = f"{path or os.environ.get('PATH', '')}:{SEARCH}"
    gaps = [f"{tool} ({package})" for tool, package in TOOLS.items() if shutil.which(tool, path=search) is None]
    gaps += [f"{file} ({package})" for file, package in FILES.items() if not file.exists()]
    return gaps


def preflight() -> None:
    """Refuse (``EnvironmentProblem``, exit 4) before anything starts when a node cannot run here."""
    if os.geteuid() != 0:
        raise EnvironmentProblem("a real node needs root (cgroups, a bridge, iptables rules, mounts): run as root")
    gaps = missing()
    if gaps:
        raise EnvironmentProblem(
            f"a real node needs what is missing here: {', '.join(gaps)}. "
            f"Install: apt-get install -y {PACKAGES} (scripts/setup.sh: need_node)"
        )
