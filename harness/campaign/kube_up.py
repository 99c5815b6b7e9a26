"""``onceonly k8s up``: a local Kubernetes control plane with Dapr's injector kept up until Ctrl-C or SIGTERM.
What a user needs to reach it is in the plane's directory (``kubeconfig``, 0600; ``plane.json``). Progress goes
to a ``PlaneDisplay``; nothing here draws or exits."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from harness.campaign.up import hold_until_interrupted
from harness.cluster.kubernetes.plane.control_plane import LocalControlPlane, PlaneBinaries


class PlaneDisplay(Protocol):
    def say(self, message: str) -> None: ...

    def running(self, label: str) -> AbstractContextManager[Callable[[str], None]]: ...

    def plane_ready(self, plane: LocalControlPlane) -> None: ...


def hold(directory: Path, binaries: PlaneBinaries, nodes: int, display: PlaneDisplay) -> list[str]:
    """Start the plane, keep it up until interrupted, stop it; the processes still running after the stop.
    A ``HarnessError`` while starting is raised after the stop."""
    plane = LocalControlPlane(directory, binaries, nodes=nodes)

    def start() -> None:
        with display.running("starting the control plane") as update:
            plane.on_progress = update
            plane.start()
        display.plane_ready(plane)

    hold_until_interrupted(start, plane.stop, display.say)
    return [c.name for c in plane.supervisor.history if c.alive()]
