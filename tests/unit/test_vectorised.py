"""The checker's numpy columns change no result: every history below is judged with numpy for every column (from one
element on) and for none (lists throughout), and the two results must be equal. Long columns are computed with
numpy in a real check (``records.VECTOR_FROM``), short ones as lists; this runs both ways on the same evidence."""

from __future__ import annotations

import random

import pytest

from benchmarks.histories import POLICIES, generate
from benchmarks.run_history import run_history
from harness.model import NS, Delivery, JobPlan, Operation, ReplicaWindow
from harness.oracle import bindings, context, due_windows, fire_times, overwrites, tally
from harness.oracle.check import CheckInput, CheckResult, check
from harness.oracle.due_windows import Occs, narrow
from harness.oracle.records import ArrivalTable, Reading, first_attempts

MS = 1_000_000
T0 = 1_767_225_600 * NS  # 2026-01-01T00:00:00Z


def both_ways(inp: CheckInput, monkeypatch: pytest.MonkeyPatch) -> tuple[CheckResult, CheckResult]:
    """(judged with lists only, judged with numpy for every column)."""
    results = []
    for vector_from in (1 << 62, 1):
        for module in (bindings, context, due_windows, fire_times, overwrites, tally):
            monkeypatch.setattr(module, "VECTOR_FROM", vector_from)
        results.append(check(inp))
    return results[0], results[1]


