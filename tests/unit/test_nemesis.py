"""The fault timeline (with a FAKE nemesis that only records what it is asked), the replica windows, and the daprd
the runner deletes jobs through (a FAKE cluster)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from harness.cluster.local.cluster import LocalCluster
from harness.cluster.local.members import ReplicaMember
from harness.model import ReplicaWindow
from harness.nemesis import FaultHandle, run_timeline
from harness.run.runner import replica_windows
from harness.scenario.schema import FaultSpec


class FakeNemesis:
    def __init__(self, fail_on_inject: int | None = None) -> None:
        self.calls: list[tuple[str, int]] = []
        self.fail_on_inject = fail_on_inject

    def inject(self, index: int, spec: FaultSpec) -> FaultHandle:
        if index == self.fail_on_inject:
            raise RuntimeError("inject failed")
        self.calls.append(("inject", index))
        heal = spec.heal_after.total_seconds() if spec.heal_after is not None else None
        return FaultHandle(index, spec.kind, 0, spec.part, spec.signal, 0, heal)

    def heal(self, handle: FaultHandle) -> None:
        self.calls.append(("heal", handle.index))
        handle.healed_ns = 1


def spec(at: float, heal: float | None = None, kind: str = "pause") -> FaultSpec:
    return FaultSpec.model_validate({"at": at, "kind": kind, "heal_after": heal})


def no_wait(_label: str, _seconds: float) -> None:
    pass


def test_faults_are_injected_and_healed_in_time_order() -> None:
    fake = FakeNemesis()
    handles = run_timeline(fake, [spec(2, 5), spec(1, 0.5), spec(3)], 10, no_wait)  # type: ignore[arg-type]
    assert fake.calls == [("inject", 1), ("heal", 1), ("inject", 0), ("inject", 2), ("heal", 0)]
    assert [h.index for h in handles] == [1, 0, 2]


def test_open_faults_are_healed_when_the_timeline_fails() -> None:
    fake = FakeNemesis(fail_on_inject=1)
    with pytest.raises(RuntimeError, match="inject failed"):
        run_timeline(fake, [spec(1, 30), spec(2, 30)], 10, no_wait)  # type: ignore[arg-type]
    assert fake.calls == [("inject", 0), ("heal", 0)]


def test_replica_windows_leave_out_the_time_a_replica_was_down() -> None:
    down = FaultHandle(0, "kill", 1, "daprd", "KILL", injected_ns=40, heal_due_s=1.0, healed_ns=60)
    other = FaultHandle(1, "scheduler-kill", 1, "both", "KILL", injected_ns=10, heal_due_s=None)
    windows = replica_windows([0, 1], 0, 100, [down, other])
    assert windows == [ReplicaWindow(0, 0, 100), ReplicaWindow(1, 0, 40), ReplicaWindow(1, 60, 100)]


def test_replica_windows_follow_scale_ups_and_downs() -> None:
    lifetimes = {0: (0, 70), 1: (30, None)}  # replica 0 removed at 70; replica 1 added, ready at 30
    assert replica_windows([0, 1, 2], 10, 100, [], lifetimes) == [
        ReplicaWindow(0, 10, 70),
        ReplicaWindow(1, 30, 100),
        ReplicaWindow(2, 10, 100),
    ]


def test_jobs_are_deleted_through_a_daprd_that_is_still_up() -> None:
    """A kill without heal may take replica 0's daprd for good; the delete at the end must not go there."""

    class FakeChild:  # a FAKE supervised process
        def __init__(self, alive: bool, paused: bool = False) -> None:
            self._alive, self.paused = alive, paused

        def alive(self) -> bool:
            return self._alive

    replicas = {i: ReplicaMember(i, 1, 2, 3, 4, 5) for i in range(3)}
    children = {"daprd-0": FakeChild(False), "daprd-1": FakeChild(True, paused=True), "daprd-2": FakeChild(True)}
    cluster = SimpleNamespace(replicas=replicas, supervisor=SimpleNamespace(children=children))
    assert LocalCluster.live_replica(cast(Any, cluster)) is replicas[2]
    children["daprd-2"] = FakeChild(False)
    assert LocalCluster.live_replica(cast(Any, cluster)) is None
