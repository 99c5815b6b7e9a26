"""Issue 16, item 2: a Helm upgrade of Dapr while deliveries flow (scenarios/k8s-chart-upgrade.yaml). The two kinds'
rules, the local backend's refusal before anything starts, the helm argv a step runs (a FAKE helm runner against the
FAKE API of tests/unit/fake_kube.py), the rollout's check of every daprd, and the upgrade section's versions."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness import cli_backend
from harness.cluster.base import ClusterSpec, Tokens, refusal
from harness.cluster.kubernetes import dapr_chart
from harness.cluster.kubernetes.backend import KubernetesBackend
from harness.cluster.kubernetes.chart_upgrade import ChartStep, prepare
from harness.cluster.kubernetes.cluster import KubeCluster
from harness.cluster.kubernetes.dapr_chart import ChartValues
from harness.cluster.kubernetes.helm import Helm
from harness.cluster.kubernetes.render import CAPABILITIES
from harness.cluster.local.backend import LocalBackend
from harness.cluster.local.cluster import LocalCluster
from harness.errors import ClusterError, InputError
from harness.io.pods import daprd_versions, read_pods
from harness.model import Capability, Delivery
from harness.nemesis import needs
from harness.oracle.upgrade import accounting
from harness.run import runner
from harness.scenario.loader import load_scenario, parse_scenario
from harness.scenario.schema import Scenario, ScenarioError
from tests.unit.fake_kube import FakeKube, daprd_opener
from tests.unit.test_dapr_release import HELM, FakeHelmRunner
from toolchain.binaries import Binaries

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "k8s-chart-upgrade.yaml"
OLD, NEW = "onceonly.local/dapr/daprd:1.16.0", "onceonly.local/dapr/daprd:1.18.2"
TO = Binaries(Path("/n/daprd"), Path("/n/scheduler"), "1.18.2", "1.18.2", "chart")
INSTALLED = ChartValues("1.16.0", storage="volume", storage_size="2Gi", log_level="debug").document()


def raw() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SCENARIO.read_text())
    return loaded


def with_faults(*faults: dict[str, Any], **dapr: Any) -> dict[str, Any]:
    data = raw()
    data["faults"] = list(faults)
    data["dapr"] = {**data["dapr"], **dapr}
    return data


# --- the kinds' rules ----------------------------------------------------------------------------------------


def test_the_scenario_loads_with_a_chart_upgrade_then_a_sidecar_upgrade() -> None:
    sc = load_scenario(SCENARIO)
    assert [f.kind for f in sc.faults] == ["chart-upgrade", "sidecar-upgrade"]
    assert (sc.dapr.version, sc.dapr.upgrade_to, sc.cluster.replicas) == ("1.16.0", "1.18.2", 3)
    assert [c for c, _ in needs(sc.faults)] == [Capability.CHART_UPGRADE] * 2


@pytest.mark.parametrize(
    ("fault", "dapr", "said"),
    [
        ({"at": "8s", "kind": "chart-upgrade"}, {"upgrade_to": None}, "needs the version to upgrade to"),
        ({"at": "8s", "kind": "sidecar-upgrade"}, {"upgrade_to": None}, "needs the version to upgrade to"),
        ({"at": "8s", "kind": "chart-upgrade", "target": 0}, {}, "faults.0.target: chart-upgrade upgrades Dapr's"),
        ({"at": "8s", "kind": "sidecar-upgrade", "target": 1}, {}, "upgrades every replica at once"),
        ({"at": "8s", "kind": "chart-upgrade", "heal_after": "3s"}, {}, "an upgrade is not healed"),
    ],
)
def test_each_kind_is_refused_as_written_wrong(fault: dict[str, Any], dapr: dict[str, Any], said: str) -> None:
    with pytest.raises(ScenarioError, match=said):
        parse_scenario(with_faults(fault, **dapr))


# --- the local backend: refused before anything starts -------------------------------------------------------


def test_only_the_kubernetes_backend_has_the_chart_upgrade_capability() -> None:
    assert Capability.CHART_UPGRADE in CAPABILITIES
    assert Capability.CHART_UPGRADE not in LocalCluster.capabilities


def test_the_local_backend_refuses_it_naming_backend_kubernetes_before_any_binary(tmp_path: Path) -> None:
    sc = load_scenario(SCENARIO)
    with pytest.raises(InputError) as caught:
        cli_backend.kubernetes(cli_backend.Target(), sc, 1, lambda _m: None)
    assert "fault 0 (chart-upgrade) needs the 'chart-upgrade' capability" in str(caught.value)
    assert "--backend kubernetes" in str(caught.value)
    # the runner's own refusal, for a caller that skips the CLI: nothing is written
    said = refusal(LocalBackend(None), needs(sc.faults))
    assert said is not None and "the local backend does not have" in said
    with pytest.raises(InputError, match="chart-upgrade"):
        runner.execute(sc, TO, tmp_path, upgrade=TO)
    assert list(tmp_path.iterdir()) == []


def test_the_cli_exits_3_on_the_local_backend(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from tests.unit.test_cli import assert_nothing_started, run

    assert run(["run", str(SCENARIO), "--reports", str(tmp_path / "r")]) == 3
    assert "run it with --backend kubernetes" in capsys.readouterr().err
    assert_nothing_started(tmp_path / "r")


# --- the kubernetes backend's own refusals -------------------------------------------------------------------


def step(runner_: FakeHelmRunner | None = None) -> ChartStep:
    return ChartStep(Helm(HELM, runner=runner_ or FakeHelmRunner({}), context="fake-context"), ChartValues("1.18.2"))


def test_it_needs_the_opt_in_a_prepared_chart_and_the_sidecars_after_the_chart() -> None:
    api, sc = FakeKube(), load_scenario(SCENARIO)
    said = KubernetesBackend(api, sc, chart=step()).refusal() or ""
    assert "upgrades Dapr's Helm release" in said and "--allow-scheduler-faults" in said
    assert KubernetesBackend(api, sc, allow_scheduler_faults=True, chart=step()).refusal() is None
    unprepared = KubernetesBackend(api, sc, allow_scheduler_faults=True).refusal()
    assert unprepared is not None and "prepared before the run" in unprepared
    # the check `run` makes before the API is reached, when nothing can be prepared yet (a real run refused here)
    assert KubernetesBackend(api, sc, allow_scheduler_faults=True).refusal(before_prepare=True) is None
    swapped = parse_scenario(
        with_faults({"at": "8s", "kind": "sidecar-upgrade"}, {"at": "25s", "kind": "chart-upgrade"})
    )
    early = KubernetesBackend(api, swapped, allow_scheduler_faults=True, chart=step()).refusal()
    assert early is not None and "sidecar-upgrade at 8s comes before any chart upgrade" in early
    assert api.calls == []


# --- what a step runs ----------------------------------------------------------------------------------------


def manifests(version: str) -> str:
    docs = [
        {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": n, "image": image}]}}}}
        for n, image in ((name, f"{dapr_chart.REGISTRY}/{name}:{version}") for name in dapr_chart.IMAGE_NAMES)
    ]
    return yaml.safe_dump_all(docs)


def helm_runner() -> FakeHelmRunner:
    history = json.dumps([{"revision": n, "status": "deployed", "chart": "dapr-0.0.0"} for n in (1, 2)])
    return FakeHelmRunner(
        {
            "get": (0, json.dumps(INSTALLED), ""),
            "template": (0, manifests("1.18.2"), ""),
            "upgrade": (0, 'Release "dapr" has been upgraded.', ""),
            "history": (0, history, ""),
        }
    )


def test_prepare_reads_the_release_and_renders_the_new_chart_with_its_settings_kept() -> None:
    fake = helm_runner()
    prepared = prepare(Helm(HELM, runner=fake, context="ctx"), "dapr-system", "1.18.2")
    assert prepared.values == ChartValues("1.18.2", storage="volume", storage_size="2Gi", log_level="debug")
    get, template = fake.calls
    asked = ["get", "values", "dapr", "--namespace", "dapr-system", "--all", "--output", "json"]
    assert get == [str(HELM), *asked, "--kube-context", "ctx"]
    assert template[1:4] == ["template", "dapr", str(dapr_chart.chart_dir("1.18.2"))]
    assert fake.values == [prepared.values.document()]
    nothing = FakeHelmRunner({})  # `get` answers "release: not found"
    with pytest.raises(InputError, match=r"no Dapr release 'dapr' in namespace dapr-system .*k8s dapr install"):
        prepare(Helm(HELM, runner=nothing), "dapr-system", "1.18.2")
    assert [argv[1] for argv in nothing.calls] == ["get"]


class Upgrading(FakeHelmRunner):
    """FAKE helm whose `upgrade` changes the FAKE API as the chart would (a new injector sidecar and scheduler)."""

    def __init__(self, api: FakeKube, base: FakeHelmRunner) -> None:
        super().__init__(base.answers)
        self.api = api

    def __call__(self, argv: Any, env: Any, on_line: Any) -> Any:
        if argv[1] == "upgrade":
            self.api.sidecar = NEW
            self.api.pods_by_ns["dapr-system"] = []
            for i in range(3):
                self.api.add_pod("dapr-system", f"dapr-scheduler-server-{i}", images={"dapr-scheduler-server": NEW})
        return super().__call__(argv, env, on_line)


def kube(tmp_path: Path, sc: Scenario, chart: ChartStep) -> tuple[FakeKube, KubeCluster]:
    api = FakeKube(opener=daprd_opener(connected=3), sidecar=OLD)
    for i in range(3):
        api.add_pod("dapr-system", f"dapr-scheduler-server-{i}", images={"dapr-scheduler-server": OLD})
    backend = KubernetesBackend(
        api,
        sc,
        tokens=Tokens("d", "a", "r"),
        allow_scheduler_faults=True,
        chart=chart,
    )
    return api, backend.create(ClusterSpec(replicas=3, ready_timeout=5.0), TO, tmp_path)


def test_a_chart_upgrade_runs_helm_upgrade_wait_in_the_runs_context_then_the_rollout(tmp_path: Path) -> None:
    sc = load_scenario(SCENARIO)
    api = FakeKube()
    fake = Upgrading(api, helm_runner())
    chart = ChartStep(Helm(HELM, runner=fake, context="fake-context"), ChartValues("1.18.2", storage="volume"))
    api, c = kube(tmp_path, sc, chart)
    fake.api = api
    with c:
        assert {p["daprd_version"] for p in c.pods.rows()} == {"1.16.0"}
        note = c.upgrade_chart(TO)
        assert note == "Dapr's release 1.16.0 -> 1.18.2 (revision 2): scheduler pods and injector on 1.18.2"
        upgrade = next(argv for argv in fake.calls if argv[1] == "upgrade")
        chart_dir = str(dapr_chart.chart_dir("1.18.2"))
        assert upgrade[1:] == [
            "upgrade",
            "--install",
            "dapr",
            chart_dir,
            "--namespace",
            "dapr-system",
            "--create-namespace",
            "--timeout",
            "5m0s",
            "--wait",
            "--kube-context",
            "fake-context",
            "--values",
            upgrade[-1],
        ]
        assert ChartValues("1.18.2", storage="volume").document() in fake.values
        assert sorted(c.replicas) == [0, 1, 2]  # the app's pods keep their daprd until the sidecars roll
        rolled = c.roll_sidecars(TO)
        assert rolled == "replicas [0, 1, 2] replaced by [3, 4, 5], every daprd on 1.18.2"
        assert c.versions() == {f"scheduler-{i}": "1.18.2" for i in range(3)} | {
            f"daprd-{i}": "1.18.2" for i in (3, 4, 5)
        }
    pods = read_pods(tmp_path)
    assert daprd_versions(pods) == {0: "1.16.0", 1: "1.16.0", 2: "1.16.0", 3: "1.18.2", 4: "1.18.2", 5: "1.18.2"}


def test_sidecars_rolled_before_the_chart_is_upgraded_are_said_plainly(tmp_path: Path) -> None:
    _api, c = kube(tmp_path, load_scenario(SCENARIO), step())
    with c, pytest.raises(ClusterError, match=r"daprd is not 1\.18\.2 \(replica 3: 1\.16\.0.*chart upgraded first"):
        c.roll_sidecars(TO)


# --- results.json's upgrade section --------------------------------------------------------------------------


def test_the_upgrade_section_counts_deliveries_by_each_pods_daprd() -> None:
    s = 1_000_000_000
    faults = [
        {"index": 0, "kind": "chart-upgrade", "target": -1, "injected_ns": 8 * s, "healed_ns": 20 * s, "note": "n"},
        {"index": 1, "kind": "sidecar-upgrade", "target": -1, "injected_ns": 25 * s, "healed_ns": 40 * s},
    ]
    deliveries = [Delivery(f"d{r}", "jobs", "j", r, at * s, 200) for r, at in ((0, 5), (1, 22), (3, 30), (4, 50))]
    section = accounting(
        faults,
        deliveries,
        [],
        observe_start_ns=0,
        collect_end_ns=60 * s,
        old={"daprd": "1.16.0", "scheduler": "1.16.0"},
        new={"daprd": "1.18.2", "scheduler": "1.18.2"},
        daprd_of={0: "1.16.0", 1: "1.16.0", 3: "1.18.2", 4: "1.18.2"},
    )
    assert section is not None
    assert [s_["member"] for s_ in section["steps"]] == ["Dapr's control plane", "every replica"]
    assert [(p["phase"], p["start_ns"], p["end_ns"]) for p in section["phases"]] == [
        ("before", 0, 8 * s),
        ("mixed", 8 * s, 40 * s),
        ("after", 40 * s, 60 * s),
    ]
    assert section["deliveries_by_daprd"] == {"1.16.0": 2, "1.18.2": 2}
    assert (section["from"]["daprd"], section["to"]["daprd"]) == ("1.16.0", "1.18.2")
    without = accounting(
        copy.deepcopy(faults),
        deliveries,
        [],
        observe_start_ns=0,
        collect_end_ns=60 * s,
        old={"daprd": "1.16.0", "scheduler": "1.16.0"},
        new={"daprd": "1.18.2", "scheduler": "1.18.2"},
    )
    assert without is not None and without["deliveries_by_daprd"] == {"1.16.0": 4}  # no pods.json: not known


# --- `k8s up --images-also`: the second version's images on the node ------------------------------------------


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--images-also", "1.18.2"], "give --images (and --node) too"),
        (["--node", "--images", "--images-also", "9.9.9"], "--images-also: unknown Dapr version '9.9.9'"),
    ],
)
def test_k8s_up_images_also_is_refused_before_anything_starts(
    argv: list[str], said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.test_kube_build import _cli

    plane = tmp_path / "plane"
    assert _cli(["k8s", "up", *argv, "--dir", str(plane)], tmp_path, monkeypatch, "/usr/bin:/bin") == 3
    assert said in capsys.readouterr().err
    assert not plane.exists() and not (tmp_path / "cache").exists()


def test_the_images_of_two_versions_are_listed_once_each(tmp_path: Path) -> None:
    from harness.cluster.kubernetes.plane.node import images

    def index(version: str) -> Path:
        path = tmp_path / f"images-{version}.json"
        names = [f"onceonly.local/dapr/daprd:{version}", "onceonly.local/redis:bookworm"]
        path.write_text(json.dumps({"images": [{"name": n, "archive": f"/a/{version}/{n}.tar"} for n in names]}))
        return path

    both = images.listed_all(index("1.18.2"), index("1.16.0"))
    assert [i.reference for i in both] == [
        "onceonly.local/dapr/daprd:1.18.2",
        "onceonly.local/redis:bookworm",
        "onceonly.local/dapr/daprd:1.16.0",
    ]
    assert both[1].archive == Path("/a/1.18.2/onceonly.local/redis:bookworm.tar")  # the first list's
    with pytest.raises(InputError, match="run `onceonly k8s images` first"):
        images.listed_all(index("1.18.2"), tmp_path / "images-9.json")


# --- the timeline and the run's checks before anything starts -------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "asked", "part"), [("chart-upgrade", "upgrade_chart", "-"), ("sidecar-upgrade", "roll_sidecars", "both")]
)
def test_the_nemesis_strikes_the_whole_plane_or_app_with_the_version_to_upgrade_to(
    kind: str, asked: str, part: str
) -> None:
    import random
    from typing import cast

    import httpx

    from harness.nemesis import Nemesis
    from harness.scenario.schema import FaultSpec
    from tests.unit.test_fault_registry import RecordingCluster

    cluster = RecordingCluster()
    with httpx.Client() as http:
        nemesis = Nemesis(cast(Any, cluster), random.Random(0), http, lambda *_a, **_k: None, upgrade=TO)
        handle = nemesis.inject(0, FaultSpec.model_validate({"at": "8s", "kind": kind}))
    assert cluster.calls == [(asked, TO, ("wait", True))]
    assert (handle.target, handle.part, handle.signal, handle.heal_due_s) == (-1, part, "TERM", None)
    assert handle.healed_ns is not None  # the window is the call


def test_run_refuses_an_installation_that_is_not_the_version_the_scenario_starts_from() -> None:
    sc = load_scenario(SCENARIO)
    found = Binaries(Path("/n/daprd"), Path("/n/scheduler"), "1.18.2", "1.18.2", "installed")
    with pytest.raises(InputError, match=r"starts from Dapr 1\.16\.0, but dapr-system runs 1\.18\.2: install 1\.16\.0"):
        cli_backend.chart_upgrade(FakeKube(), sc, "dapr-system", found)  # before helm is built or asked
    already = parse_scenario(with_faults({"at": "8s", "kind": "chart-upgrade"}, version=None))
    with pytest.raises(InputError, match=r"already 1\.18\.2; nothing to upgrade"):
        cli_backend.chart_upgrade(FakeKube(), already, "dapr-system", found)
