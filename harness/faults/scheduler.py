"""Faults on one scheduler member: restart it, or kill it (and start it again after ``heal_after``)."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

from harness.faults.kind import FaultKind, Strike, Struck
from harness.model import Capability

if TYPE_CHECKING:
    from harness.cluster.base import Cluster


class SchedulerRestart(FaultKind):
    """Stop member ``target`` (TERM, or KILL) and start it again with the same id, ports and data."""

    name = "scheduler-restart"
    capability = Capability.RESTART
    on_scheduler = True
    self_healing = True

    def strike(self, s: Strike) -> Struck:
        sig = signal.SIGKILL if s.spec.signal == "KILL" else signal.SIGTERM
        s.cluster.restart_scheduler(s.target, sig, wait=True)
        return Struck()


class SchedulerKill(FaultKind):
    """SIGKILL member ``target``; with ``heal_after`` it is started again with the same id and data."""

    name = "scheduler-kill"
    capability = Capability.KILL
    on_scheduler = True

    def strike(self, s: Strike) -> Struck:
        s.cluster.stop_scheduler(s.target, signal.SIGKILL)
        return Struck()

    def heal(self, cluster: Cluster, target: int, part: str, undo: object) -> None:
        cluster.start_scheduler(target, wait=True)
