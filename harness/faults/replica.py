"""Faults on one replica's processes (its app, its daprd, or both): kill, pause, restart."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, cast

from harness.faults.kind import FaultKind, Strike, Struck
from harness.model import Capability

if TYPE_CHECKING:
    from harness.cluster.base import Cluster, Part


class Kill(FaultKind):
    """Signal the part (KILL, or TERM) and wait for it to exit; with ``heal_after``, restart it after that long."""

    name = "kill"
    capability = Capability.KILL
    takes_replica_down = True
    struck_down = True

    def strike(self, s: Strike) -> Struck:
        sig = signal.SIGKILL if s.spec.signal == "KILL" else signal.SIGTERM
        if s.cluster.kill(s.target, s.spec.part, sig):
            return Struck(note="started again by the platform (kubelet) before the kill returned", restarted=True)
        return Struck()

    def heal(self, cluster: Cluster, target: int, part: str, undo: object) -> None:
        cluster.restart_replica(target, cast("Part", part), wait=True)


class Pause(FaultKind):
    """SIGSTOP the part, SIGCONT it after ``heal_after`` (default 5 s)."""

    name = "pause"
    capability = Capability.PAUSE
    takes_replica_down = True
    struck_down = True
    default_heal_s = 5.0

    def strike(self, s: Strike) -> Struck:
        s.cluster.pause(s.target, s.spec.part)
        return Struck()

    def heal(self, cluster: Cluster, target: int, part: str, undo: object) -> None:
        cluster.resume(target, cast("Part", part))


class Restart(FaultKind):
    """A graceful restart of the part, on the same ports; the window is the restart."""

    name = "restart"
    capability = Capability.RESTART
    takes_replica_down = True
    self_healing = True

    def strike(self, s: Strike) -> Struck:
        s.cluster.restart_replica(s.target, s.spec.part, wait=True)
        return Struck()
