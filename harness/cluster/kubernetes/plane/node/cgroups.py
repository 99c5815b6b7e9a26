"""kubelet's ``cgroupRoot`` on cgroup v1 without systemd: made in every hierarchy before kubelet starts (kubelet
refuses a root that is missing in one: "cgroup [...] has some missing paths"), and removed with everything in it.

The root is a leaf under the deepest cgroup this process runs in (layout.cgroup_root), so in the hierarchies where
the harness sits lower (here: memory, ``/process_api/<id>``) the node stays inside it, and in the others the same
path is made. The directories this made are remembered (the cleanup marker), so only those are removed. In cpuset a
new cgroup starts with no CPUs and no memory nodes: each level made gets its parent's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from harness.cluster.kubernetes.plane.node.layout import CGROUP_LEAF

CGROUPS = Path("/sys/fs/cgroup")


def hierarchies(base: Path = CGROUPS) -> list[Path]:
    """Every mounted v1 hierarchy (it has ``cgroup.procs`` at its top; the v2 mount is skipped: no controllers)."""
    return [
        h for h in sorted(base.iterdir()) if (h / "cgroup.procs").exists() and not (h / "cgroup.controllers").exists()
    ]


def make_root(cgroup_root: str, base: Path = CGROUPS) -> list[str]:
    """``cgroup_root`` made in every hierarchy; the directories made (absolute paths, parents first)."""
    made = []
    for hierarchy in hierarchies(base):
        path = hierarchy
        for part in cgroup_root.strip("/").split("/"):
            parent, path = path, path / part
            if path.is_dir():
                continue
            path.mkdir()
            made.append(str(path))
            for name in ("cpuset.cpus", "cpuset.mems"):
                if (parent / name).exists():
                    (path / name).write_text((parent / name).read_text())
    return made


def remove(cgroup_root: str, made: list[str], base: Path = CGROUPS) -> list[str]:
    """Every process under ``cgroup_root`` killed (SIGKILL) in each hierarchy, its cgroups removed deepest first,
    then the directories ``made`` for it; the processes found, in words."""
    if not cgroup_root.rstrip("/").endswith("/" + CGROUP_LEAF):
        raise ValueError(f"refusing to empty {cgroup_root!r}: not a node's cgroup root (…/{CGROUP_LEAF})")
    roots = [r for r in (h / cgroup_root.lstrip("/") for h in hierarchies(base)) if r.is_dir()]
    found = []
    for root in roots:
        for procs in root.rglob("cgroup.procs"):
            for pid in procs.read_text().split():
                found.append(f"process {pid} in {procs.parent}")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
    tree = [p for root in roots for p in [root, *root.rglob("*")] if p.is_dir()]
    for directory in sorted({*tree, *map(Path, made)}, key=lambda p: -len(p.parts)):
        _rmdir(directory)
    return sorted(set(found))


def _rmdir(directory: Path) -> None:
    for _ in range(50):
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)  # a killed process leaves its cgroup a moment later