@pytest.mark.parametrize("seed", range(0, 400, 10))
def test_generated_histories(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    h = generate(seed)
    for policy in POLICIES:
        listed, vectorised = both_ways(h.input_for(policy), monkeypatch)
        assert vectorised == listed


@pytest.mark.parametrize(("seed", "trouble_every", "slow_share"), [(0, 40, 0.3), (1, 100, 0.0), (2, 400, 0.5)])
def test_runs_with_trouble(seed: int, trouble_every: int, slow_share: float, monkeypatch: pytest.MonkeyPatch) -> None:
    inp, _ = run_history(3000, seed, trouble_every=trouble_every, slow_share=slow_share)
    listed, vectorised = both_ways(inp, monkeypatch)
    assert vectorised == listed
    assert listed.verdict != "pass"  # trouble was found: the comparison is not of two clean readings


def test_a_long_job_overwritten_mid_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """@every 100ms whose schedule call took 30 ms (every due uncertain within it), re-scheduled at 30 s as @every
    200ms (a second plan span); on-time deliveries with some jitter, a lost one and a duplicate in each span."""
    old, new = JobPlan("tick", "@every 100ms"), JobPlan("tick", "@every 200ms")
    ops = [
        Operation("a", "schedule", "tick", "invoke", T0),
        Operation("a", "schedule", "tick", "ok", T0 + 30 * MS, {"status": 204}),
        Operation("b", "schedule", "tick", "invoke", T0 + 30 * NS + 50 * MS),
        Operation("b", "schedule", "tick", "ok", T0 + 30 * NS + 60 * MS, {"status": 204}),
    ]
    dues = [T0 + 12 * MS + k * 100 * MS for k in range(1, 300)]  # created 12 ms into the call
    dues += [T0 + 30 * NS + 55 * MS + k * 200 * MS for k in range(1, 140)]
    deliveries: list[Delivery] = []
    for k, due in enumerate(dues):
        if k in (40, 350):
            continue  # lost
        at = due + (k * 7919 % 9) * MS
        deliveries.append(Delivery(f"d{k}", "jobs", "tick", k % 3, at, 200, answered_ns=at + 3 * MS))
        if k in (100, 380):
            deliveries.append(Delivery(f"x{k}", "jobs", "tick", 1, at + 20 * MS, 200, answered_ns=at + 22 * MS))
    inp = CheckInput(
        jobs=[old],
        bindings=[],
        deliveries=deliveries,
        operations=ops,
        windows=[ReplicaWindow(r, T0 - NS, T0 + 70 * NS) for r in range(3)],
        observe_start_ns=T0,
        observe_end_ns=T0 + 58 * NS,
        replicas=3,
        op_plans={"b": new},
    )
    listed, vectorised = both_ways(inp, monkeypatch)
    assert vectorised == listed
    (source,) = listed.sources
    assert any("overwritten at" in note for note in source.notes)
    assert (source.duplicates, source.missed) == (2, 2)


@pytest.mark.parametrize("seed", range(30))
def test_narrowing_by_a_crossed_stretch(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reading that crosses every delivery as the first attempt of its occurrence, over two plan spans whose dues
    are uncertain within their schedule calls: both ways narrow the windows to the same latest dues."""
    rng = random.Random(seed)
    n = rng.randint(1, 600)
    cut = rng.choice((0, n, rng.randint(0, n)))  # where the second span starts (0, n: one span)
    due = [T0 + k * 100 * MS for k in range(n)]
    window = [rng.choice((0, 0, 3 * MS, 30 * MS)) for _ in range(2)]
    rows = [(d, int(k >= cut), True, d + window[int(k >= cut)]) for k, d in enumerate(due)]
    received = [d + rng.randint(-2 * MS, 40 * MS) for d in due]
    arrivals = ArrivalTable(received, [r + MS for r in received], ["success"] * n, [False] * n)
    best = Reading(tuple(first_attempts(0, n)), (), 0, (0, 0, 0, 0, 0), forced=((0, n),))
    narrowed = []
    for vector_from in (1 << 62, 1):
        monkeypatch.setattr(due_windows, "VECTOR_FROM", vector_from)
        occ = Occs.planned(rows)
        moved = narrow(occ, best, arrivals, 5 * MS)
        narrowed.append((moved, occ.latest))
    assert narrowed[0] == narrowed[1]


@pytest.mark.parametrize("seed", range(40))
def test_narrowing_and_path_delays_both_ways(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reading of first attempts, some crossed in stretches, some alone, over plan spans whose due windows differ
    from one occurrence to the next; arrivals on a delayed path at times, answers landing just before, at and just
    after the next due (within the tolerance, where the job still counts as idle): both ways narrow the windows and
    find the same path delays."""
    from harness.oracle.due_windows import path_delays

    rng = random.Random(seed)
    n = rng.randint(2, 300)
    tol = 5 * MS
    cut = rng.choice((0, n, rng.randint(0, n)))
    due = [T0 + k * 100 * MS for k in range(n)]
    rows = [(d, int(k >= cut), True, d + rng.choice((0, 2 * MS, 3 * MS, 30 * MS))) for k, d in enumerate(due)]
    delay = [rng.choice((0, 0, 20 * MS, 21 * MS, 40 * MS)) for _ in range(n)]
    received = [d + delay[k] + rng.randint(-2 * MS, 3 * MS) for k, d in enumerate(due)]
    answered: list[int | None] = [
        min(due[k + 1] + rng.choice((-MS, 0, 2 * MS, tol, tol + MS)), received[k + 1] - MS) if k + 1 < n else r + MS
        for k, r in enumerate(received)
    ]
    arrivals = ArrivalTable(received, answered, ["success"] * n, [False] * n)
    stretches, a = [], 0
    while a < n:
        b = min(n, a + rng.randint(1, 40))
        if b - a >= 2 and rng.random() < 0.6:
            stretches.append((a, b))
        a = b
    best = Reading(tuple(first_attempts(0, n)), (), 0, (0, 0, 0, 0, 0), forced=tuple(stretches))
    found = []
    for vector_from in (1 << 62, 1):
        monkeypatch.setattr(due_windows, "VECTOR_FROM", vector_from)
        occ = Occs.planned(rows)
        moved = narrow(occ, best, arrivals, tol)
        found.append((moved, occ.latest, path_delays(occ, best, arrivals, T0 - 50 * MS, tol)))
    assert found[0] == found[1]


def test_a_jobs_columns_are_made_once_per_list_and_again_when_it_grows() -> None:
    from harness.oracle.records import Columns

    columns = Columns()
    due = [T0 + k * MS for k in range(300)]
    first = columns(due)
    assert columns(due) is first  # the same list: the same column
    assert columns(list(due)) is not first  # an equal list, another object: made for it
    due.append(T0 + NS)  # (Occs.add appends a due past the horizon)
    grown = columns(due)
    assert grown is not first and grown.tolist() == due
