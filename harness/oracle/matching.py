"""Which occurrence each delivery of a recurring job answered: every plausible reading, not one guess.

Dapr sends no occurrence id with a job trigger, so the jobs oracle (``harness.oracle.jobs``) matches deliveries to
due times. One fact makes that tractable: go-etcd-cron sends a job's next trigger only once the previous one has
a result (v0.12.6 README "Counter"; ``internal/engine/queue/loops/counters/counters.go``), so a job's deliveries
answer its occurrences in order. What stays open is the *role* of each delivery: the first attempt of occurrence
k (having skipped — lost — the ones before it), a retry after a failed answer, an extra delivery (a re-send of an
occurrence already answered: a duplicate, or a spurious one after the job ended), or an early first attempt.

``readings`` searches every assignment of roles (a shortest-path search, one layer per delivery, states =
(first open occurrence, failed attempts on it, creation world)) and scores each by **units** of implausibility:

* one per anomaly: a counted occurrence left without an attempt (missed), an extra delivery, an early one;
* one per **stall**: a delivery that came more than half a period after the time its role says it could first
  have been sent — for a first attempt, the later of its (latest) due time and the previous delivery's answer; for
  a retry, that answer plus the retry interval; for a re-send (a duplicate), that answer (an early or spurious
  delivery has no time it was due to be sent, so no wait). A first attempt of a job that was idle when it fell due
  is a stall already past the pin window (below): nothing held it back;
* one per **coincidence**: a delivery that came within the *pin window* after a due time at which the job was
  idle (the previous delivery answered before the earliest that due can be), read as the first attempt of
  an older occurrence or a re-send of one. The pin window is ``min(half a period, 100 ms)``: a delivery that lands
  there is what that occurrence's on-time trigger looks like, and anything else landing there is a coincidence;
* one more for an early delivery that came more than half a period before its due time.

A hard rule comes from the answers, not the clock: a delivery that arrives before the previous delivery was
answered (by more than the early tolerance: two replicas' clocks may differ by a few ms) is a re-send of that same
occurrence (the scheduler had no result yet, so it cannot have moved on).

*Plausible* rivals of the best reading: any of the same units (``MARGIN`` 0: a tie is never broken); one unit
dearer where either reading has the job *disturbed* — from a stall, or from a first attempt later than the pin
window after its due (the job behind schedule), up to the next delivery pinned to its own due; two units dearer
(``DISTURBED_MARGIN``) inside the best reading's disturbed stretch for a rival that differs by such a pair only
(as many more, or fewer, lost occurrences as extra deliveries), because there a lost occurrence plus a duplicate
of its neighbour keep both the count and the order, so that pair cannot be ruled out. A rival that reads a pinned
delivery as something else is plausible only at the same units: a pin is the strongest evidence time gives.

Two kinds of occurrence come from the schedule call's span (``harness.oracle.jobs`` builds them): a due that
exists only if Dapr read its clock early, or only if late, has a *world* (1 or 2), and a reading never attempts
occurrences of both; a due across the end of counting is *doubtful*: left unanswered it is no miss, but it is
counted in the signature's fifth field, so the caller judges that reading unknown, never pass. The search keeps,
for every distinct signature (duplicates, missed, early, spurious, doubtful), its cheapest reading; the caller
decides whether the plausible signatures agree.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from typing import Literal, NamedTuple, overload

from harness.oracle.forced import forced_stretches

MARGIN = 0
DISTURBED_MARGIN = 2
PIN_NS = 100_000_000
Outcome = Literal["success", "failure", "cut"]
RoleKind = Literal["attempt", "retry", "extra", "early"]
ExtraKind = Literal["duplicate", "spurious", "early"]  # early: before the first due, with nothing answered yet
State = tuple[int, int, int]  # (index of the first open occurrence, failed attempts on it, world: see Occurrence)
Signature = tuple[int, int, int, int, int]  # (duplicates, missed, early, spurious, doubtful left unanswered)
Cost = tuple[int, int]  # (units, total lateness ns: only orders readings of equal units)


class Occurrence(NamedTuple):  # a tuple: made per occurrence per search, so it must be cheap
    due: int  # the earliest it can be due (early is judged against this)
    counted: bool  # expected: missed when no attempt answers it
    half_period: int  # half the interval to the next due time (the stall threshold)
    latest: int | None = None  # the latest it can be due (Dapr read its clock at the end of the schedule call)
    # 0: exists either way; 1: only if Dapr read its clock early in the schedule call, 2: only if late. A reading
    # that attempts an occurrence of one world cannot attempt one of the other: they never both exist
    world: int = 0
    # may be expected (its due lies across the end of counting): left unanswered it is no miss, but no pass either
    doubtful: bool = False

    @property
    def due_by(self) -> int:
        return self.due if self.latest is None else self.latest


class Arrival(NamedTuple):
    received: int
    answered: int | None  # None: cut off (no answer); a run from before answers passes its arrival
    outcome: Outcome  # success = 2xx or 404; cut = no answer (it reached business logic: it closes its occurrence)
    restricted: bool = False  # after a confirmed delete: may only answer an occurrence that is not counted


class Role(NamedTuple):
    kind: RoleKind
    occurrence: int | None  # attempt/retry/early: the occurrence; extra: the last one closed (None: none yet)
    skipped: tuple[int, ...] = ()  # occurrences taken as lost just before it (missed when counted)
    extra: ExtraKind | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    roles: tuple[Role, ...]
    unanswered: tuple[int, ...]  # counted occurrences never attempted after the last delivery
    units: int
    signature: Signature
    stalls: tuple[int, ...] = ()  # deliveries that came over half a period after they could have been sent
    coincidences: tuple[int, ...] = ()  # deliveries pinned to a due time read as something else

    doubtful: tuple[int, ...] = ()  # doubtful occurrences (see Occurrence) left without an attempt
    # the forced stretches [a, b) of deliveries it crossed (``harness.oracle.forced``): each delivery there is the
    # first attempt of the occurrence after the one before it, the first of them of roles[a].occurrence
    forced: tuple[tuple[int, int], ...] = ()

    @property
    def missed(self) -> tuple[int, ...]:
        return tuple(sorted({k for r in self.roles for k in r.skipped} | set(self.unanswered)))


@dataclass(frozen=True, slots=True)
class Readings:
    best: Reading
    plausible: tuple[Reading, ...]  # the cheapest reading of every other signature within the margin


class _Node(NamedTuple):
    cost: Cost
    parent: tuple[State, Signature] | None
    role: Role | None


_FORCED = Role("attempt", None)  # a node's role when it crossed a forced stretch (its parent is the stretch's start)
_SKIPPED: dict[State, dict[Signature, _Node]] = {}  # each layer inside a crossed stretch (never read, never written)


class OccurrenceTable(Sequence[Occurrence]):
    """Occurrences as columns, one list per field of ``Occurrence``: a long job has one per due time, and the search
    reads most of them in bulk (``_Search``); an ``Occurrence`` is made when one is asked for, once."""

    def __init__(
        self,
        due: list[int],
        counted: list[bool],
        half_period: list[int],
        latest: Sequence[int | None],
        world: Sequence[int],
        doubtful: list[bool],
    ) -> None:
        self.due, self.counted, self.half_period = due, counted, half_period
        self.latest, self.world, self.doubtful = latest, world, doubtful
        self.indices = tuple(range(len(due)))  # a role's skipped occurrences, sliced from it
        self._made: dict[int, Occurrence] = {}

    @classmethod
    def of(cls, occurrences: Sequence[Occurrence]) -> OccurrenceTable:
        if isinstance(occurrences, OccurrenceTable):
            return occurrences
        if not occurrences:
            return cls([], [], [], [], [], [])
        due, counted, half, latest, world, doubtful = ([*column] for column in zip(*occurrences, strict=True))
        return cls(due, counted, half, latest, world, doubtful)

    @staticmethod
    def before(flags: Sequence[bool]) -> list[int]:
        """[how many of flags[:k] are set, for k = 0 .. len(flags)]: a count over any range in two looks."""
        return [0, *accumulate(flags)]

    def due_by(self) -> list[int]:
        """Each occurrence's latest due (``Occurrence.due_by``)."""
        return [d if latest is None else latest for d, latest in zip(self.due, self.latest, strict=True)]

    def __len__(self) -> int:
        return len(self.due)

    @overload
    def __getitem__(self, k: int) -> Occurrence: ...

    @overload
    def __getitem__(self, k: slice) -> Sequence[Occurrence]: ...

    def __getitem__(self, k: int | slice) -> Occurrence | Sequence[Occurrence]:
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(len(self)))]
        made = self._made.get(k)
        if made is None:
            fields = (
                self.due[k],
                self.counted[k],
                self.half_period[k],
                self.latest[k],
                self.world[k],
                self.doubtful[k],
            )
            made = self._made[k] = Occurrence(*fields)
        return made


