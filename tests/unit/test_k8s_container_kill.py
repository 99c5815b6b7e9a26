"""A container kill on Kubernetes is not a replica down until its heal: the kubelet starts the container again
before the kill returns. Built from the run that exposed it: scenarios/replica-churn.yaml on real pods (Dapr
1.18.2, 2026-12-01; tests/unit/fixtures/runs/k8s-replica-churn-1.18.2, its stage-1 files).

What happened: fault #2 SIGKILLed replica 4's daprd at 06:47:50.270; the kill waited until kubelet had restarted
the container (restart count rose, 06:47:51.003) and the harness then recorded replica 4 as *surely down* until its
heal (06:47:53.006): the restarted daprd's three deliveries at 06:47:52.2 were judged zombies (spurious) and their
occurrences missed, a FAIL of every job with no anomaly in Dapr. The heal itself SIGTERMed the restarted daprd again
(a fault the scenario did not ask for; it came back 13.7 s later, after kubelet's crash back-off).
"""

from __future__ import annotations

import json
import random
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx

from harness.campaign import experiment
from harness.nemesis import Nemesis
from harness.run.runner import down_intervals
from harness.scenario.schema import FaultSpec

RUN = Path(__file__).resolve().parent / "fixtures" / "runs" / "k8s-replica-churn-1.18.2"
KILLED = 4  # replica 4: its daprd killed by fault #2
STRUCK_NS = 1796107671003743164  # the kill returned: the kubelet had started daprd again


def rejudged(tmp_path: Path, edit: Any = None) -> dict[str, Any]:
    run_dir = tmp_path / "run"
    shutil.copytree(RUN, run_dir)
    if edit is not None:
        history = json.loads((run_dir / "history.json").read_text())
        edit(history)
        (run_dir / "history.json").write_text(json.dumps(history))
    experiment.rejudge(run_dir, experiment.finished_scenario(run_dir))
    return cast(dict[str, Any], json.loads((run_dir / "results.json").read_text()))


def anomalies(doc: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    return {s["name"]: (s["duplicates"], s["missed"], s["spurious"]) for s in doc["sources"]}


def test_as_recorded_the_restarted_daprds_deliveries_were_zombies(tmp_path: Path) -> None:
    doc = rejudged(tmp_path)
    assert doc["verdict"] == "fail"
    assert anomalies(doc) == {"job-a": (0, 1, 1), "job-b": (0, 1, 1), "job-c": (0, 1, 1)}
    notes = [w["note"] for s in doc["sources"] for w in s["witnesses"] if w["kind"] == "spurious"]
    assert all(f"replica {KILLED} received it while surely down" in n for n in notes) and len(notes) == 3


def test_recorded_as_the_fixed_harness_records_it_nothing_is_missed_or_spurious(tmp_path: Path) -> None:
    def as_fixed(history: dict[str, Any]) -> None:
        # no "surely down" window for the restarted daprd; replica 4 could receive again from the kill's return
        history["down"] = [w for w in history["down"] if w["replica"] != KILLED]
        for w in history["windows"]:
            if w["replica"] == KILLED and w["start_ns"] > STRUCK_NS:
                w["start_ns"] = STRUCK_NS

    doc = rejudged(tmp_path, as_fixed)
    assert anomalies(doc) == {"job-a": (0, 0, 0), "job-b": (0, 0, 0), "job-c": (0, 0, 0)}
    assert doc["verdict"] == "unknown"  # the pods deleted by faults #0, #1, #3 took their journals (a ledger gap)


@dataclass
class FakeCluster:
    """A FAKE cluster whose kill says whether the platform started the part again (Kubernetes' container kill)."""

    restarts: bool
    replicas: dict[int, object] = field(default_factory=lambda: {KILLED: object()})
    calls: list[str] = field(default_factory=list)

    def kill(self, index: int, part: str, sig: signal.Signals) -> bool:
        self.calls.append(f"kill {index} {part}")
        return self.restarts

    def restart_replica(self, index: int, part: str, wait: bool = True) -> None:
        self.calls.append(f"restart {index} {part}")


def struck(restarts: bool) -> tuple[FakeCluster, Any]:
    cluster = FakeCluster(restarts)
    spec = FaultSpec.model_validate({"at": 1, "kind": "kill", "target": KILLED, "part": "daprd", "heal_after": 2})
    with httpx.Client() as http:
        nemesis = Nemesis(cast(Any, cluster), random.Random(0), http, lambda *_a, **_k: None)
        return cluster, nemesis.inject(2, spec)


def test_a_kill_the_platform_restarted_is_over_when_the_call_returns() -> None:
    cluster, handle = struck(restarts=True)
    assert handle.struck_ns is None and handle.heal_due_s is None  # nothing to heal: no second signal
    assert handle.healed_ns is not None and handle.healed_ns >= handle.injected_ns
    assert "started again by the platform" in handle.note
    assert down_intervals([handle], {}, handle.healed_ns + 10**9) == []
    assert cluster.calls == [f"kill {KILLED} daprd"]


def test_a_kill_that_stays_down_is_down_until_its_heal() -> None:
    _, handle = struck(restarts=False)
    assert handle.struck_ns is not None and handle.heal_due_s == 2.0 and handle.healed_ns is None
    [down] = down_intervals([handle], {}, handle.struck_ns + 10**9)
    assert (down.replica, down.start_ns) == (KILLED, handle.struck_ns)
