"""Fold each fan-out's members, judged one by one by the checker, into one row per fan-out source.

``fold(result, scenario, operations)`` keeps every other source as it is and puts the fan-out's row where its first
member was (scenario order). The row, source ``jobs`` and the fan-out's name:

* occurrences, deliveries, duplicates, retries, missed, early, spurious, per-replica deliveries and side effects:
  the members' summed (each member is one occurrence, so nothing is matched by time);
* lateness: the percentiles over every member's sample (``lateness_samples`` is their union, for lateness.csv);
* witnesses: the members', each note starting with its member's name, at most ``MAX_WITNESSES`` shared
  round-robin among kinds as the checker does (the counts stay exact);
* notes: what the fan-out was, whether every member was created before the first was due, then the members'
  own notes, each naming its members (equal notes once);
* verdict: the worst member's, except for ``expect.lateness_p99_ms``: a member's p99 is its one delivery's
  lateness, so the threshold is applied to the fan-out's p99 instead, as for any other source.

The run's verdict is recomputed only as far as the fold changes it: worst of the sources and actions, and never
better than what the checker said beyond those.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace

from harness.model import VERDICT_RANK, JobPlan, Operation, SourceResult, Verdict, Witness
from harness.oracle.check import MAX_WITNESSES, CheckResult, lateness_of
from harness.oracle.times import ScheduleError, parse_due_time
from harness.scenario.schema import JobSource, Scenario, format_duration

__all__ = ["fold"]

KIND_ORDER = ("ambiguous", "early", "spurious", "missed", "duplicate", "retry")
COUNTS = ("occurrences", "deliveries", "duplicates", "retries", "missed", "early", "spurious")
MAX_NOTES = 12
_THRESHOLD = re.compile(r"lateness p99 [\d.]+ ms is over the [\d.]+ ms threshold")


def fold(
    result: CheckResult, scenario: Scenario, operations: Sequence[Operation], plans: Sequence[JobPlan]
) -> CheckResult:
    """``result`` with each fan-out's member rows folded into one; ``plans``: the plans the checker judged."""
    fans = {source.name: source for source in scenario.fanouts}
    if not fans:
        return result
    owner = {m: name for name, source in fans.items() if source.fanout for m in source.fanout.members(name)}
    rows: dict[str, list[SourceResult]] = defaultdict(list)
    order: list[SourceResult | str] = []
    for s in result.sources:
        key = owner.get(s.name) if s.source == "jobs" else None
        if key is None:
            order.append(s)
            continue
        if key not in rows:
            order.append(key)
        rows[key].append(s)
    dues = {p.name: p.due_time for p in plans if p.name in owner}
    threshold = scenario.expect.lateness_p99_ms
    folded = {key: _fold(fans[key], members, operations, dues, threshold) for key, members in rows.items()}
    sources = tuple(folded[x] if isinstance(x, str) else x for x in order)
    actions = [a.verdict for a in result.actions]
    beyond = (
        result.verdict
        if _rank(result.verdict) > _rank(_worst([*(s.verdict for s in result.sources), *actions]))
        else "pass"
    )
    verdict = _worst([*(s.verdict for s in sources), *actions, beyond])
    return replace(result, sources=sources, verdict=verdict)


def _fold(
    source: JobSource,
    members: list[SourceResult],
    operations: Sequence[Operation],
    dues: dict[str, str | None],
    threshold: float | None,
) -> SourceResult:
    first = members[0]
    totals = {key: sum(getattr(m, key) for m in members) for key in COUNTS}
    samples = tuple(sorted((s for m in members for s in m.lateness_samples), key=lambda x: (x[0], x[1].received_ns)))
    lateness = lateness_of(d.received_ns - due for due, d in samples)
    per_replica: Counter[int] = Counter()
    effects: Counter[str] = Counter()
    for m in members:
        per_replica.update(m.per_replica)
        effects.update(m.side_effects)
    notes = [_headline(source, members)]
    notes += _creation(source, operations, dues)
    over = threshold is not None and lateness.p99 is not None and lateness.p99 > threshold
    if over:
        notes.append(f"lateness p99 {lateness.p99:.1f} ms is over the {threshold:g} ms threshold")
    witnesses, shown_note = _witnesses(members)
    notes += _member_notes(members) + shown_note
    anomalies = totals["missed"] + totals["early"] + totals["spurious"]
    anomalies += totals["duplicates"] if first.policy == "exactly-once" else 0
    verdict: Verdict = "fail" if anomalies or over else _worst([_relaxed(m) for m in members])
    return replace(
        first,
        name=source.name,
        lateness_ms=lateness,
        per_replica=dict(sorted(per_replica.items())),
        side_effects=dict(sorted(effects.items())),
        verdict=verdict,
        witnesses=witnesses,
        notes=tuple(notes),
        lateness_samples=samples,
        **totals,
    )


