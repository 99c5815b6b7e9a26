"""The backend seam (harness.cluster.base): a scenario needing what the backend cannot do is refused before
anything starts, naming the capability; the local backend can do every fault kind. A FAKE backend stands in for a
second one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cluster.base import Cluster, ClusterSpec, refusal
from harness.cluster.local.backend import LocalBackend
from harness.errors import InputError
from harness.faults.kind import KINDS
from harness.faults.registry import names
from harness.model import Capability
from harness.nemesis import needs
from harness.run import runner
from harness.scenario.loader import load_scenario
from toolchain.binaries import Binaries

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BINS = Binaries(Path("/n/daprd"), Path("/n/scheduler"), "1.18.2", "1.18.2", "test")


class FakeBackend:
    """Can run a cluster and kill processes, nothing else; ``create`` must never be reached in these tests."""

    name = "fake"
    capabilities = frozenset({Capability.KILL})

    def create(
        self,
        spec: ClusterSpec,
        binaries: Binaries,
        run_dir: Path,
        *,
        on_progress: Callable[[str], None] | None = None,
        resources: dict[str, str] | None = None,
        app_env: dict[str, str] | None = None,
    ) -> Cluster:
        raise AssertionError("a refused scenario must start nothing")


def test_a_scenario_with_a_fault_the_backend_cannot_do_is_refused_before_anything_starts(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "pause-replica.yaml")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with pytest.raises(InputError) as caught:
        runner.execute(scenario, BINS, run_dir, backend=FakeBackend())
    message = str(caught.value)
    assert "fault 0 (pause)" in message and "'pause' capability" in message and "fake backend" in message
    assert "it can: kill" in message
    assert list(run_dir.iterdir()) == []  # not even the stage-0 files


def test_a_scenario_within_the_capabilities_is_not_refused() -> None:
    scenario = load_scenario(SCENARIOS / "kill-daprd-mid-handler.yaml")
    assert refusal(FakeBackend(), needs(scenario.faults)) is None
    assert refusal(FakeBackend(), needs(load_scenario(SCENARIOS / "network-delay.yaml").faults)) is not None


def test_every_fault_kind_names_a_capability_and_the_local_backend_has_them_all_but_the_charts() -> None:
    assert set(names()) == set(KINDS) and len(names()) == 13
    chart = {k.name for k in KINDS.values() if k.capability == Capability.CHART_UPGRADE}
    assert chart == {"chart-upgrade", "sidecar-upgrade"}  # Kubernetes only: local processes have no Helm chart
    assert {k.capability for k in KINDS.values() if k.name not in chart} <= LocalBackend().capabilities
    assert LocalBackend().capabilities == frozenset(Capability) - {Capability.CHART_UPGRADE}
