"""Faults on the link between every daprd and one scheduler member (or all): delay, blackhole, reset.

Done through the cluster's ``cut_network`` (the local backend: toxics on its Toxiproxy link, see
``harness.cluster.local.proxy`` for what each does on the wire), undone by ``mend_network``. ``direction``:
``to-scheduler``, ``from-scheduler`` or ``both`` (the fault window's ``part``). Healed after ``heal_after``
(default 10 s).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness.faults.kind import FaultKind, Strike, Struck, members_words
from harness.model import ALL_MEMBERS, Capability

if TYPE_CHECKING:
    from harness.cluster.base import Cluster, NetworkKind
    from harness.scenario.schema import FaultSpec


class _Network(FaultKind):
    capability = Capability.NETWORK
    on_scheduler = True
    network = True
    default_heal_s = 10.0
    toxic: NetworkKind

    def strike(self, s: Strike) -> Struck:
        members = list(range(s.cluster.scheduler_count)) if s.target == ALL_MEMBERS else [s.target]
        delay_ms = 0 if s.spec.delay is None else round(s.spec.delay.total_seconds() * 1000)
        undo = s.cluster.cut_network(members, self.toxic, s.spec.direction or "both", delay_ms, tag=s.tag)
        return Struck(note=f"{delay_ms} ms per direction" if self.toxic == "delay" else "", undo=undo)

    def heal(self, cluster: Cluster, target: int, part: str, undo: object) -> None:
        if undo is not None:
            cluster.mend_network(undo)

    def part_shown(self, spec: FaultSpec) -> str:
        return spec.direction or "both"

    def signal_shown(self, spec: FaultSpec) -> str:
        return "-"

    def where(self, f: Mapping[str, Any]) -> str:
        return "all schedulers" if f.get("target") == ALL_MEMBERS else f"scheduler {f.get('target', '?')}"

    def line(self, f: Mapping[str, Any], how: str, span: str, note: str) -> str:
        members = members_words(f.get("target", "?"))
        return f"{f.get('kind', '?')} on the link daprd ↔ {members} ({how} direction(s)): {span}{note}"


class NetworkDelay(_Network):
    """Every byte held ``delay`` in the chosen direction(s)."""

    name = "network-delay"
    toxic = "delay"
    takes = frozenset({"delay"})


class NetworkBlackhole(_Network):
    """Bytes dropped, connections left open (no FIN, no RST): only gRPC keepalive can notice."""

    name = "network-blackhole"
    toxic = "blackhole"


class NetworkReset(_Network):
    """The first bytes on any connection, old or new, reset it (RST)."""

    name = "network-reset"
    toxic = "reset"
