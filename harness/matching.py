"""Which job occurrences were skipped: the one choice the jobs oracle cannot make delivery by delivery.

The jobs oracle (``harness.checker``) walks a job's deliveries in received order and gives each to the earliest
open occurrence that is due (go-etcd-cron delivers one job's triggers strictly in sequence). The walk is
deterministic except at one point: a delivery arrives when *several* occurrences are due and none has had an
attempt. Either the scheduler is catching up (the delivery answers the oldest one, the rest follow back to back) or
a trigger was lost (the delivery answers a later one, the older ones are *missed*). Which one it was shows only in
what comes after, and a catch-up burst after a long stall can run past the next due time (measured on Dapr 1.18.2
with one of three scheduler members killed: 18 s of silence, then 18 deliveries of one job in 110 ms, and on a
busy machine longer).

``choose_skips`` decides every such point at once, by the reading of the whole history that Dapr's delivery
model makes most plausible. Its cost counts, per reading: anomalies (counted occurrences left without an attempt,
deliveries that answer no open occurrence) plus *idle waits*: a first attempt that came more than half a period
after the later of its due time and the previous delivery. go-etcd-cron fires a due trigger as soon as the previous
one is answered, so a reading in which the scheduler sat on a due trigger for a long while, delivery after
delivery, is implausible: that is how "every later occurrence a period late" looks after a lost trigger. A stall
costs one idle wait however it is read, and a burst that answers every stalled occurrence costs nothing more, so it
is read as late, not missed, however long it runs. Ties go to the lower total lateness.

What the data cannot tell apart stays ambiguous: a single delivery, the last of a history, that lands on the next
due time could be the stalled occurrence arriving late or the next one arriving on time after a loss; the
lower-lateness reading (a miss) is taken.

It is a shortest-path search over states (next open occurrence, failed attempts on it), one layer per delivery;
states that reach the same place keep the cheaper history, and each layer keeps the ``beam`` cheapest, which
bounds the cost on pathological histories without changing any ordinary answer.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

Cost = tuple[int, int]  # (anomalies + idle waits, total lateness in ns)
State = tuple[int, int]  # (index of the first open occurrence, failed attempts on it)


@dataclass(frozen=True)
class _Step:
    cost: Cost
    parent: State | None
    skip: int  # occurrences taken as missed at this delivery


def choose_skips(
    dues: Sequence[int],
    counted: Sequence[bool],
    received: Sequence[int],
    success: Sequence[bool],
    tolerance_ns: int,
    max_attempts: int | None,
    beam: int = 256,
) -> dict[int, int]:
    """Map delivery index -> how many of the oldest due occurrences to take as missed before it (only non-zero).

    ``dues`` and ``received`` are sorted; ``counted[k]`` says occurrence k is expected; ``success[i]`` says
    delivery i closed its occurrence (2xx or 404). ``max_attempts`` is the failure policy's (None: retry forever).
    """
    n = len(dues)
    if not received:
        return {}
    half_period = [(dues[k] - dues[k - 1]) // 2 for k in range(1, n)]
    half_period.insert(0, half_period[0] if half_period else 2**62)
    layers: list[dict[State, _Step]] = [{(0, 0): _Step((0, 0), None, 0)}]
    previous: int | None = None
    for r, ok in zip(received, success, strict=True):
        nxt: dict[State, _Step] = {}
        last_due = bisect.bisect_right(dues, r + tolerance_ns) - 1
        for (cur, failures), step in layers[-1].items():
            anomalies, lateness = step.cost
            if cur < n and failures > 0:  # the open occurrence is being retried
                _offer(nxt, _after(cur, failures, ok, max_attempts), _Step(step.cost, (cur, failures), 0))
            elif cur < n and last_due >= cur:
                for skip in range(last_due - cur + 1):
                    k = cur + skip
                    idle = r - (dues[k] if previous is None else max(previous, dues[k]))
                    cost = (anomalies + skip + (idle > half_period[k]), lateness + r - dues[k])
                    _offer(nxt, _after(k, 0, ok, max_attempts), _Step(cost, (cur, failures), skip))
            else:  # answers no open occurrence: a duplicate, early or spurious whichever way it is named
                _offer(nxt, (cur, failures), _Step((anomalies + 1, lateness), (cur, failures), 0))
        if len(nxt) > beam:
            nxt = dict(sorted(nxt.items(), key=lambda item: item[1].cost)[:beam])
        layers.append(nxt)
        previous = r

    def final(state: State, step: _Step) -> Cost:
        cur, failures = state
        first_unattempted = cur + 1 if failures else cur
        unanswered = sum(1 for k in range(first_unattempted, n) if counted[k])
        return (step.cost[0] + unanswered, step.cost[1])

    state: State | None = min(layers[-1].items(), key=lambda item: final(*item))[0]
    skips: dict[int, int] = {}
    for i in range(len(received), 0, -1):
        assert state is not None
        step = layers[i][state]
        if step.skip:
            skips[i - 1] = step.skip
        state = step.parent
    return skips


def _offer(layer: dict[State, _Step], state: State, step: _Step) -> None:
    held = layer.get(state)
    if held is None or step.cost < held.cost:
        layer[state] = step


def _after(k: int, failures: int, ok: bool, max_attempts: int | None) -> State:
    """The state after an attempt on occurrence k that already had ``failures`` failed attempts."""
    if ok:
        return (k + 1, 0)
    failures += 1
    if max_attempts is not None and failures >= max_attempts:
        return (k + 1, 0)
    return (k, failures)
