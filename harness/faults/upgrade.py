"""Rolling-upgrade steps: restart one replica's daprd (or the whole replica) or one scheduler member on the
binaries of ``dapr.upgrade_to``; on Kubernetes, Dapr's Helm release upgraded (``chart-upgrade``), then the app's
pods rolled onto the new sidecar (``sidecar-upgrade``). The step's window lasts until it is ready again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

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


class _Whole(_Step):
    """A step on the whole control plane or app (no target), through Dapr's Helm chart (Kubernetes)."""

    capability = Capability.CHART_UPGRADE
    whole = True
    what: ClassVar[str] = "?"

    def problems(self, fault: FaultSpec, upgrades: bool) -> list[tuple[str, str]]:
        found = super().problems(fault, upgrades)
        if fault.target != "random":
            found.append((f"{self.name} upgrades {self.what} at once: leave target out", "target"))
        return found

    def where(self, f: Mapping[str, Any]) -> str:
        return self.what

    def label(self, i: int, f: Mapping[str, Any]) -> str:
        return f"fault #{i} {self.name}, {self.what}"


class ChartUpgrade(_Whole):
    """`helm upgrade` of Dapr's release to `dapr.upgrade_to` (Kubernetes): its Deployments and StatefulSets
    (placement, scheduler) roll to the new images, one pod at a time; the window lasts until every control-plane pod
    runs the new version and every daprd is connected again. The app's pods keep their daprd until
    `sidecar-upgrade`."""

    name = "chart-upgrade"
    on_scheduler = True  # its scheduler pods are replaced, one by one
    what = "Dapr's control plane"

    def strike(self, s: Strike) -> Struck:
        if s.upgrade is None:
            raise InputError("a chart upgrade, but no version to upgrade to was given")
        return Struck(note=s.cluster.upgrade_chart(s.upgrade, wait=True))

    def part_shown(self, spec: FaultSpec) -> str:
        return "-"


class SidecarUpgrade(_Whole):
    """A rolling restart of the app's Deployment after `chart-upgrade` (Kubernetes): each new pod gets the new daprd
    from Dapr's injector (a new replica index); the window lasts until the rollout is done and every live daprd
    runs `dapr.upgrade_to`."""

    name = "sidecar-upgrade"
    what = "every replica"

    def strike(self, s: Strike) -> Struck:
        if s.upgrade is None:
            raise InputError("a sidecar upgrade, but no version to upgrade to was given")
        return Struck(note=s.cluster.roll_sidecars(s.upgrade, wait=True))
