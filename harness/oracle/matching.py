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

from collections.abc import Sequence

from harness.oracle.records import (
    DISTURBED_MARGIN,
    MARGIN,
    Arrival,
    Classify,
    Cost,
    Occurrence,
    Reading,
    Readings,
    Signature,
    State,
)
from harness.oracle.search import _Search

ROUGH_FROM = 2  # deliveries from which a rough pass bounds the full one (one delivery: one layer, nothing to bound)


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
    than that bound plus the margin can never be plausible, since units only grow), which keeps it fast. With one
    delivery (a one-shot job's usual history) there is one layer: the nodes a bound would drop are dearer than every
    plausible one and come after them, so they change no reading; that pass is skipped.
    """
    search = _Search(occurrences, arrivals, tolerance_ns, max_attempts, retry_interval_ns, classify, idle_from)
    bound = None
    if len(arrivals) >= ROUGH_FROM:
        rough = search.finals(search.run(0, 4, None, rough=True))
        bound = rough[0][0][0] + DISTURBED_MARGIN
    finals = search.finals(search.run(DISTURBED_MARGIN, beam, bound))
    best_units = finals[0][0][0]
    chosen: dict[Signature, tuple[Cost, Signature, State, tuple[int, ...]]] = {}
    for f in finals:
        if f[0][0] <= best_units + DISTURBED_MARGIN and f[1] not in chosen:
            chosen[f[1]] = f
    built = [search.reading(f[2], f[1], f[3], f[0][0]) for f in chosen.values()]
    best = built[0]
    disturbed = search.disturbed(best) if len(built) > 1 else set()  # only a rival is judged by it

    def plausible_rival(r: Reading) -> bool:
        differ = best.differing(r)
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