def _headline(source: JobSource, members: list[SourceResult]) -> str:
    assert source.fanout is not None
    names = members[0].name if len(members) == 1 else f"{members[0].name}…{members[-1].name.rsplit('-', 1)[1]}"
    jobs = "1 one-shot job" if len(members) == 1 else f"{len(members)} one-shot jobs"
    return (
        f"fan-out: {jobs} {names} every {format_duration(source.fanout.every)}; each delivery matched by its job name"
    )


def _creation(source: JobSource, operations: Sequence[Operation], dues: dict[str, str | None]) -> list[str]:
    """Whether every member existed before the first was due (from the recorded calls and bodies)."""
    assert source.fanout is not None
    members = source.fanout.members(source.name)
    wanted = set(members)
    try:
        due = {m: parse_due_time(t, 0) for m, t in dues.items() if t is not None and m in wanted}
    except ScheduleError:
        return []
    created: dict[str, int] = {}
    for op in operations:
        if op.kind == "schedule" and op.name in wanted and op.phase in ("ok", "info"):
            created[op.name] = min(created.get(op.name, op.at_ns), op.at_ns)
    if members[0] not in due or not created:
        return []
    first_due = due[members[0]]
    after = sorted(m for m, at in created.items() if at > first_due)
    own = [m for m in after if m in due and created[m] > due[m]]
    last = max(created.values())
    if not after:
        return [f"all {len(created)} created before {members[0]} was due ({(first_due - last) / 1e9:.2f} s before)"]
    return [
        f"{len(after)} of {len(created)} created after {members[0]} was due (the last {(last - first_due) / 1e9:.2f} "
        f"s after; fanout.start {format_duration(source.fanout.first_due)} was too short here)"
        + (f"; {len(own)} after their own due time, so their lateness includes the wait" if own else "")
    ]


def _witnesses(members: list[SourceResult]) -> tuple[tuple[Witness, ...], list[str]]:
    every = [replace(w, note=f"{w.name}: {w.note}" if w.note else w.name) for m in members for w in m.witnesses]
    queues = [sorted((w for w in every if w.kind == kind), key=_when) for kind in KIND_ORDER]
    chosen: list[Witness] = []
    depth = 0
    while len(chosen) < min(len(every), MAX_WITNESSES):
        for queue in queues:
            if depth < len(queue) and len(chosen) < MAX_WITNESSES:
                chosen.append(queue[depth])
        depth += 1
    shown = (
        [] if len(chosen) == len(every) else [f"showing {len(chosen)} of {len(every)} witnesses (the counts are exact)"]
    )
    return tuple(sorted(chosen, key=_when)), shown


def _when(w: Witness) -> int:
    if w.due_ns is not None:
        return w.due_ns
    return w.deliveries[0].received_ns if w.deliveries else 0


def _member_notes(members: list[SourceResult]) -> list[str]:
    """The members' notes, each once, naming the members that have it; a threshold note is the fold's to make."""
    said: dict[str, list[str]] = {}
    for m in members:
        for note in m.notes:
            if not _THRESHOLD.fullmatch(note) and not note.startswith("showing "):
                said.setdefault(note, []).append(m.name)
    lines = [f"{_names(names)}: {note}" for note, names in said.items()]
    if len(lines) > MAX_NOTES:
        lines = [*lines[:MAX_NOTES], f"… and {len(lines) - MAX_NOTES} more member notes"]
    return lines


def _names(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 3 else f"{len(names)} members ({names[0]}, {names[1]}, …)"


def _relaxed(m: SourceResult) -> Verdict:
    """A member's verdict without the lateness threshold (its p99 is its one delivery's lateness)."""
    anomalies = m.missed + m.early + m.spurious + (m.duplicates if m.policy == "exactly-once" else 0)
    if m.verdict == "fail" and not anomalies and any(_THRESHOLD.fullmatch(n) for n in m.notes):
        return "pass"
    return m.verdict


def _rank(v: Verdict) -> int:
    return VERDICT_RANK[v]


def _worst(verdicts: Sequence[Verdict]) -> Verdict:
    return max(verdicts, key=_rank, default="pass")