_FIRST_ATTEMPTS: list[Role] = []  # Role("attempt", k) for k = 0, 1, ...: made once, shared (immutable)


def first_attempts(start: int, stop: int) -> list[Role]:
    """[Role("attempt", k) for k in range(start, stop)], each made once per process: a crossed stretch's roles."""
    if len(_FIRST_ATTEMPTS) < stop:
        made = range(len(_FIRST_ATTEMPTS), stop)
        _FIRST_ATTEMPTS.extend(tuple.__new__(Role, ("attempt", k, (), None)) for k in made)  # no keyword machinery
    return _FIRST_ATTEMPTS[start:stop]


# (delivery index, first open occurrence) -> what an extra one may be (two kinds: the evidence cannot tell which)
Classify = Callable[[int, int], tuple[ExtraKind, ...]]


def readings(
    occurrences: Sequence[Occurrence],
    arrivals: Sequence[Arrival],
    *,
    tolerance_ns: int,
    max_attempts: int | None,
    retry_interval_ns: int,
    classify: Classify,
    idle_from: int | None = None,
    beam: int = 256,
) -> Readings:
    """Every plausible reading of one job's history (``arrivals`` sorted by arrival, ``occurrences`` by due).

    ``idle_from``: since when the job could be triggered before its first delivery (its creation).
    A first pass with a narrow beam finds one complete reading; its units bound the full search (a node dearer
    than that bound plus the margin can never be plausible, since units only grow), which keeps it fast.
    """
    search = _Search(occurrences, arrivals, tolerance_ns, max_attempts, retry_interval_ns, classify, idle_from)
    rough = search.finals(search.run(0, 4, None))
    bound = rough[0][0][0] + DISTURBED_MARGIN
    finals = search.finals(search.run(DISTURBED_MARGIN, beam, bound))
    best_units = finals[0][0][0]
    chosen: dict[Signature, tuple[Cost, Signature, State, tuple[int, ...]]] = {}
    for f in finals:
        if f[0][0] <= best_units + DISTURBED_MARGIN and f[1] not in chosen:
            chosen[f[1]] = f
    built = [search.reading(f[2], f[1], f[3], f[0][0]) for f in chosen.values()]
    best = built[0]
    disturbed = search.disturbed(best)

    def plausible_rival(r: Reading) -> bool:
        differ = [i for i, (a, b) in enumerate(zip(best.roles, r.roles, strict=True)) if a != b]
        if r.units <= best.units + MARGIN:
            return True
        if any(i in r.coincidences and i not in best.coincidences for i in differ):
            return False  # a rival that reads a delivery pinned to its due time as something else must be cheaper
        if r.units <= best.units + 1:  # one unit dearer: where either reading has the job disturbed
            outside = [i for i in differ if i not in disturbed]
            return not outside or all(i in search.disturbed(r) for i in outside)
        # two: a cancelling pair (as many more, or fewer, lost occurrences as extra deliveries: the count kept), in
        # the best reading's disturbed stretch
        (bd, bm, be, bs, bx), (rd, rm, re, rs, rx) = best.signature, r.signature
        missed = rm + rx - bm - bx
        extra = rd + re + rs - bd - be - bs
        return missed != 0 and missed == extra and all(i in disturbed for i in differ)

    plausible = [r for r in built[1:] if plausible_rival(r)]
    return Readings(best, tuple(plausible))


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
    pins: list[int | None] = field(init=False)  # per delivery: the occurrence it is pinned to (``_pinned``)
    lasts: list[int] = field(init=False)  # per delivery: the last occurrence due by its arrival (``_last_due``)
    table: OccurrenceTable = field(init=False)  # the occurrences as columns
    due_by: list[int] = field(init=False)  # each occurrence's latest due (``Occurrence.due_by``)
    received: list[int] = field(init=False)  # each delivery's arrival
    forced: list[tuple[int, int]] = field(init=False)  # stretches [a, b) whose reading is forced (``forced_stretches``)
    skipped: dict[int, int] = field(default_factory=dict)  # the last run's forced stretches taken: b -> a
    _late: dict[int, int] = field(default_factory=dict)  # a forced stretch's lateness, by its start
    _before: tuple[list[int], list[int]] | None = None  # how many counted, doubtful occurrences before each

    def __post_init__(self) -> None:
        """Each delivery's context, in one pass: the previous answer, the last due by its arrival, the occurrence
        it is pinned to (the job idle at that due, the arrival within the pin window after it), and whether it is
        plain (``harness.oracle.forced``): a 2xx pinned to a counted, certain, not doubtful occurrence, after the
        previous one's answer."""
        arrivals, tol = self.arrivals, self.tolerance_ns
        self.table = table = OccurrenceTable.of(self.occ)
        if isinstance(self.occ, OccurrenceTable):
            self.occ = table  # made one by one when the search asks (once each)
        self.dues = dues = table.due
        self.due_by = due_by = table.due_by()
        half, counted, world, doubtful = table.half_period, table.counted, table.world, table.doubtful
        self.received = [a.received for a in arrivals]
        self.free = [self.idle_from, *(a.answered for a in arrivals[:-1])] if arrivals else []
        reach = [by + (h if h < PIN_NS else PIN_NS) for by, h in zip(due_by, half, strict=True)]  # pinned until
        solid = [c and not w and not d for c, w, d in zip(counted, world, doubtful, strict=True)]  # may be forced
        self.lasts = lasts = [bisect.bisect_right(dues, r + tol) - 1 for r in self.received]
        self.pins = pins = [
            k if free is not None and k >= 0 and free <= dues[k] + tol and r <= reach[k] else None
            for r, free, k in zip(self.received, self.free, lasts, strict=True)
        ]
        plain = [
            k is not None
            and solid[k]
            and a.outcome == "success"
            and not a.restricted
            and (i == 0 or a.received + tol >= (free or 0))  # no overlap: the previous one was answered
            for i, (a, free, k) in enumerate(zip(arrivals, self.free, pins, strict=True))
        ]
        self.forced = forced_stretches(pins, plain)

    def run(self, margin: int, beam: int, bound: int | None) -> list[dict[State, dict[Signature, _Node]]]:
        """The layers of the search; nodes dearer than ``bound`` units are dropped. A forced stretch is crossed in
        one step (``_forward``): its layers in between are left empty."""
        arrivals, tolerance_ns, table, due_by = self.arrivals, self.tolerance_ns, self.table, self.due_by
        retry_interval_ns, max_attempts, classify = self.retry_interval_ns, self.max_attempts, self.classify
        worlds = table.world
        if self._before is None:  # made once, for both passes
            self._before = (table.before(table.counted), table.before(table.doubtful))
        counted_before, doubtful_before = self._before
        empty: Signature = (0, 0, 0, 0, 0)
        layers: list[dict[State, dict[Signature, _Node]]] = [{(0, 0, 0): {empty: _Node((0, 0), None, None)}}]
        stretches = dict(self.forced)
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
            a = arrivals[i]
            free, pin, last_due = self.free[i], self.pins[i], self.lasts[i]  # free: when the scheduler could send
            # the previous one was not answered yet (beyond the tolerance: replicas' clocks may differ by a few ms)
            overlap = i > 0 and free is not None and a.received + tolerance_ns < free
            layer: dict[State, dict[Signature, _Node]] = {}
            for state, sigs in layers[-1].items():
                failures = state[1]
                cheapest = (
                    min(node.cost[0] for node in sigs.values()) if len(sigs) > 1 else next(iter(sigs.values())).cost[0]
                )
                budget = None if bound is None else bound - cheapest
                for role, nxt, units, late in _moves(table, a, i, state, overlap, last_due, classify, budget):
                    world, k = state[2], role.occurrence
                    if role.kind != "extra" and k is not None and worlds[k]:
                        if world and world != worlds[k]:
                            continue  # an occurrence of the other creation time: it does not exist in this one
                        world = worlds[k]
                    units += _stall(table, due_by, a, role, free, retry_interval_ns) + _coincidence(role, pin)
                    k, f = _after(nxt, failures if role.kind == "retry" else 0, a.outcome, max_attempts, role)
                    after = (k, f, world)
                    dd, dm, de, ds, dx = _delta(role, counted_before, doubtful_before)
                    for sig, node in sigs.items():
                        cost = (node.cost[0] + units, node.cost[1] + late)
                        if bound is None or cost[0] <= bound:
                            d, m, e, s, x = sig
                            _offer(
                                layer, after, (d + dd, m + dm, e + de, s + ds, x + dx), _Node(cost, (state, sig), role)
                            )
            layers.append(_prune(layer, margin, beam))
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
        late = self._late.get(a)
        if late is None:  # each first attempt's lateness, as _moves has it (the same for every pass)
            stretch = zip(self.received[a:b], self.dues[first : first + b - a], strict=True)
            late = self._late[a] = sum(r - due if r > due else 0 for r, due in stretch)
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
        for i in self.generic():
            role = roles[i]
            if _stall(self.table, self.due_by, self.arrivals[i], role, self.free[i], self.retry_interval_ns):
                stalls.append(i)
            if _coincidence(role, self.pins[i]):
                coincidences.append(i)
            doubtful_skipped.update(k for k in role.skipped if doubtful[k])
        forced = tuple(sorted((a, b) for b, a in self.skipped.items()))
        unsure = tuple(sorted(doubtful_skipped | set(left)))
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
                behind = self.arrivals[i].received - due_by[k] > min(self.table.half_period[k], PIN_NS)
            inside = inside or i in stalls or behind
            if inside:
                out.add(i)
            i += 1
        return out


