"""One fault kind, one place (harness.faults): a kind defined here, in the test, and nowhere else, is accepted by
the scenario format, done and undone by the nemesis (on a FAKE cluster that records calls), needs its capability,
cuts its replica's window, and is said in the reports' words. And no module outside harness/faults names a kind."""

from __future__ import annotations

import ast
import random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, cast

import httpx
import pytest

from harness.cluster.base import Cluster
from harness.errors import InputError
from harness.faults import kind as kinds
from harness.faults.kind import FaultKind, Strike, Struck
from harness.faults.registry import kind_of, names
from harness.model import Capability
from harness.nemesis import Nemesis, needs
from harness.report.html.timeline import fault_label
from harness.report.words import fault_line
from harness.run.runner import replica_windows
from harness.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
PAUSE = ROOT / "scenarios" / "pause-replica.yaml"


class FakeCluster:
    """Records what the kind asks of it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []


@pytest.fixture
def hog() -> Iterator[type[FaultKind]]:
    saved = dict(kinds.KINDS)

    class CpuHog(FaultKind):
        """Burn the replica's CPU (made up for this test)."""

        name = "cpu-hog"
        capability = Capability.PAUSE
        takes_replica_down = True
        default_heal_s = 2.0

        def strike(self, s: Strike) -> Struck:
            cast(Any, s.cluster).calls.append(("hog", s.target))
            return Struck(note="every core busy", undo="token")

        def heal(self, cluster: Cluster, target: int, part: str, undo: object) -> None:
            assert undo == "token"
            cast(Any, cluster).calls.append(("unhog", target))

        def label(self, i: int, f: Mapping[str, Any]) -> str:
            return f"fault #{i} CPU hog on replica {f['target']}"

    yield CpuHog
    kinds.KINDS.clear()
    kinds.KINDS.update(saved)


def test_a_kind_defined_in_one_place_works_everywhere(hog: type[FaultKind]) -> None:
    assert names()[-1] == "cpu-hog" and names()[:3] == ("kill", "pause", "restart")
    scenario = load_scenario(PAUSE, ["faults.0.kind=cpu-hog"])
    fault = scenario.faults[0]
    assert needs(scenario.faults) == [(Capability.PAUSE, "fault 0 (cpu-hog)")]

    cluster = FakeCluster()
    events: list[tuple[str, dict[str, Any]]] = []
    with httpx.Client() as http:
        nemesis = Nemesis(cast(Any, cluster), random.Random(0), http, lambda e, **kw: events.append((e, kw)))
        handle = nemesis.inject(0, fault)
        assert handle.heal_due_s == 5.0  # the scenario's heal_after wins over the kind's default
        assert handle.note == "every core busy" and handle.part == "daprd" and handle.struck_ns is None
        nemesis.heal(handle)
    assert cluster.calls == [("hog", 1), ("unhog", 1)]
    assert [e for e, _ in events] == ["fault_injected", "fault_healed"]

    assert handle.healed_ns is not None
    windows = replica_windows([1], handle.injected_ns - 10, handle.healed_ns + 10, [handle])
    assert [(w.start_ns, w.end_ns) for w in windows] == [  # its replica could not receive while it lasted
        (handle.injected_ns - 10, handle.injected_ns),
        (handle.healed_ns, handle.healed_ns + 10),
    ]
    f = handle.window()
    assert fault_label(0, f) == "fault #0 CPU hog on replica 1"
    assert fault_line(f).startswith("cpu-hog on replica 1 (daprd, KILL): ") and "every core busy" in fault_line(f)


def test_an_unknown_kind_is_refused_naming_every_kind(hog: type[FaultKind]) -> None:
    with pytest.raises(InputError) as caught:
        load_scenario(PAUSE, ["faults.0.kind=cpu-hogg"])
    assert "faults.0.kind: 'cpu-hogg' is not valid: must be one of kill, pause" in str(caught.value)
    assert "scheduler-upgrade, chart-upgrade, sidecar-upgrade, cpu-hog (from --set faults.0.kind=cpu-hogg)" in str(
        caught.value
    )


def test_a_run_directory_with_a_kind_this_version_does_not_know_still_reads() -> None:
    f = {"kind": "scheduler-freeze", "target": 0, "part": "-", "signal": "-", "injected_ns": 0, "healed_ns": None}
    assert kind_of("scheduler-freeze").name == "?"
    assert fault_label(3, f) == "fault #3 scheduler-freeze, scheduler 0"
    assert fault_line(f) == "scheduler-freeze on scheduler 0: - → no heal"


