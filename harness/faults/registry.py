"""Every fault kind, by name, in the order the scenario format lists them. Importing this defines them all: a new
kind is a ``FaultKind`` subclass in one of these modules (or a new module imported here)."""

from __future__ import annotations

from harness.faults import network, replica, scale, scheduler, upgrade
from harness.faults.kind import KINDS, FaultKind, UnknownKind

# defining a kind registers it; ``names`` lists them module by module in this order, each module's in definition
# order (the scenario format's order, as error messages list them), then any kind defined elsewhere
_MODULES = tuple(m.__name__ for m in (replica, scheduler, scale, network, upgrade))


def names() -> tuple[str, ...]:
    """Every kind's name."""
    rank = {m: i for i, m in enumerate(_MODULES)}
    return tuple(sorted(KINDS, key=lambda n: rank.get(type(KINDS[n]).__module__, len(rank))))


_UNKNOWN = UnknownKind()


def kind_of(name: object) -> FaultKind:
    """The kind called ``name``; for a name this version does not know (an old run directory), a kind with the
    shared words only."""
    return KINDS.get(str(name), _UNKNOWN)
