"""When a job's plausible readings disagree: say so, with both readings, instead of letting a tie-break decide.

``harness.oracle.matching`` returns the best reading of a job's history and the cheapest reading of every other
signature (duplicates, missed, early, spurious) within its margin. Here: if those readings differ in *verdict*
under the source's policy, the source is ``unknown`` (exit 2); if they agree in verdict but differ in counts, the
verdict stands and the counts are the best reading's. Either way a witness of kind ``ambiguous`` shows the best
reading and each alternative, and the deliveries whose role differs between them. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from harness.model import Delivery, JobPlan, Policy, Verdict, Witness
from harness.oracle.records import Reading, Readings, Signature
from harness.oracle.tally import Tally

SHOWN_ALTERNATIVES = 2
SHOWN_DELIVERIES = 6


def verdict_of(sig: Signature, policy: Policy, extra_spurious: int = 0) -> Verdict:
    """The verdict of a reading with these counts under the policy (the glossary's verdict rule, lateness aside):
    unknown when it fails nothing but leaves a doubtful occurrence (one that may be expected) unanswered."""
    duplicates, missed, early, spurious, doubtful = sig
    anomalies = missed + early + spurious + extra_spurious
    if anomalies + (duplicates if policy == "exactly-once" else 0) > 0:
        return "fail"
    return "unknown" if doubtful else "pass"


def judge_ambiguity(
    tally: Tally,
    job: JobPlan,
    found: Readings,
    occurrences: Sequence[tuple[int, bool]],
    deliveries: Sequence[Delivery],
    pre_spurious: int,
    due_text: Callable[[int], str],
) -> None:
    """Add the ambiguity of ``found`` (if any) to ``tally``: an ``ambiguous`` witness, and ``unknown`` when the
    plausible readings disagree on the verdict. ``pre_spurious``: spurious deliveries every reading shares."""
    if not found.plausible:
        return
    verdicts = {verdict_of(r.signature, job.policy, pre_spurious) for r in (found.best, *found.plausible)}
    split = len(verdicts) > 1
    best = found.best
    shown = found.plausible[:SHOWN_ALTERNATIVES]
    parts = [f"best reading ({best.units} units): {describe(best, due_text)}"]
    differing: list[int] = []
    for alt in shown:
        parts.append(f"also plausible (+{alt.units - best.units}): {describe(alt, due_text)}")
        differing += best.differing(alt)
    if len(found.plausible) > len(shown):
        parts.append(f"and {len(found.plausible) - len(shown)} more")
    picked = sorted(set(differing))[:SHOWN_DELIVERIES]
    witnessed = tuple(deliveries[i] for i in picked)
    first_due = _first_difference(best, shown[0], occurrences)
    tally.witness(Witness("ambiguous", "jobs", job.name, first_due, witnessed, "; ".join(parts)))
    if split:
        tally.undecided = True
        tally.unknown.append(
            "ambiguous: readings that explain the deliveries about equally well (as few units, or one or two more "
            "where the job was disturbed: a stall or a backlog) disagree on the verdict. Dapr sends no occurrence "
            "id, so these deliveries cannot be matched to occurrences by time alone; a fan-out source (one named "
            "one-shot job per occurrence) can"
        )
    else:
        tally.notes.append(
            "ambiguous counts: plausible readings agree on the verdict but not on the counts; the counts shown are "
            "the best reading's (see the ambiguous witness)"
        )


def describe(reading: Reading, due_text: Callable[[int], str]) -> str:
    """The anomalies of a reading in a few words, e.g. '12:00:05.000 missed; 12:00:06.000 delivered twice'."""
    parts: list[str] = []
    missed = reading.missed
    if missed:
        parts.append(_listed([due_text(k) for k in missed], "missed"))
    dups = [r.occurrence for r in reading.roles if r.kind == "extra" and r.extra == "duplicate"]
    if dups:
        parts.append(_listed([due_text(k) for k in dups if k is not None], "delivered again"))
    early = [r.occurrence for r in reading.roles if r.kind == "early"]
    early += [0 for r in reading.roles if r.kind == "extra" and r.extra == "early"]
    if early:
        parts.append(_listed([due_text(k) for k in early if k is not None], "delivered early"))
    spurious = sum(1 for r in reading.roles if r.kind == "extra" and r.extra == "spurious")
    if spurious:
        parts.append(f"{spurious} spurious")
    return ", ".join(parts) if parts else "no anomaly (late, not lost)"


def _listed(items: list[str], what: str) -> str:
    head = ", ".join(items[:3])
    more = f" (+{len(items) - 3} more)" if len(items) > 3 else ""
    return f"{head}{more} {what}"


def _first_difference(best: Reading, alt: Reading, occurrences: Sequence[tuple[int, bool]]) -> int | None:
    """The due time of the first occurrence the two readings treat differently."""
    for a, b in zip(best.roles, alt.roles, strict=True):
        if a != b:
            ks = [k for k in (a.occurrence, b.occurrence, *a.skipped, *b.skipped) if k is not None]
            if ks:
                return occurrences[min(ks)][0]
    ks = sorted(set(best.missed) ^ set(alt.missed))
    return occurrences[ks[0]][0] if ks else None