def test_no_module_outside_harness_faults_names_a_fault_kind() -> None:
    """A branch on a kind's name outside harness/faults would make adding a kind touch two places."""
    # "upgrade" is also results.json's rolling-upgrade section; harness/model.py's Capability words name abilities
    kinds_named = set(names()) - {"upgrade"}
    found = []
    for path in sorted((ROOT / "harness").rglob("*.py")):
        if "faults" in path.relative_to(ROOT).parts or path.name == "model.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in kinds_named:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert found == []


class RecordingCluster:
    """A FAKE cluster: records each operation a strike or a heal asks for."""

    scheduler_count = 3
    replicas: ClassVar[dict[int, None]] = {0: None, 1: None}

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __getattr__(self, name: str) -> Any:
        def op(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, *args, *sorted(kwargs.items())))
            return f"{name} token" if name == "cut_network" else ("1.16.0 -> 1.18.2" if "upgrade" in name else None)

        return op


STRIKES: list[tuple[dict[str, Any], tuple[Any, ...], tuple[Any, ...]]] = [
    # kind and fields -> what the cluster is asked, and the window (target, part, signal, heal due, struck)
    ({"kind": "kill", "target": 1, "part": "daprd"}, ("kill", 1, "daprd", 9), (1, "daprd", "KILL", None, True)),
    (
        {"kind": "kill", "target": 0, "signal": "TERM", "heal_after": "2s"},
        ("kill", 0, "both", 15),
        (0, "both", "TERM", 2.0, True),
    ),
    ({"kind": "pause", "target": 1}, ("pause", 1, "both"), (1, "both", "KILL", 5.0, True)),
    (
        {"kind": "restart", "target": 0, "part": "app"},
        ("restart_replica", 0, "app", ("wait", True)),
        (0, "app", "KILL", None, False),
    ),
    (
        {"kind": "scheduler-restart", "target": 2},
        ("restart_scheduler", 2, 9, ("wait", True)),
        (2, "both", "KILL", None, False),
    ),
    (
        {"kind": "scheduler-kill", "target": 1, "heal_after": "3s"},
        ("stop_scheduler", 1, 9),
        (1, "both", "KILL", 3.0, False),
    ),
    ({"kind": "scale", "replicas": 4}, ("scale", 4), (4, "both", "-", None, False)),
    (
        {"kind": "network-delay", "target": "all", "delay": "600ms", "direction": "from-scheduler"},
        ("cut_network", [0, 1, 2], "delay", "from-scheduler", 600, ("tag", "fault0")),
        (-1, "from-scheduler", "-", 10.0, False),
    ),
    (
        {"kind": "network-blackhole", "target": 1},
        ("cut_network", [1], "blackhole", "both", 0, ("tag", "fault0")),
        (1, "both", "-", 10.0, False),
    ),
    (
        {"kind": "network-reset", "target": "all", "heal_after": "4s"},
        ("cut_network", [0, 1, 2], "reset", "both", 0, ("tag", "fault0")),
        (-1, "both", "-", 4.0, False),
    ),
]


@pytest.mark.parametrize(
    ("fields", "asked", "window"), STRIKES, ids=[f"{s[0]['kind']}-{i}" for i, s in enumerate(STRIKES)]
)
def test_each_kind_asks_the_cluster_for_its_own_operation(
    fields: dict[str, Any], asked: tuple[Any, ...], window: tuple[Any, ...]
) -> None:
    from harness.scenario.schema import FaultSpec

    cluster = RecordingCluster()
    with httpx.Client() as http:
        nemesis = Nemesis(cast(Any, cluster), random.Random(0), http, lambda *_a, **_k: None)
        handle = nemesis.inject(0, FaultSpec.model_validate({"at": "1s", **fields}))
    (call,) = cluster.calls
    assert call == asked
    struck = handle.struck_ns is not None
    assert (handle.target, handle.part, handle.signal, handle.heal_due_s, struck) == window
    if handle.heal_due_s is not None:
        nemesis.heal(handle)
        healed = cluster.calls[-1]
        assert healed[0] in ("restart_replica", "resume", "start_scheduler", "mend_network")
        assert healed[0] != "mend_network" or healed[1] == "cut_network token"
