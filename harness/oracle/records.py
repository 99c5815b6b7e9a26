"""The matching's records: what it reads (occurrences, arrivals), what it decides (roles, readings), its margins.

``harness.oracle.matching`` says what they mean and which readings are plausible; ``harness.oracle.search`` finds
them. The small records are named tuples, made by the thousand for a long run; ``OccurrenceTable`` holds a job's
occurrences as columns (the search reads most of them in bulk) and makes an ``Occurrence`` only when asked. Pure.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, compress, count, repeat
from typing import Literal, NamedTuple, TypeVar, cast, overload

import numpy as np
import numpy.typing as npt

MARGIN = 0
DISTURBED_MARGIN = 2
PIN_NS = 100_000_000
VECTOR_FROM = 256  # a column this long or longer is computed with numpy (shorter: numpy's fixed cost per call is more)
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
        skipped = chain.from_iterable(map(operator.itemgetter(2), self.roles))  # each role's skipped, at C speed
        return tuple(sorted({*skipped, *self.unanswered}))

    def differing(self, other: Reading) -> list[int]:
        """The deliveries the two readings (of one history) give different roles, compared at C speed: a long run's
        readings share most of their roles."""
        if len(self.roles) != len(other.roles):
            raise ValueError(f"readings of {len(self.roles)} and {len(other.roles)} deliveries: not of one history")
        return list(compress(count(), map(operator.ne, self.roles, other.roles)))


@dataclass(frozen=True, slots=True)
class Readings:
    best: Reading
    plausible: tuple[Reading, ...]  # the cheapest reading of every other signature within the margin


T = TypeVar("T")


class _Rows(Sequence[T]):
    """Columns read as a sequence of rows: a row (a record) is made when one is asked for, once (``_row``)."""

    _made: dict[int, T]

    def _row(self, k: int) -> T:
        raise NotImplementedError

    @overload
    def __getitem__(self, k: int) -> T: ...

    @overload
    def __getitem__(self, k: slice) -> Sequence[T]: ...

    def __getitem__(self, k: int | slice) -> T | Sequence[T]:
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(len(self)))]
        made = self._made.get(k)
        if made is None:
            made = self._made[k] = self._row(k)
        return made


class OccurrenceTable(_Rows[Occurrence]):
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
        columns: Columns | None = None,
    ) -> None:
        self.due, self.counted, self.half_period = due, counted, half_period
        self.latest, self.world, self.doubtful = latest, world, doubtful
        self.columns = columns or Columns()  # its integer lists as numpy columns (the job's, shared when given)
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
        if None not in self.latest:  # (the jobs oracle always knows both ends)
            return cast(list[int], list(self.latest))
        return [d if latest is None else latest for d, latest in zip(self.due, self.latest, strict=True)]

    def __len__(self) -> int:
        return len(self.due)

    def _row(self, k: int) -> Occurrence:
        return Occurrence(
            self.due[k], self.counted[k], self.half_period[k], self.latest[k], self.world[k], self.doubtful[k]
        )


Ints = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]


def ints(values: Sequence[int]) -> Ints:
    """A column of integers (nanosecond times fit in int64) as numpy's: 25 ns an element here, 31 by ``np.array``."""
    return np.fromiter(values, np.int64, len(values))


def flags(values: Iterable[bool], count: int) -> Flags:
    """``count`` booleans as a numpy column."""
    return np.fromiter(values, np.bool_, count)


class Columns:
    """One job's integer lists as numpy columns, each made once while its list stands: a long job's due times are
    read as a column by counting, half periods, the context, narrowing and path delays, and making one costs 25 ns
    an element. Only for lists never changed in place but by appending (a longer list is made again)."""

    def __init__(self) -> None:
        self._held: dict[int, tuple[Sequence[int], Ints]] = {}  # id of the list -> (it, its column)

    def __call__(self, values: Sequence[int]) -> Ints:
        held = self._held.get(id(values))
        if held is not None and held[0] is values and len(held[1]) == len(values):
            return held[1]
        made = ints(values)
        self._held[id(values)] = (values, made)  # (holding the list: its id is not reused while held)
        return made

    def seed(self, values: Sequence[int], column: Ints) -> None:
        """``values``' column, made elsewhere (equal to it: the caller's word)."""
        self._held[id(values)] = (values, column)


class ArrivalColumns(NamedTuple):
    """An ``ArrivalTable``'s columns as numpy's, for the vectorised context (``harness.oracle.context``)."""

    received: Ints
    known: Flags  # the previous answer (the creation, for the first) is known: not after a cut-off one
    free: Ints  # when the scheduler could send it, 0 where not known
    success: Flags
    restricted: Flags