def _moves(
    occ: OccurrenceTable,
    a: Arrival,
    i: int,
    state: State,
    overlap: bool,
    last_due: int,
    classify: Classify,
    budget: int | None,
) -> list[tuple[Role, int, int, int]]:
    """(role, first open occurrence after it, anomaly units, lateness ns) for each role the delivery may take;
    none that would skip more counted occurrences than ``budget`` units allow."""
    cur, failures, _world = state
    counted, due, n = occ.counted, occ.due, len(occ)
    if cur < n and failures > 0:  # the open occurrence failed: sequential triggers retry it first
        return [(_role("retry", cur, (), None), cur, 0, 0)]
    moves: list[tuple[Role, int, int, int]] = []
    closed = cur - 1 if cur > 0 else None
    for extra in classify(i, cur):
        if closed is not None or extra != "duplicate":  # with nothing answered yet there is nothing to re-send
            moves.append((_role("extra", closed, (), extra), cur, 1, 0))
    if overlap and moves:
        return moves  # the previous delivery had no answer yet: this is a re-send of its occurrence
    missed = 0
    for k in range(cur, min(last_due, n - 1) + 1):
        if budget is not None and missed > budget:
            return moves
        if not (a.restricted and counted[k]):
            moves.append((_role("attempt", k, occ.indices[cur:k], None), k, missed, max(0, a.received - due[k])))
        missed += counted[k]
    k = max(cur, last_due + 1)
    if k < n and not a.restricted and (budget is None or missed < budget):
        unexplained = 1 if due[k] - a.received > occ.half_period[k] else 0
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


