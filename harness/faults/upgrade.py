"""Rolling-upgrade steps: restart one replica's daprd (or the whole replica) or one scheduler member on the
binaries of ``dapr.upgrade_to``; the step's window lasts until it is ready again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.errors import InputError
from harness.faults.kind import FaultKind, Strike, Struck
from harness.model import Capability

if TYPE_CHECKING:
    from harness.scenario.schema import FaultSpec


class _Step(FaultKind):
    capability = Capability.UPGRADE
    upgrade = True
    self_healing = True

    def problems(self, fault: FaultSpec, upgrades: bool) -> list[tuple[str, str]]:
        found = []
        if not upgrades:
            why = f"{fault.kind} needs the version to upgrade to: set dapr.upgrade_to (or dapr.upgrade_bin_dir)"
            found.append((why, "kind"))
        if fault.heal_after is not None:
            found.append(("an upgrade is not healed: remove heal_after", "heal_after"))
        return found

    def signal_shown(self, spec: FaultSpec) -> str:
        return "TERM"  # an upgrade stops members gracefully


class Upgrade(_Step):
    """Replica ``target``: ``part`` both replaces the pod (app and daprd), daprd the sidecar only."""

    name = "upgrade"
    takes_replica_down = True

    def problems(self, fault: FaultSpec, upgrades: bool) -> list[tuple[str, str]]:
        found = super().problems(fault, upgrades)
        if fault.part == "app":
            found.append(("an upgrade switches daprd: part must be daprd or both", "part"))
        return found

    def strike(self, s: Strike) -> Struck:
        if s.upgrade is None:
            raise InputError("an upgrade step, but no binaries to upgrade to were given")
        return Struck(note=s.cluster.upgrade_replica(s.target, s.upgrade, s.spec.part, wait=True))


class SchedulerUpgrade(_Step):
    """Scheduler member ``target``, stopped gracefully and started on the new scheduler (same id, ports, data)."""

    name = "scheduler-upgrade"
    on_scheduler = True

    def strike(self, s: Strike) -> Struck:
        if s.upgrade is None:
            raise InputError("an upgrade step, but no binaries to upgrade to were given")
        return Struck(note=s.cluster.upgrade_scheduler(s.target, s.upgrade, wait=True))

    def part_shown(self, spec: FaultSpec) -> str:
        return "-"