class ArrivalTable(_Rows[Arrival]):
    """Arrivals as columns, one list per field of ``Arrival`` (the search and the due windows read them in bulk;
    a job's two or three searches share them, and the last due by each arrival); an ``Arrival`` made when asked."""

    def __init__(
        self, received: list[int], answered: list[int | None], outcome: list[Outcome], restricted: list[bool]
    ) -> None:
        self.received, self.answered, self.outcome, self.restricted = received, answered, outcome, restricted
        self._made: dict[int, Arrival] = {}
        # (the dues, tolerance, last due by each, and as a numpy column when it was computed as one)
        self._lasts: tuple[Sequence[int], int, list[int], Ints | None] | None = None
        self._columns: tuple[int | None, ArrivalColumns] | None = None  # (idle_from, the columns)
        self._received: Ints | None = None  # the arrivals as a numpy column, made once

    @classmethod
    def of(cls, arrivals: Sequence[Arrival]) -> ArrivalTable:
        if isinstance(arrivals, ArrivalTable):
            return arrivals
        if not arrivals:
            return cls([], [], [], [])
        received, answered, outcome, restricted = ([*column] for column in zip(*arrivals, strict=True))
        return cls(received, answered, outcome, restricted)

    def last_dues(
        self, dues: Sequence[int], tol: int, vectorised: bool = False, columns: Columns | None = None
    ) -> list[int]:
        """The index of the last of ``dues`` (sorted) at or before each arrival plus ``tol`` (-1: none); kept for
        the next search of the same job (the same list of dues). ``vectorised``: one numpy search for them all (a
        long history's; for a short one the bisections are cheaper)."""
        held = self._lasts
        if held is not None and held[0] is dues and held[1] == tol:
            return held[2]
        column = None
        if vectorised:
            at = self.received_column() + tol
            column = np.searchsorted((columns or ints)(dues), at, side="right") - 1
            lasts: list[int] = column.tolist()
        else:
            lasts = [bisect.bisect_right(dues, r + tol) - 1 for r in self.received]
        self._lasts = (dues, tol, lasts, column)
        return lasts

    def last_column(self, dues: Sequence[int], tol: int, columns: Columns | None = None) -> Ints:
        """``last_dues`` as a numpy column."""
        lasts = self.last_dues(dues, tol, vectorised=True, columns=columns)
        held = self._lasts
        assert held is not None
        return held[3] if held[3] is not None else ints(lasts)

    def received_column(self) -> Ints:
        """The arrivals as a numpy column, made once (the last dues and the columns below both read it)."""
        if self._received is None:
            self._received = ints(self.received)
        return self._received

    def columns(self, idle_from: int | None) -> ArrivalColumns:
        """The columns as numpy's, ``idle_from`` (the job's creation) standing before the first answer; made once
        for the job's searches."""
        held = self._columns
        if held is not None and held[0] == idle_from:
            return held[1]
        n = len(self.received)
        free = [idle_from, *self.answered[:-1]] if n else []
        # each column made the quick way when it is all alike (a clean run's: no cut-off answer, no failure, no
        # delivery after a delete), else element by element
        try:
            after, known = ints(cast(list[int], free)), np.ones(n, np.bool_)  # (a None refuses: some not known)
        except TypeError:
            known = flags(map(operator.is_not, free, repeat(None)), n)
            after = ints([0 if f is None else f for f in free])
        if self.outcome.count("success") == n:
            success = np.ones(n, np.bool_)
        else:
            success = flags(map(operator.eq, self.outcome, repeat("success")), n)
        restricted = flags(self.restricted, n) if True in self.restricted else np.zeros(n, np.bool_)
        made = ArrivalColumns(self.received_column(), known, after, success, restricted)
        self._columns = (idle_from, made)
        return made

    def __len__(self) -> int:
        return len(self.received)

    def _row(self, i: int) -> Arrival:
        return Arrival(self.received[i], self.answered[i], self.outcome[i], self.restricted[i])


_FIRST_ATTEMPTS: list[Role] = []  # Role("attempt", k) for k = 0, 1, ...: made once, shared (immutable)


def first_attempts(start: int, stop: int) -> list[Role]:
    """[Role("attempt", k) for k in range(start, stop)], each made once per process: a crossed stretch's roles."""
    if len(_FIRST_ATTEMPTS) < stop:
        made = range(len(_FIRST_ATTEMPTS), stop)
        _FIRST_ATTEMPTS.extend(tuple.__new__(Role, ("attempt", k, (), None)) for k in made)  # no keyword machinery
    return _FIRST_ATTEMPTS[start:stop]


# (delivery index, first open occurrence) -> what an extra one may be (two kinds: the evidence cannot tell which)
Classify = Callable[[int, int], tuple[ExtraKind, ...]]
