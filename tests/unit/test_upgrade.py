"""Rolling upgrade: the scenario's upgrade fields and steps, the Nemesis step on a FAKE cluster, and the accounting
across the mixed-version window (results.json ``upgrade``) on hand-built histories."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.model import Delivery
from harness.nemesis import FaultHandle, Nemesis
from harness.oracle.upgrade import accounting, lines
from harness.run.runner import replica_windows
from harness.scenario.loader import load_scenario, parse_scenario
from harness.scenario.schema import FaultSpec, ScenarioError
from toolchain.binaries import Binaries

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
S = 1_000_000_000
OLD = {"daprd": "1.16.0", "scheduler": "1.16.0"}
NEW = {"daprd": "1.18.2", "scheduler": "1.18.2"}


def base(**dapr: Any) -> dict[str, Any]:
    return {
        "name": "up",
        "cluster": {"replicas": 2},
        "sources": {"jobs": [{"name": "j", "schedule": "@every 1s"}]},
        "observe": {"duration": "30s"},
        "dapr": dapr,
        "faults": [
            {"at": "5s", "kind": "scheduler-upgrade", "target": 0},
            {"at": "10s", "kind": "upgrade", "target": 1},
        ],
    }


def test_the_rolling_upgrade_scenario_validates() -> None:
    sc = load_scenario(SCENARIOS / "rolling-upgrade.yaml")
    assert sc.dapr.version == "1.16.0" and sc.dapr.upgrade_to == "1.18.2" and sc.dapr.upgrades
    assert [f.kind for f in sc.faults] == ["scheduler-upgrade", "upgrade", "upgrade", "upgrade"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["dapr"].pop("upgrade_to"), "faults.0.kind: scheduler-upgrade needs the version to upgrade to"),
        (lambda d: d.update(faults=[]), "dapr: dapr.upgrade_to is set but no fault upgrades anything"),
        (lambda d: d["faults"][1].update(heal_after="3s"), "faults.1.heal_after: an upgrade is not healed"),
        (lambda d: d["faults"][1].update(part="app"), "faults.1.part: an upgrade switches daprd"),
        (lambda d: d["dapr"].update(upgrade_to="9.9.9"), "'9.9.9' is not a supported Dapr version"),
        (lambda d: d["dapr"].update(upgrade_bin_dir="/x"), "give either upgrade_to or upgrade_bin_dir, not both"),
        (lambda d: d["faults"][0].update(target=1), "there are 1 scheduler members"),
    ],
)
def test_bad_upgrade_scenarios_are_refused(change: Any, message: str) -> None:
    doc = base(version="1.16.0", upgrade_to="1.18.2")
    change(doc)
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_scenario(doc, "x.yaml")


class FakeCluster:
    """Records the upgrade calls a Nemesis makes; no process is started."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, str, str]] = []
        self.replicas = {0: None, 1: None}
        self.schedulers = [None]

    def upgrade_replica(self, index: int, to: Binaries, part: str, wait: bool) -> str:
        self.calls.append(("replica", index, part, to.daprd_version))
        return f"1.16.0 -> {to.daprd_version}"

    def upgrade_scheduler(self, index: int, to: Binaries, wait: bool) -> str:
        self.calls.append(("scheduler", index, "-", to.scheduler_version))
        return f"1.16.0 -> {to.scheduler_version}"


def new_bins() -> Binaries:
    return Binaries(Path("/n/daprd"), Path("/n/scheduler"), "1.18.2", "1.18.2", "test")


def test_an_upgrade_step_restarts_one_member_on_the_new_binaries_and_needs_no_heal() -> None:
    sc = parse_scenario(base(version="1.16.0", upgrade_to="1.18.2"), "x.yaml")
    fake, events = FakeCluster(), []
    nemesis = Nemesis(fake, random.Random(0), httpx.Client(), lambda e, **kw: events.append(e), upgrade=new_bins())  # type: ignore[arg-type]
    handles = [nemesis.inject(i, f) for i, f in enumerate(sc.faults)]
    assert fake.calls == [("scheduler", 0, "-", "1.18.2"), ("replica", 1, "both", "1.18.2")]
    assert [h.heal_due_s for h in handles] == [None, None]
    assert all(h.healed_ns is not None and h.healed_ns >= h.injected_ns for h in handles)
    assert [(h.kind, h.part, h.signal, h.note) for h in handles] == [
        ("scheduler-upgrade", "-", "TERM", "1.16.0 -> 1.18.2"),
        ("upgrade", "both", "TERM", "1.16.0 -> 1.18.2"),
    ]
    assert events == ["fault_injected", "fault_injected"]