def _stall(occ: OccurrenceTable, due_by: Sequence[int], a: Arrival, role: Role, free: int | None, retry_ns: int) -> int:
    """1 when the delivery came more than half a period after its role says it could first have been sent.
    ``due_by``: each occurrence's latest due (``Occurrence.due_by``)."""
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
        return 1 if a.received - ready > min(half, PIN_NS) else 0
    return 1 if a.received - ready > half else 0


def _delta(role: Role, counted_before: Sequence[int], doubtful_before: Sequence[int]) -> Signature:
    """What reading a delivery in ``role`` adds to a signature: the counted occurrences it skips are missed, the
    doubtful ones it skips left unanswered, and an extra or early delivery is its anomaly. ``counted_before[k]``:
    how many of the occurrences before k are counted (``doubtful_before`` likewise); a role skips a range."""
    d = e = s = m = x = 0
    if role.skipped:
        lo, hi = role.skipped[0], role.skipped[-1] + 1
        assert hi - lo == len(role.skipped)  # a range, as _moves makes it
        m, x = counted_before[hi] - counted_before[lo], doubtful_before[hi] - doubtful_before[lo]
    if role.kind == "early":
        e += 1
    elif role.kind == "extra":
        if role.extra == "spurious":
            s += 1
        elif role.extra == "early":
            e += 1
        else:
            d += 1
    return (d, m, e, s, x)


