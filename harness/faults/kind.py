"""What a fault kind is, once: ``FaultKind`` holds everything onceonly knows about one kind of fault.

Each kind is a subclass in one module of ``harness.faults`` (``replica``, ``scheduler``, ``scale``, ``network``,
``upgrade``), registered by defining it (``harness.faults.registry``). A kind says what the backend must be able
to do (``capability``), what it targets, how the scenario may write it (``problems``), how it is done and undone
through the ``Cluster`` protocol (``strike`` / ``heal``, called by ``harness.nemesis``), what it means for the
evidence (``takes_replica_down``: the replica cannot receive while it lasts, and its daprd's counters restart;
``struck_down``: the part is surely down from the strike to the heal, so a delivery then is a zombie), and how the
reports say it (``line``, ``label``). Pure apart from ``strike``/``heal``, which touch only the cluster they are
given: the oracle and the reports import this, never a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.model import ALL_MEMBERS, Capability

if TYPE_CHECKING:
    from harness.cluster.base import Cluster
    from harness.scenario.schema import FaultSpec
    from toolchain.binaries import Binaries

KINDS: dict[str, FaultKind] = {}  # name -> kind, in definition order (harness.faults.registry imports them all)


@dataclass(frozen=True, slots=True)
class Strike:
    """One fault about to be done: on ``cluster``, as ``spec`` says, to ``target`` (a replica or member index,
    ``ALL_MEMBERS`` for every scheduler link, the replica count for ``scale``). ``upgrade``: the binaries an upgrade
    step switches to. ``tag`` names what the strike leaves behind (a network cut's toxics)."""

    cluster: Cluster
    spec: FaultSpec
    target: int
    upgrade: Binaries | None
    tag: str


@dataclass(frozen=True, slots=True)
class Struck:
    """What a strike did: ``note`` for the fault window, ``undo`` for ``heal`` (a network cut's token);
    ``restarted``: the platform started the part again before the strike returned (a container kubelet restarts),
    so the window is the call, as a self-healing kind's, and nothing is healed."""

    note: str = ""
    undo: object = None
    restarted: bool = False


class FaultKind:
    """The facts, rules, doing and words of one kind. Subclasses set ``name`` and ``capability`` and override
    what differs; defining one registers it."""

    name: ClassVar[str] = "?"
    capability: ClassVar[Capability]
    on_scheduler: ClassVar[bool] = False  # its target is a scheduler member (or the link to one), not a replica
    network: ClassVar[bool] = False  # done on the link daprd <-> scheduler: needs the fault proxy; target may be all
    upgrade: ClassVar[bool] = False  # a rolling-upgrade step: needs dapr.upgrade_to
    takes_replica_down: ClassVar[bool] = False  # its replica cannot receive while it lasts (and loses its counters)
    struck_down: ClassVar[bool] = False  # the part is surely down from the strike to the heal
    self_healing: ClassVar[bool] = False  # done and undone in one call: the window is the call
    default_heal_s: ClassVar[float | None] = None  # heal after this long when the scenario gives no heal_after
    takes: ClassVar[frozenset[str]] = frozenset()  # the fields only this kind takes, and requires (scale: replicas)
    whole: ClassVar[bool] = False  # it strikes the whole control plane or app at once: no target (ALL_MEMBERS)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name != "?":
            KINDS[cls.name] = cls()

    # --- the scenario ------------------------------------------------------------------------------------------

    def problems(self, fault: FaultSpec, upgrades: bool) -> list[tuple[str, str]]:
        """What is wrong with ``fault`` for this kind beyond the shared rules: (message, field) pairs.
        ``upgrades``: the scenario names binaries to upgrade to."""
        return []

    # --- doing it ----------------------------------------------------------------------------------------------

    def strike(self, s: Strike) -> Struck:
        raise NotImplementedError(self.name)

    def heal(self, cluster: Cluster, target: int, part: str, undo: object) -> None:
        """Undo the strike (only for kinds that are not self-healing)."""

    def part_shown(self, spec: FaultSpec) -> str:
        """The fault window's ``part``."""
        return spec.part

    def signal_shown(self, spec: FaultSpec) -> str:
        """The fault window's ``signal``."""
        return spec.signal

    # --- the words ---------------------------------------------------------------------------------------------

    def where(self, f: Mapping[str, Any]) -> str:
        """The target as people read it: ``replica 2``, ``scheduler 0``."""
        kind = str(f.get("kind", "?"))
        return f"{'scheduler' if kind.startswith('scheduler') else 'replica'} {f.get('target', '?')}"

    def line(self, f: Mapping[str, Any], how: str, span: str, note: str) -> str:
        """summary.md / the terminal: ``kill on replica 2 (daprd, KILL): <from> → <to> — <note>``."""
        return f"{f.get('kind', '?')} on {self.where(f)}{f' ({how})' if how else ''}: {span}{note}"

    def label(self, i: int, f: Mapping[str, Any]) -> str:
        """report.html's shaded window: ``fault #0 kill daprd, replica 2``."""
        part = f" {f['part']}" if f.get("part") and f["part"] != "-" else ""
        return f"fault #{i} {f.get('kind', '?')}{part}, {self.where(f)}"


class UnknownKind(FaultKind):
    """A kind this version does not know (a run directory made by another one): words only."""


def members_words(target: object) -> str:
    return "every scheduler member" if target == ALL_MEMBERS else f"scheduler {target}"
