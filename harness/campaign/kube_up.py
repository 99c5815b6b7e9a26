"""``onceonly k8s up``: a local Kubernetes control plane with Dapr's injector (and with ``--node`` one real node:
containerd, kubelet, kube-proxy) kept up until Ctrl-C or SIGTERM. What a user needs to reach it is in the plane's
directory (``kubeconfig``, 0600; ``plane.json``, ``node.json``). Progress goes to a ``PlaneDisplay``; nothing here
draws or exits. ``down`` removes what a node left on the host after its harness was killed."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from harness.campaign.up import hold_until_interrupted
from harness.cluster.kubernetes.plane.control_plane import LocalControlPlane, PlaneBinaries
from harness.cluster.kubernetes.plane.node import cleanup, host
from harness.cluster.kubernetes.plane.node.layout import NodeLayout, cgroup_root
from harness.cluster.kubernetes.plane.node.local_node import LocalNode, NodeBinaries
from harness.errors import InputError


class PlaneDisplay(Protocol):
    def say(self, message: str) -> None: ...

    def running(self, label: str) -> AbstractContextManager[Callable[[str], None]]: ...

    def plane_ready(self, plane: LocalControlPlane, node: LocalNode | None) -> None: ...


def hold(
    directory: Path,
    binaries: PlaneBinaries,
    nodes: int,
    display: PlaneDisplay,
    node: NodeBinaries | None = None,
    *,
    host_dapr: bool = True,
) -> list[str]:
    """Start the plane (and the node), keep them up until interrupted, stop them; the processes still running
    after the stop. A ``HarnessError`` while starting is raised after the stop."""
    plane = LocalControlPlane(directory, binaries, nodes=nodes, host_dapr=host_dapr)
    real = LocalNode(plane, node) if node is not None else None

    def start() -> None:
        with display.running("starting the control plane") as update:
            plane.on_progress = update
            plane.start()
            if real is not None:
                real.on_progress = update
                real.start()
        display.plane_ready(plane, real)

    def stop() -> None:
        try:
            if real is not None:
                real.stop()
        finally:
            plane.stop()

    hold_until_interrupted(start, stop, display.say)
    left = [c.name for c in plane.supervisor.history if c.alive()]
    return left + ([c.name for c in real.supervisor.history if c.alive()] if real is not None else [])


def down(directory: Path) -> list[str]:
    """What a node in ``directory`` (a plane's ``--dir``) left on the host, removed; what was found, in words.

    Raises:
        InputError: ``directory`` holds no node (checked first: nothing is touched).
        EnvironmentProblem: not root, or the node's packages are missing.
    """
    layout = NodeLayout(directory.resolve() / "node")
    if not layout.containerd_config.is_file():
        raise InputError(
            f"{directory} holds no node (no node/containerd/config.toml): give the --dir of `k8s up --node`"
        )
    host.preflight()
    earlier = cleanup.marked()
    if earlier is not None and earlier.layout.dir == layout.dir:
        return cleanup.clean(earlier)
    leftovers = cleanup.Leftovers(layout, cgroup_root(Path("/proc/self/cgroup").read_text()))
    return cleanup.clean(leftovers, shared=earlier is None)  # a marker naming another dir: that node may be live