def _after(k: int, failures: int, outcome: Outcome, max_attempts: int | None, role: Role) -> tuple[int, int]:
    """The state after a delivery in ``role`` on occurrence k that already had ``failures`` failed attempts."""
    if role.kind == "extra":
        return (k, 0)
    if outcome in ("success", "cut"):
        return (k + 1, 0)
    failures += 1
    if max_attempts is not None and failures >= max_attempts:
        return (k + 1, 0)
    return (k, failures)


def _offer(layer: dict[State, dict[Signature, _Node]], state: State, sig: Signature, node: _Node) -> None:
    """Keep ``node`` for (state, sig) unless one as cheap is there already (the first offered wins a tie)."""
    sigs = layer.get(state)
    if sigs is None:
        layer[state] = {sig: node}
        return
    held = sigs.get(sig)
    if held is None or node.cost < held.cost:
        sigs[sig] = node


def _prune(layer: dict[State, dict[Signature, _Node]], margin: int, beam: int) -> dict[State, dict[Signature, _Node]]:
    """Per state, drop signatures more than ``margin`` units above its cheapest (they share every future); keep
    the ``beam`` cheapest states."""
    out: dict[State, dict[Signature, _Node]] = {}
    for state, sigs in layer.items():
        if len(sigs) == 1:
            out[state] = sigs  # its one signature is its cheapest
            continue
        low = min(node.cost[0] for node in sigs.values())
        out[state] = {sig: node for sig, node in sigs.items() if node.cost[0] <= low + margin}
    if len(out) > beam:
        keep = sorted(out, key=lambda s: min(node.cost for node in out[s].values()))[:beam]
        out = {s: out[s] for s in keep}
    return out
