"""Scale the replicas mid-run: new replicas get new indices; the newest are removed first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness.faults.kind import FaultKind, Strike, Struck
from harness.model import Capability

if TYPE_CHECKING:
    from harness.scenario.schema import FaultSpec


class Scale(FaultKind):
    """To ``replicas`` (the fault window's ``target`` is that count); done when the cluster is ready again."""

    name = "scale"
    capability = Capability.SCALE
    self_healing = True
    takes = frozenset({"replicas"})

    def strike(self, s: Strike) -> Struck:
        before = len(s.cluster.replicas)
        s.cluster.scale(s.target)
        return Struck(note=f"{before} -> {s.target} replicas")

    def part_shown(self, spec: FaultSpec) -> str:
        return "both"

    def signal_shown(self, spec: FaultSpec) -> str:
        return "-"

    def line(self, f: Mapping[str, Any], how: str, span: str, note: str) -> str:
        return f"scale to {f.get('target', '?')} replicas: {span}{note}"

    def label(self, i: int, f: Mapping[str, Any]) -> str:
        return f"fault #{i} scale to {f.get('target', '?')} replicas"
