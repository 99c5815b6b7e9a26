"""Forced stretches: where the matching search may cross a long on-time run in one step, and that doing so changes
no reading (the same readings as a search of every layer, on long histories with trouble in them)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

import pytest

from harness.oracle import context
from harness.oracle.forced import EDGE, Bools, Ints, forced_stretches
from harness.oracle.matching import readings
from harness.oracle.records import Arrival, ExtraKind, Occurrence, Readings

P = 1_000_000_000
MS = 1_000_000


def test_a_long_plain_run_is_crossed_but_its_edges() -> None:
    pins = list(range(40))
    assert forced_stretches(pins, [True] * 40, edge=8, least=16) == [(8, 32)]


def test_a_run_too_short_for_its_edges_is_not_crossed() -> None:
    pins = list(range(31))
    assert forced_stretches(pins, [True] * 31, edge=8, least=16) == []
    assert forced_stretches(list(range(32)), [True] * 32, edge=8, least=16) == [(8, 24)]


def test_a_delivery_that_is_not_plain_or_skips_an_occurrence_ends_a_run() -> None:
    plain = [True] * 100
    plain[50] = False
    assert forced_stretches(list(range(100)), plain, edge=2, least=4) == [(2, 48), (53, 98)]
    pins: list[int | None] = [*range(30), *range(31, 61)]  # occurrence 30 lost: two runs
    assert forced_stretches(pins, [True] * 60, edge=2, least=4) == [(2, 28), (32, 58)]
    pins = [*range(30), None, *range(31, 60)]
    assert forced_stretches(pins, [True] * 30 + [False] + [True] * 29, edge=2, least=4) == [(2, 28), (33, 58)]


def test_no_delivery_no_stretch() -> None:
    assert forced_stretches([], []) == []
    assert forced_stretches([0], [True]) == []


def runs_one_by_one(pins: list[int | None], plain: list[bool], edge: int, least: int) -> list[tuple[int, int]]:
    """The definition, a delivery at a time: maximal runs of plain deliveries on consecutive occurrences."""
    out, start = [], 0
    for i in range(1, len(pins) + 1):
        here, before = (pins[i] if i < len(pins) else None), pins[i - 1]
        if (
            i < len(pins)
            and plain[start]
            and plain[i]
            and here is not None
            and before is not None
            and here == before + 1
        ):
            continue
        if plain[start] and (i - edge) - (start + edge) >= least:
            out.append((start + edge, i - edge))
        start = i
    return out


@pytest.mark.parametrize("seed", range(40))
def test_the_stretches_are_the_runs_taken_one_by_one(seed: int) -> None:
    rng = random.Random(seed)
    pins: list[int | None] = []
    k = 0
    for _ in range(rng.randint(0, 400)):
        k += rng.choice((1, 1, 1, 1, 1, 1, 2, 0))
        pins.append(None if rng.random() < 0.03 else k)
    plain = [p is not None and rng.random() > 0.04 for p in pins]
    edge, least = rng.choice(((4, 4), (2, 4), (0, 1), (8, 16)))
    assert forced_stretches(pins, plain, edge, least) == runs_one_by_one(pins, plain, edge, least)


def duplicate(_i: int, _cur: int) -> tuple[ExtraKind, ...]:
    return ("duplicate",)


def history(seed: int, n: int) -> tuple[list[Occurrence], list[Arrival]]:
    """An @every 1 s job: on time, with a lost occurrence, a re-send, a failed attempt retried, a stall and a
    cut-off delivery now and then."""
    rng = random.Random(seed)
    occ = [Occurrence(k * P, True, P // 2) for k in range(1, n + 1)]
    arrivals: list[Arrival] = []
    free = 0
    for o in occ:
        trouble = rng.random()
        if trouble < 0.006:
            continue  # lost
        sent = max(o.due, free) + rng.randint(1, 3) * MS + (rng.randint(2, 4) * P if trouble > 0.995 else 0)
        if trouble < 0.012:
            arrivals.append(Arrival(sent, sent + 5 * MS, "failure"))
            sent = max(sent + 10 * MS, o.due + 300 * MS)
        if 0.012 <= trouble < 0.018:
            arrivals.append(Arrival(sent, None, "cut"))
            sent += 20 * MS
        answered = sent + rng.randint(2, 30) * MS
        arrivals.append(Arrival(sent, answered, "success"))
        free = answered
        if 0.018 <= trouble < 0.026:
            arrivals.append(Arrival(answered + 20 * MS, answered + 40 * MS, "success"))  # re-sent
            free = answered + 40 * MS
    return occ, arrivals


def read(occ: list[Occurrence], arrivals: list[Arrival]) -> Readings:
    return readings(occ, arrivals, tolerance_ns=5 * MS, max_attempts=4, retry_interval_ns=300 * MS,
                    classify=duplicate, idle_from=0)  # fmt: skip


def unforced(found: Readings) -> Readings:
    """The same readings, as a search of every layer gives them (which stretches were crossed left out)."""
    return Readings(replace(found.best, forced=()), tuple(replace(r, forced=()) for r in found.plausible))


@pytest.mark.parametrize("seed", range(6))
def test_crossing_forced_stretches_changes_no_reading(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    occ, arrivals = history(seed, 600)
    crossed: list[tuple[int, int]] = []

    def spy(
        pins: Sequence[int | None] | Ints, plain: Sequence[bool] | Bools, edge: int = EDGE
    ) -> list[tuple[int, int]]:
        stretches = forced_stretches(pins, plain, edge)
        if edge == EDGE:  # the full pass's (a rough pass crosses more: it only bounds the full one)
            crossed.extend(stretches)
        return stretches

    monkeypatch.setattr(context, "forced_stretches", spy)
    fast = read(occ, arrivals)
    assert sum(b - a for a, b in crossed) > 100  # a good part of it crossed in one step
    monkeypatch.setattr(context, "forced_stretches", lambda *_: [])
    assert read(occ, arrivals) == unforced(fast)
    assert fast.best.forced  # and says which it crossed
    assert sum(fast.best.signature) > 0  # the trouble is read as trouble
