"""The figures of one source while the oracle judges it, and the shared words of judging.

``Tally`` collects counts, lateness samples, witnesses and notes for one source and turns them into its
``SourceResult`` under its policy (the verdict rule of the glossary in ``harness.oracle.check``). Pure.
"""

from __future__ import annotations

import operator
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Literal

from harness.model import NS, Delivery, Lateness, LatenessSamples, Policy, SourceKind, SourceResult, Verdict, Witness
from harness.oracle.evidence import CheckInput
from harness.oracle.records import VECTOR_FROM, ints

MAX_WITNESSES = 20
WitnessKind = Literal["duplicate", "missed", "early", "spurious", "retry", "ambiguous"]
_WITNESS_ORDER: tuple[WitnessKind, ...] = ("ambiguous", "early", "spurious", "missed", "duplicate", "retry")


def iso(ns: int) -> str:
    return datetime.fromtimestamp(ns // NS, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % NS // 1_000_000:03d}Z"


def ms(ns: int) -> str:
    return f"{ns / 1e6:.1f} ms"


def _percentile(sorted_values: Sequence[float], p: float) -> float:
    rank = p / 100 * (len(sorted_values) - 1)
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def lateness_of(values_ns: Iterable[int]) -> Lateness:
    """Percentiles (linear interpolation between closest ranks) of lateness values, in ms. A long list is sorted
    by numpy (the same doubles: each value converted, then divided, as Python does it)."""
    values = values_ns if isinstance(values_ns, list) else list(values_ns)
    if len(values) >= VECTOR_FROM:
        in_ms = ints(values) / 1e6
        in_ms.sort()
        ms: list[float] = in_ms.tolist()
    else:
        ms = sorted(v / 1e6 for v in values)
    if not ms:
        return Lateness(None, None, None, None)
    return Lateness(_percentile(ms, 50), _percentile(ms, 95), _percentile(ms, 99), ms[-1])


def success(d: Delivery) -> bool:
    return succeeded(d.status)


def succeeded(status: int | None) -> bool:
    """A 2xx, or 404 (Dapr treats it as success: see the glossary's "success")."""
    return status is not None and (200 <= status < 300 or status == 404)


def closes(d: Delivery) -> bool:
    """The attempt ends its occurrence: a success, or a cut-off delivery (it reached business logic, so whatever
    Dapr sends for that occurrence next is a duplicate, not a retry)."""
    return d.cut_off or success(d)


def replica_list(ds: Iterable[Delivery]) -> str:
    return ", ".join(str(r) for r in sorted({d.replica for d in ds}))


@dataclass
class Tally:
    """Mutable figures for one source while it is being judged."""

    occurrences: int = 0
    deliveries: int = 0
    duplicates: int = 0
    retries: int = 0
    missed: int = 0
    early: int = 0
    spurious: int = 0
    lateness_ns: list[int] = field(default_factory=list)
    # (due, its first delivery) per counted occurrence delivered, as two columns (``model.LatenessSamples``)
    lateness_dues: list[int] = field(default_factory=list)
    lateness_firsts: list[Delivery] = field(default_factory=list)
    witnesses: dict[WitnessKind, list[Witness]] = field(default_factory=lambda: defaultdict(list))
    notes: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # reasons the verdict cannot be pass
    undecided: bool = False  # plausible readings disagree on the verdict: unknown, whatever the best one says
    uncounted: dict[str, int] = field(default_factory=dict)  # recorded deliveries not counted, by why

    def witness(self, w: Witness) -> None:
        self.witnesses[w.kind].append(w)

    def late(self, due_ns: int, first: Delivery) -> None:
        self.lateness_ns.append(first.received_ns - due_ns)
        self.lateness_dues.append(due_ns)
        self.lateness_firsts.append(first)

    def chosen_witnesses(self) -> tuple[Witness, ...]:
        if not any(self.witnesses.values()):
            return ()
        queues = [sorted(self.witnesses[k], key=witness_time) for k in _WITNESS_ORDER]
        total = sum(len(q) for q in queues)
        chosen: list[Witness] = []
        depth = 0
        while len(chosen) < min(total, MAX_WITNESSES):
            for q in queues:
                if depth < len(q) and len(chosen) < MAX_WITNESSES:
                    chosen.append(q[depth])
            depth += 1
        if total > len(chosen):
            self.notes.append(f"showing {len(chosen)} of {total} witnesses (the counts are exact)")
        return tuple(sorted(chosen, key=witness_time))

    def result(
        self,
        source: SourceKind,
        name: str,
        policy: Policy,
        inp: CheckInput,
        per_replica: dict[int, int],
    ) -> SourceResult:
        lateness = lateness_of(self.lateness_ns)
        witnessed = self.early + self.spurious + (self.duplicates if policy == "exactly-once" else 0)
        verdict: Verdict = "pass"
        if witnessed + self.missed:
            verdict = "fail"
        if inp.lateness_p99_ms is not None and lateness.p99 is not None and lateness.p99 > inp.lateness_p99_ms:
            verdict = "fail"
            self.notes.append(f"lateness p99 {lateness.p99:.1f} ms is over the {inp.lateness_p99_ms:g} ms threshold")
        if inp.ledger_gaps:
            # A missing record can hide a delivery (so a miss may not be one) but cannot remove one: a duplicate,
            # an early or a spurious delivery stays proven by the records that exist.
            self.unknown.append("the ledger has gaps, so a delivery may be missing: " + "; ".join(inp.ledger_gaps))
            if not witnessed:
                verdict = "unknown"
        if self.undecided:
            verdict = "unknown"
        if verdict == "pass" and self.unknown:
            verdict = "unknown"
        witnesses = self.chosen_witnesses()
        return SourceResult(
            source=source,
            name=name,
            policy=policy,
            replicas=inp.replicas,
            occurrences=self.occurrences,
            deliveries=self.deliveries,
            duplicates=self.duplicates,
            retries=self.retries,
            missed=self.missed,
            early=self.early,
            spurious=self.spurious,
            lateness_ms=lateness,
            per_replica=per_replica,
            side_effects=dict(inp.side_effects.get((source, name), {})),
            verdict=verdict,
            witnesses=witnesses,
            notes=(*self.unknown, *self.notes),
            lateness_samples=_by_due(self.lateness_dues, self.lateness_firsts),
            uncounted=dict(self.uncounted),
        )


def _by_due(dues: list[int], firsts: list[Delivery]) -> LatenessSamples:
    """The samples by due time, then arrival (a stable sort). Usually they come in that order already (a job's by
    due, a binding's replicas of one tick by arrival): then as they are, checked at C speed, without a sort."""
    if all(map(operator.lt, dues, islice(dues, 1, None))):
        return LatenessSamples(dues, firsts)
    keys = list(zip(dues, (d.received_ns for d in firsts), strict=True))
    if all(map(operator.le, keys, islice(keys, 1, None))):  # in order: the stable sort would leave them so
        return LatenessSamples(dues, firsts)
    order = sorted(range(len(dues)), key=keys.__getitem__)
    return LatenessSamples([dues[k] for k in order], [firsts[k] for k in order])


def witness_time(w: Witness) -> int:
    if w.due_ns is not None:
        return w.due_ns
    return w.deliveries[0].received_ns if w.deliveries else 0


def per_replica(ds: Sequence[Delivery], inp: CheckInput) -> dict[int, int]:
    counts = dict.fromkeys(sorted({w.replica for w in inp.windows}), 0)
    counts.update(Counter(map(operator.attrgetter("replica"), ds)))  # counted at C speed (a long run's deliveries)
    return dict(sorted(counts.items()))


def zombies(ds: Sequence[Delivery], inp: CheckInput) -> tuple[list[Delivery], list[tuple[Delivery, str]]]:
    """Split off the deliveries a replica received while it was surely down (``CheckInput.down``: killed, paused,
    or removed by scale): (the rest, [(zombie, why)]). Such a delivery is an anomaly, not a note."""
    if not inp.down:
        return list(ds), []
    kept: list[Delivery] = []
    found: list[tuple[Delivery, str]] = []
    for d in ds:
        tol = inp.early_tolerance_ns  # the app's clock against the harness's: a few ms either way
        cut = next(
            (w for w in inp.down if w.replica == d.replica and w.start_ns + tol < d.received_ns < w.end_ns - tol), None
        )
        if cut is None:
            kept.append(d)
        else:
            found.append(
                (d, f"replica {d.replica} received it while surely down ({iso(cut.start_ns)} to {iso(cut.end_ns)})")
            )
    return kept, found