def test_an_upgrade_step_without_binaries_is_refused_before_touching_the_cluster() -> None:
    fake = FakeCluster()
    nemesis = Nemesis(fake, random.Random(0), httpx.Client(), lambda e, **kw: None)  # type: ignore[arg-type]
    with pytest.raises(Exception, match="no binaries to upgrade to"):
        nemesis.inject(0, FaultSpec.model_validate({"at": 1, "kind": "upgrade", "target": 0}))
    assert fake.calls == []


def test_a_replica_is_out_of_its_window_while_its_upgrade_step_runs() -> None:
    step = FaultHandle(0, "upgrade", 1, "both", "TERM", 40, None, 45)
    sched = FaultHandle(1, "scheduler-upgrade", 0, "-", "TERM", 10, None, 20)
    windows = replica_windows([0, 1], 0, 100, [step, sched])
    assert [(w.replica, w.start_ns, w.end_ns) for w in windows] == [(0, 0, 100), (1, 0, 40), (1, 45, 100)]


def delivery(i: int, replica: int, at_s: float, name: str = "j") -> Delivery:
    return Delivery(f"d{i}", "jobs", name, replica, int(at_s * S), 200)


def window(index: int, kind: str, target: int, start_s: float, end_s: float | None) -> dict[str, Any]:
    return {
        "index": index,
        "kind": kind,
        "target": target,
        "part": "both",
        "signal": "TERM",
        "injected_ns": int(start_s * S),
        "healed_ns": None if end_s is None else int(end_s * S),
        "note": "1.16.0 -> 1.18.2",
    }


FAULTS = [
    window(0, "kill", 0, 1, 2),  # not an upgrade step: ignored
    window(1, "scheduler-upgrade", 0, 10, 12),
    window(2, "upgrade", 0, 20, 22),
    window(3, "upgrade", 1, 30, 33),
]


def test_no_upgrade_step_means_no_section() -> None:
    assert accounting(FAULTS[:1], [], [], observe_start_ns=0, collect_end_ns=S, old=OLD, new=NEW) is None


def test_the_history_is_split_before_mixed_after_and_by_the_receiving_daprd() -> None:
    ds = [
        delivery(0, 0, 5),  # before; replica 0 old
        delivery(1, 1, 15),  # mixed; replica 1 old (its step is at 30 s)
        delivery(2, 0, 21),  # mixed; replica 0 restarting (20-22 s)
        delivery(3, 0, 25, "k"),  # mixed; replica 0 new
        delivery(4, 1, 40),  # after; replica 1 new
        delivery(5, 0, 41),  # after; replica 0 new
    ]
    sources = [
        {
            "witnesses": [
                {"kind": "duplicate", "due_ns": 21 * S, "deliveries": []},
                {"kind": "missed", "due_ns": 3 * S, "deliveries": []},
                {"kind": "spurious", "due_ns": None, "deliveries": [{"received_ns": 50 * S}]},
                {"kind": "retry", "due_ns": 15 * S, "deliveries": []},  # not an anomaly: not counted
            ]
        }
    ]
    got = accounting(FAULTS, ds, sources, observe_start_ns=0, collect_end_ns=60 * S, old=OLD, new=NEW)
    assert got is not None
    assert [(p["phase"], p["seconds"], p["deliveries"]) for p in got["phases"]] == [
        ("before", 10.0, {"jobs:j": 1}),
        ("mixed", 23.0, {"jobs:j": 2, "jobs:k": 1}),
        ("after", 27.0, {"jobs:j": 2}),
    ]
    assert [p["anomalies"] for p in got["phases"]] == [
        {"duplicate": 0, "missed": 1, "early": 0, "spurious": 0},
        {"duplicate": 1, "missed": 0, "early": 0, "spurious": 0},
        {"duplicate": 0, "missed": 0, "early": 0, "spurious": 1},
    ]
    assert got["witnessed_anomalies"] == 3
    assert got["deliveries_by_daprd"] == {"1.16.0": 2, "1.18.2": 3, "restarting": 1}
    assert [(s["fault"], s["member"], s["seconds"]) for s in got["steps"]] == [
        (1, "scheduler-0", 2.0),
        (2, "replica-0", 2.0),
        (3, "replica-1", 3.0),
    ]
    text = "\n".join(lines(got))
    assert "rolling upgrade: daprd 1.16.0 → 1.18.2, scheduler 1.16.0 → 1.18.2, 3 step(s)" in text
    assert "step (fault #3): replica-1 1.16.0 -> 1.18.2, ready after 3.0 s" in text
    assert "mixed (23.0 s): 3 deliveries, 1 duplicate" in text
    assert "deliveries by the receiving replica's daprd version: 1.16.0: 2, 1.18.2: 3, restarting: 1" in text
