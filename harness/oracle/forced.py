"""Where a job's reading is forced: the long on-time stretches the matching search crosses in one step.

``harness.oracle.search`` searches every reading of a job's history, one layer per delivery. Most of a long
run's history is *plain*: each delivery answered 2xx, came after the previous one's answer, and is pinned to its own
due (the job idle then, the arrival within the pin window: ``harness.oracle.search``), that occurrence counted,
certain and not doubtful, and the next delivery pinned to the next occurrence. On a plain delivery the reading that
takes it as the first attempt of its pinned occurrence pays nothing; every other role costs at least a unit there
(a re-send or a spurious delivery: the anomaly; an early fire: the anomaly; the first attempt of an older occurrence:
the coincidence; catching up: a counted occurrence lost), and leaving that reading costs two (the anomaly plus a
coincidence, or plus the lost occurrence an early fire skips). So a reading that leaves it inside a plain run and
comes back costs three units more than one that does not, and one that keeps away pays a unit per delivery: none is
ever within the two units of the best that a plausible rival may be (``records.DISTURBED_MARGIN``).

Hence the search crosses the middle of each long plain run, ``EDGE`` deliveries in from either end, in one step:
every node whose first open occurrence is the one the stretch starts at reads each delivery of it as that on-time
first attempt; the nodes elsewhere are dropped. The ``EDGE`` deliveries on each side are searched as ever, so what
happens next to a disturbance (a lost occurrence plus a re-send of its neighbour, a backlog catching up) is read
in full. A history without a plain run of ``2 * EDGE + LEAST`` deliveries is searched exactly as before. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

# plain deliveries searched in full at either end of a plain run: 2 held on every test set and 0 did not (186 of
# 3,000 histories changed); kept at twice the least that held, for a margin the argument above does not need
EDGE = 4
LEAST = 4  # the shortest stretch worth crossing in one step
# a rough pass (``harness.oracle.matching``) needs only some complete reading's units, a bound for the full one: it
# crosses more of each plain run (a looser bound at worst, never a changed reading). At 1,000,000 deliveries: 2 searched
# 21,399 layers, 1 searches 14,590 and bounds the full pass as tightly (58,653 states either way); 0 leaves a node
# next to a disturbance off the pinned state, so most stretches cannot be crossed (68,083 layers)
ROUGH_EDGE = 1

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def forced_stretches(
    pins: Sequence[int | None] | Ints,
    plain: Sequence[bool] | Bools,
    edge: int = EDGE,
    least: int = LEAST,
) -> list[tuple[int, int]]:
    """The stretches [a, b) of deliveries the search may cross in one step, in order.

    ``pins[i]``: the occurrence delivery i is pinned to (None, or -1 in an array: none); ``plain[i]``: it is plain
    (see above). A plain run is a maximal range of plain deliveries pinned to consecutive occurrences; its stretch
    is the run less ``edge`` deliveries at each end, when at least ``least`` remain.
    """
    n = len(pins)
    if n < 2 * edge + least:
        return []  # no run long enough
    pin = pins if isinstance(pins, np.ndarray) else np.array([-1 if k is None else k for k in pins], dtype=np.int64)
    flat = np.asarray(plain, dtype=np.bool_)
    # delivery i (i >= 1) goes on with the run of i - 1: both plain (so pinned), on consecutive occurrences
    goes_on = flat[1:] & flat[:-1] & (pin[1:] == pin[:-1] + 1)
    starts = np.concatenate(([0], np.flatnonzero(~goes_on) + 1))
    ends = np.concatenate((starts[1:], [n]))
    kept = flat[starts] & ((ends - edge) - (starts + edge) >= least)
    return list(zip((starts[kept] + edge).tolist(), (ends[kept] - edge).tolist(), strict=True))
