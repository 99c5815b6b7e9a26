"""One fault kind, one place (harness.faults): a kind defined here, in the test, and nowhere else, is accepted by
the scenario format, done and undone by the nemesis (on a FAKE cluster that records calls), needs its capability,
cuts its replica's window, and is said in the reports' words. And no module outside harness/faults names a kind."""

from __future__ import annotations

import ast
import random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

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
    assert "scheduler-upgrade, cpu-hog (from --set faults.0.kind=cpu-hogg)" in str(caught.value)


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
