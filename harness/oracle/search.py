"""The search over a job's readings: one layer per delivery, the cheapest node per (state, signature), two passes.

``harness.oracle.matching`` states the rules (roles, units, plausibility) and calls ``_Search``: a rough pass with
a narrow beam bounds the full one. Each delivery's context (the previous answer, the occurrence it is pinned to)
is computed once per search; a long on-time stretch is crossed in one step (``harness.oracle.forced``). Pure.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import NamedTuple

from harness.oracle.context import delivery_context
from harness.oracle.records import (
    DISTURBED_MARGIN,
    PIN_NS,
    Arrival,
    ArrivalTable,
    Classify,
    Cost,
    ExtraKind,
    Occurrence,
    OccurrenceTable,
    Outcome,
    Reading,
    Role,
    RoleKind,
    Signature,
    State,
    first_attempts,
)


class _Node(NamedTuple):
    cost: Cost
    parent: tuple[State, Signature] | None
    role: Role | None


_FORCED = Role("attempt", None)  # a node's role when it crossed a forced stretch (its parent is the stretch's start)
_SKIPPED: dict[State, dict[Signature, _Node]] = {}  # each layer inside a crossed stretch (never read, never written)


@dataclass
class _Search:
    occ: Sequence[Occurrence]
    arrivals: Sequence[Arrival]
    tolerance_ns: int
    max_attempts: int | None
    retry_interval_ns: int
    classify: Classify
    idle_from: int | None
    layers: list[dict[State, dict[Signature, _Node]]] = field(default_factory=list)
    dues: list[int] = field(init=False)  # each occurrence's earliest due, in order
    free: list[int | None] = field(init=False)  # per delivery: when the scheduler could send it (the previous answer)
    pins: list[int | None] = field(init=False)  # per delivery: the occurrence it is pinned to (see __post_init__)
    lasts: list[int] = field(init=False)  # per delivery: the last occurrence due by its arrival (``_last_due``)
    table: OccurrenceTable = field(init=False)  # the occurrences as columns
    due_by: list[int] = field(init=False)  # each occurrence's latest due (``Occurrence.due_by``)
    received: list[int] = field(init=False)  # each delivery's arrival
    restricted: list[bool] = field(init=False)  # each delivery's ``Arrival.restricted``
    outcomes: list[Outcome] = field(init=False)  # each delivery's ``Arrival.outcome``
    forced: list[tuple[int, int]] = field(init=False)  # stretches [a, b) whose reading is forced (``forced_stretches``)
    rough: list[tuple[int, int]] = field(init=False)  # the stretches a rough pass crosses (``Context.rough``)
    skipped: dict[int, int] = field(default_factory=dict)  # the last run's forced stretches taken: b -> a
    late_before: list[int] = field(init=False)  # the deliveries' lateness summed (``Context.late_before``)
    # (delivery, first open occurrence) -> what it may be as an extra one: asked once for both passes
    _classified: dict[tuple[int, int], tuple[ExtraKind, ...]] = field(default_factory=dict)
    _before: tuple[list[int], list[int]] | None = None  # how many counted, doubtful occurrences before each

    def __post_init__(self) -> None:
        """Each delivery's context (``harness.oracle.context``): the previous answer, the last due by its arrival,
        the occurrence it is pinned to, and the stretches whose reading is forced."""
        self.arrivals = arrivals = ArrivalTable.of(self.arrivals)  # an Arrival made when the search asks
        self.table = table = OccurrenceTable.of(self.occ)
        if isinstance(self.occ, OccurrenceTable):
            self.occ = table  # made one by one when the search asks (once each)
        self.dues = table.due
        self.received, self.restricted, self.outcomes = arrivals.received, arrivals.restricted, arrivals.outcome
        context = delivery_context(table, arrivals, self.idle_from, self.tolerance_ns)
        self.free, self.due_by, self.lasts, self.pins = context.free, context.due_by, context.lasts, context.pins
        self.forced, self.rough, self.late_before = context.forced, context.rough, context.late_before

    def run(
        self, margin: int, beam: int, bound: int | None, rough: bool = False
    ) -> list[dict[State, dict[Signature, _Node]]]:
        """The layers of the search; nodes dearer than ``bound`` units are dropped. A forced stretch is crossed in
        one step (``_forward``): its layers in between are left empty. A ``rough`` pass only bounds the full one (any
        complete reading's units do): it keeps no state more than ``DISTURBED_MARGIN`` units above its layer's
        cheapest, and crosses the plain runs to ``ROUGH_EDGE`` deliveries from their ends (``Context.rough``)."""
        arrivals, tolerance_ns, table, due_by = self.arrivals, self.tolerance_ns, self.table, self.due_by
        retry_interval_ns, max_attempts, classify = self.retry_interval_ns, self.max_attempts, self.classify
        worlds, received, restricted_at, outcomes = table.world, self.received, self.restricted, self.outcomes
        classified = self._classified
        if self._before is None:  # made once, for both passes
            self._before = (table.before(table.counted), table.before(table.doubtful))
        counted_before, doubtful_before = self._before
        empty: Signature = (0, 0, 0, 0, 0)
        layers: list[dict[State, dict[Signature, _Node]]] = [{(0, 0, 0): {empty: _Node((0, 0), None, None)}}]
        stretches = dict(self.rough if rough else self.forced)
        self.skipped = {}
        i = 0
        while i < len(arrivals):
            b = stretches.get(i)
            crossed = None if b is None else self._forward(layers[-1], i, b)
            if b is not None and crossed is not None:
                layers.extend(repeat(_SKIPPED, b - i - 1))
                layers.append(crossed)
                self.skipped[b] = i
                i = b
                continue
            r, restricted = received[i], restricted_at[i]  # (columns read: no Arrival made per layer)
            free, pin, last_due = self.free[i], self.pins[i], self.lasts[i]  # free: when the scheduler could send
            # the previous one was not answered yet (beyond the tolerance: replicas' clocks may differ by a few ms)
            overlap = i > 0 and free is not None and r + tolerance_ns < free
            closing = outcomes[i] != "failure"  # a success or a cut-off delivery closes its occurrence
            layer: dict[State, dict[Signature, _Node]] = {}
            for state, sigs in layers[-1].items():
                failures = state[1]
                cheapest = (
                    min(node.cost[0] for node in sigs.values()) if len(sigs) > 1 else next(iter(sigs.values())).cost[0]
                )
                budget = None if bound is None else bound - cheapest
                extras = classified.get((i, state[0]))  # the same for every state and pass with this open occurrence
                if extras is None:
                    extras = classified[(i, state[0])] = classify(i, state[0])
                for role, nxt, units, late in _moves(table, r, restricted, state, overlap, last_due, extras, budget):
                    kind, k, skipped, extra = role
                    world = state[2]
                    if kind != "extra" and k is not None and worlds[k]:
                        if world and world != worlds[k]:
                            continue  # an occurrence of the other creation time: it does not exist in this one
                        world = worlds[k]
                    units += _stall(table, due_by, r, role, free, retry_interval_ns)
                    if pin is not None and k != pin and kind != "retry" and kind != "early":
                        units += 1  # _coincidence, inline
                    # the state after it: an extra one changes nothing; an attempt that closes its occurrence opens
                    # the next; a failed one opens it too once it was the max_attempts-th, else counts one more
                    if kind == "extra" or closing:
                        after = (nxt if kind == "extra" else nxt + 1, 0, world)
                    else:
                        failed = (failures if kind == "retry" else 0) + 1
                        gave_up = max_attempts is not None and failed >= max_attempts
                        after = (nxt + 1, 0, world) if gave_up else (nxt, failed, world)
                    # what it adds to a signature: the counted (missed) and doubtful (left) occurrences it skips, a
                    # range, and an extra or early delivery's anomaly
                    dd = dm = de = ds = dx = 0
                    if skipped:
                        lo, hi = skipped[0], skipped[-1] + 1
                        dm, dx = counted_before[hi] - counted_before[lo], doubtful_before[hi] - doubtful_before[lo]
                    if kind == "early" or extra == "early":
                        de = 1
                    elif extra == "spurious":
                        ds = 1
                    elif kind == "extra":
                        dd = 1
                    held = layer.get(after)  # _offer, inline: the cheapest node per (state, signature)
                    for sig, node in sigs.items():
                        cost = (node.cost[0] + units, node.cost[1] + late)
                        if bound is None or cost[0] <= bound:
                            d, m, e, s, x = sig
                            added = (d + dd, m + dm, e + de, s + ds, x + dx)
                            offered = tuple.__new__(_Node, (cost, (state, sig), role))  # _Node(...), made cheaply
                            if held is None:
                                held = layer[after] = {added: offered}
                                continue
                            there = held.get(added)  # the first offered keeps a tie
                            if there is None or cost < there.cost:
                                held[added] = offered
            layers.append(_prune(layer, margin, beam, DISTURBED_MARGIN if rough else None))
            i += 1
        self.layers = layers
        return layers

    def _forward(
        self, layer: dict[State, dict[Signature, _Node]], a: int, b: int
    ) -> dict[State, dict[Signature, _Node]] | None:
        """The layer after the forced stretch [a, b): each node whose first open occurrence is the one delivery a is
        pinned to reads every delivery of the stretch as the first attempt of its own occurrence (no unit, its
        lateness added); the others are dropped (``harness.oracle.forced``). None when no node is there."""
        first = self.pins[a]
        assert first is not None
        late = self.late_before[b] - self.late_before[a]  # each first attempt's lateness, as _moves has it
        out: dict[State, dict[Signature, _Node]] = {}
        for state, sigs in layer.items():
            if state[0] == first and not state[1]:
                out[(first + b - a, 0, state[2])] = {
                    sig: _Node((node.cost[0], node.cost[1] + late), (state, sig), _FORCED) for sig, node in sigs.items()
                }
        return out or None

    def generic(self) -> Iterator[int]:
        """The deliveries of the last run outside its forced stretches (inside one a delivery is the on-time first
        attempt of the occurrence it is pinned to: no stall, no coincidence, no change of state)."""
        i = 0
        ends = {a: b for b, a in self.skipped.items()}
        while i < len(self.arrivals):
            if i in ends:
                i = ends[i]
                continue
            yield i
            i += 1

    def finals(
        self, layers: list[dict[State, dict[Signature, _Node]]]
    ) -> list[tuple[Cost, Signature, State, tuple[int, ...]]]:
        """Every complete reading: (cost, signature, last state, counted occurrences left unanswered), best first."""
        counted, doubtful = self.table.counted, self.table.doubtful
        n = len(counted)
        finals: list[tuple[Cost, Signature, State, tuple[int, ...]]] = []
        for state, sigs in layers[-1].items():
            cur, failures, _world = state
            first_unattempted = cur + 1 if failures else cur
            unanswered = tuple(k for k in range(first_unattempted, n) if counted[k])
            left = sum(1 for k in range(first_unattempted, n) if doubtful[k])
            for sig, node in sigs.items():
                d, m, e, s, x = sig
                cost = (node.cost[0] + len(unanswered), node.cost[1])
                finals.append((cost, (d, m + len(unanswered), e, s, x + left), state, unanswered))
        finals.sort(key=lambda f: (f[0][0], sum(f[1]), f[0][1]))  # units, then fewer anomalies, then less lateness
        return finals

    def reading(self, state: State, sig: Signature, unanswered: tuple[int, ...], units: int) -> Reading:
        """The reading that ends in ``state`` with signature ``sig`` (found by walking the parents back)."""
        d, m, e, s, x = sig
        first_unattempted = state[0] + 1 if state[1] else state[0]
        doubtful = self.table.doubtful
        left = tuple(k for k in range(first_unattempted, len(doubtful)) if doubtful[k])
        key: tuple[State, Signature] | None = (state, (d, m - len(unanswered), e, s, x - len(left)))
        roles: list[Role] = []
        i = len(self.layers) - 1
        while i > 0:
            assert key is not None
            node = self.layers[i][key[0]][key[1]]
            assert node.role is not None
            key = node.parent
            if node.role is _FORCED:
                a = self.skipped[i]
                first = self.pins[a] or 0
                roles.extend(reversed(first_attempts(first, first + i - a)))
                i = a
                continue
            roles.append(node.role)
            i -= 1
        roles.reverse()
        stalls, coincidences = [], []
        doubtful_skipped: set[int] = set()
        for i in self.generic() if self.skipped else range(len(roles)):
            role = roles[i]
            if _stall(self.table, self.due_by, self.received[i], role, self.free[i], self.retry_interval_ns):
                stalls.append(i)
            if _coincidence(role, self.pins[i]):
                coincidences.append(i)
            if role.skipped:
                doubtful_skipped.update(k for k in role.skipped if doubtful[k])
        forced = tuple(sorted((a, b) for b, a in self.skipped.items())) if self.skipped else ()
        unsure = tuple(sorted(doubtful_skipped | set(left))) if doubtful_skipped or left else ()
        return Reading(tuple(roles), unanswered, units, sig, tuple(stalls), tuple(coincidences), unsure, forced)

    def disturbed(self, reading: Reading) -> set[int]:
        """Deliveries from each stall of ``reading``, or each first attempt that came later than the pin window after
        its due (the job is behind: a backlog), up to the next one pinned to its own due. A forced stretch ends a
        disturbed one on its first delivery and has none inside (it skips nothing; each of its deliveries is pinned,
        no stall); only that first delivery is looked at."""
        out: set[int] = set()
        inside = False
        stalls = set(reading.stalls)
        ends = {a + 1: b for b, a in self.skipped.items()}
        due_by = self.due_by
        i = 0
        while i < len(reading.roles):
            if i in ends:
                i = ends[i]
                continue
            role, pin = reading.roles[i], self.pins[i]
            if inside and pin is not None and role.kind == "attempt" and role.occurrence == pin:
                out.add(i)  # the stretch ends here, but what it skipped shows on this delivery's role
                inside = False
            behind = False
            if role.kind == "attempt" and role.occurrence is not None:
                k = role.occurrence
                behind = self.received[i] - due_by[k] > min(self.table.half_period[k], PIN_NS)
            inside = inside or i in stalls or behind
            if inside:
                out.add(i)
            i += 1
        return out


def _moves(
    occ: OccurrenceTable,
    received: int,
    restricted: bool,
    state: State,
    overlap: bool,
    last_due: int,
    extras: tuple[ExtraKind, ...],
    budget: int | None,
) -> list[tuple[Role, int, int, int]]:
    """(role, first open occurrence after it, anomaly units, lateness ns) for each role the delivery (its arrival,
    whether it came after a confirmed delete) may take; ``extras``: what it may be as an extra one (``Classify``).
    None that would skip more counted occurrences than ``budget`` units allow."""
    cur, failures, _world = state
    counted, due, n = occ.counted, occ.due, len(occ)
    if cur < n and failures > 0:  # the open occurrence failed: sequential triggers retry it first
        return [(_role("retry", cur, (), None), cur, 0, 0)]
    moves: list[tuple[Role, int, int, int]] = []
    closed = cur - 1 if cur > 0 else None
    for extra in extras:
        if closed is not None or extra != "duplicate":  # with nothing answered yet there is nothing to re-send
            moves.append((_role("extra", closed, (), extra), cur, 1, 0))
    if overlap and moves:
        return moves  # the previous delivery had no answer yet: this is a re-send of its occurrence
    missed = 0
    for k in range(cur, min(last_due, n - 1) + 1):
        if budget is not None and missed > budget:
            return moves
        if not (restricted and counted[k]):
            moves.append((_role("attempt", k, occ.indices[cur:k], None), k, missed, max(0, received - due[k])))
        missed += counted[k]
    k = max(cur, last_due + 1)
    if k < n and not restricted and (budget is None or missed < budget):
        unexplained = 1 if due[k] - received > occ.half_period[k] else 0
        moves.append((_role("early", k, occ.indices[cur:k], None), k, 1 + missed + unexplained, 0))
    return moves


def _role(kind: RoleKind, occurrence: int | None, skipped: tuple[int, ...], extra: ExtraKind | None) -> Role:
    """Role(kind, occurrence, skipped, extra), made as a plain tuple is (a search makes one per move)."""
    return tuple.__new__(Role, (kind, occurrence, skipped, extra))


def _coincidence(role: Role, pin: int | None) -> int:
    """1 when a delivery pinned to occurrence ``pin`` is read as the first attempt or a re-send of an older one."""
    if pin is None or role.kind in ("retry", "early") or role.occurrence == pin:
        return 0
    return 1


def _stall(
    occ: OccurrenceTable, due_by: Sequence[int], received: int, role: Role, free: int | None, retry_ns: int
) -> int:
    """1 when the delivery (arriving at ``received``) came more than half a period after its role says it could
    first have been sent. ``due_by``: each occurrence's latest due (``Occurrence.due_by``)."""
    k, halves = role.occurrence, occ.half_period
    half = halves[k] if k is not None and k < len(halves) else (halves[0] if halves else 1 << 62)
    if role.kind == "attempt":
        assert k is not None
        ready = due_by[k] if free is None else max(due_by[k], free)
    elif role.kind == "early" or role.extra in ("early", "spurious"):
        return 0  # fired before its due, or after the job was gone: no time it was due to be sent, so no wait
    elif free is None:
        return 0  # after a cut-off delivery: when Dapr learned of it is unknown
    elif role.kind == "retry":
        ready = free + retry_ns
    else:
        ready = free
    if role.kind == "attempt" and k is not None and (free is None or free <= occ.due[k]):
        # the job was idle when it fell due: a first attempt later than the pin window is a stall too
        return 1 if received - ready > min(half, PIN_NS) else 0
    return 1 if received - ready > half else 0


def _prune(
    layer: dict[State, dict[Signature, _Node]], margin: int, beam: int, spread: int | None = None
) -> dict[State, dict[Signature, _Node]]:
    """Per state, drop signatures more than ``margin`` units above its cheapest (they share every future); keep
    the ``beam`` cheapest states, and with a ``spread`` none more than that many units above the cheapest."""
    out: dict[State, dict[Signature, _Node]] = {}
    for state, sigs in layer.items():
        if len(sigs) == 1:
            out[state] = sigs  # its one signature is its cheapest
            continue
        low = min(node.cost[0] for node in sigs.values())
        out[state] = {sig: node for sig, node in sigs.items() if node.cost[0] <= low + margin}
    if spread is not None and len(out) > 1:
        lows = {s: min(node.cost[0] for node in sigs.values()) for s, sigs in out.items()}
        top = min(lows.values()) + spread
        out = {s: sigs for s, sigs in out.items() if lows[s] <= top}
    if len(out) > beam:
        keep = sorted(out, key=lambda s: min(node.cost for node in out[s].values()))[:beam]
        out = {s: out[s] for s in keep}
    return out
