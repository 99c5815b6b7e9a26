"""Everything a node leaves on the host, removed: run when a node stops, at the next start after a node whose
harness was SIGKILLed (``MARKER`` names its directory), and by ``onceonly k8s down``.

What can outlive the processes (containerd and kubelet die with the harness, ``PR_SET_PDEATHSIG``): the runc
shims (containerd starts them in their own session, so nothing kills them), the containers under them (found by
cgroup: every pod process runs under kubelet's ``cgroupRoot``), the mounts under containerd's root and state and
kubelet's root dir (rootfs overlays, shm, volumes, the pods' network namespaces: containerd keeps them under its
state dir), the bridge, and the iptables chains kubelet and kube-proxy made (``KUBE-*``; on this machine only the
node makes them). Each step is idempotent and reports what it removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.cluster.kubernetes.plane.node import cgroups, network, sysctls
from harness.cluster.kubernetes.plane.node.layout import NodeLayout

MARKER = Path("/run/onceonly-node.json")  # the live node's directory and cgroup root, removed when it is clean
CHAIN_PREFIX = "KUBE-"


@dataclass(frozen=True, slots=True)
class Leftovers:
    """Where a node's leftovers are: its directory, its cgroup root and the cgroup directories made for it."""

    layout: NodeLayout
    cgroup_root: str
    cgroups_made: tuple[str, ...] = ()
    sysctls: tuple[tuple[str, str], ...] = ()  # kernel settings as they were before the node (sysctls.py)


def mark(leftovers: Leftovers) -> None:
    doc = {
        "dir": str(leftovers.layout.dir),
        "cgroup_root": leftovers.cgroup_root,
        "made": leftovers.cgroups_made,
        "sysctls": leftovers.sysctls,
    }
    MARKER.write_text(json.dumps(doc) + "\n")


def marked() -> Leftovers | None:
    """The node a marker names (one that was not cleaned up), or None."""
    try:
        doc = json.loads(MARKER.read_text())
        saved = tuple((str(name), str(value)) for name, value in doc["sysctls"])
        return Leftovers(NodeLayout(Path(doc["dir"])), str(doc["cgroup_root"]), tuple(doc["made"]), saved)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clean(leftovers: Leftovers, *, shared: bool = True) -> list[str]:
    """Every leftover of a node removed; what was found, in words (empty: it was clean). With ``shared`` false only
    what belongs to its directory (shims of its socket, mounts under it, its state): another node, named by the
    marker, may be running and own the cgroups, the bridge, the chains and the kernel settings."""
    layout = leftovers.layout
    found: list[str] = []
    found += _kill_shims(layout.socket)
    if shared:
        found += cgroups.remove(leftovers.cgroup_root, list(leftovers.cgroups_made))
    found += _unmount(layout.mount_roots())
    if shared:
        found += network.delete_bridge()
        found += _delete_chains()
        found += sysctls.restore(leftovers.sysctls)
        MARKER.unlink(missing_ok=True)
    for directory in (layout.containerd_root, layout.containerd_state, layout.sockets, layout.kubelet / "pods"):
        shutil.rmtree(directory, ignore_errors=True)
    return found


def _kill_shims(socket: Path) -> list[str]:
    """SIGKILL to every process whose command line names our containerd's socket (the shims)."""
    killed = []
    for pid, argv in _processes():
        if str(socket) in argv and pid != os.getpid():
            killed.append(f"shim {pid}")
            _signal(pid)
    return killed


def _processes() -> list[tuple[int, list[str]]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found.append((int(entry.name), (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")))
            except OSError:
                continue
    return found


def _signal(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _unmount(roots: tuple[Path, ...]) -> list[str]:
    """Every mount at or under ``roots`` detached, deepest first."""
    resolved = [str(r.resolve()) for r in roots]
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if any(point == r or point.startswith(r + "/") for r in resolved):
            points.append(point)
    for point in sorted(set(points), key=lambda p: -p.count("/")):
        subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)
    return [f"mount {p}" for p in sorted(set(points))]


def _ours(rule: str) -> bool:
    """A rule outside the ``KUBE-*`` chains that jumps to one, or carries the node's own comment (network.py)."""
    chain = rule.split()[1]
    return not chain.startswith(CHAIN_PREFIX) and (CHAIN_PREFIX in rule or network.COMMENT in rule)


def _delete_chains() -> list[str]:
    """Rules jumping to ``KUBE-*`` chains (and the node's own) deleted, then those chains flushed and deleted, in
    every table, v4 and v6."""
    found = []
    for tool in ("iptables", "ip6tables"):
        if shutil.which(f"{tool}-save") is None:
            continue
        saved = subprocess.run([f"{tool}-save"], capture_output=True, text=True, check=False).stdout
        table, chains = "", []
        for line in saved.splitlines():
            if line.startswith("*"):
                table = line[1:]
            elif line.startswith(":" + CHAIN_PREFIX):
                chains.append((table, line[1:].split()[0]))
            elif line.startswith("-A ") and _ours(line):
                rule = shlex.split(line)[1:]
                subprocess.run([tool, "-t", table, "-D", *rule], capture_output=True, check=False)
                found.append(f"{tool} -t {table} rule {line}")
        for table, chain in chains:
            subprocess.run([tool, "-t", table, "-F", chain], capture_output=True, check=False)
        for table, chain in chains:
            subprocess.run([tool, "-t", table, "-X", chain], capture_output=True, check=False)
            found.append(f"{tool} -t {table} chain {chain}")
    return found
