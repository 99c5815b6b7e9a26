"""harness.cluster.kubernetes.helm and dapr_release with a FAKE helm runner: the argv each command gives helm, the
values file it reads, helm's failures turned into errors with helm's words, the image check before any install.
No helm binary, no cluster."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import yaml

from harness.cluster.kubernetes import dapr_chart, dapr_release
from harness.cluster.kubernetes.dapr_chart import ChartValues
from harness.cluster.kubernetes.helm import Helm, Progress, Ran
from harness.errors import ClusterError, EnvironmentProblem, InputError

HELM = Path("/cache/helm")
NO_RELEASE = (1, "", "Error: release: not found")


def _manifests(version: str, registry: str = dapr_chart.REGISTRY) -> str:
    docs = [
        {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": n, "image": image}]}}}}
        for n, image in ((name, f"{registry}/{name}:{version}") for name in dapr_chart.IMAGE_NAMES)
    ]
    return yaml.safe_dump_all(docs)


class FakeHelmRunner:
    """FAKE: records each call (argv, the values file's content, the HELM_*_HOME it was given) and answers from
    ``answers`` by sub-command: (exit code, stdout, stderr)."""

    def __init__(self, answers: Mapping[str, tuple[int, str, str]]) -> None:
        self.answers = {"get": NO_RELEASE, **answers}
        self.calls: list[list[str]] = []
        self.values: list[dict[str, object]] = []
        self.homes: list[str] = []

    def __call__(self, argv: Sequence[str], env: Mapping[str, str], on_line: Progress | None) -> Ran:
        self.calls.append(list(argv))
        if "--values" in argv:
            self.values.append(yaml.safe_load(Path(argv[argv.index("--values") + 1]).read_text()))
        self.homes.append(env["HELM_CONFIG_HOME"])
        code, out, err = self.answers[argv[1]]
        if on_line is not None:
            for line in (out + err).splitlines():
                on_line(line)
        return Ran(code, out, err)


def test_render_runs_helm_template_offline_on_the_versions_chart_with_the_values_file() -> None:
    runner = FakeHelmRunner({"template": (0, _manifests("1.18.2"), "")})
    helm = Helm(HELM, kubeconfig="/k/config", runner=runner)
    text = dapr_release.render(helm, ChartValues("1.18.2"), "dapr-chart")
    assert text == _manifests("1.18.2")
    (argv,) = runner.calls
    chart = str(dapr_chart.chart_dir("1.18.2"))
    assert argv[:6] == [str(HELM), "template", "dapr", chart, "--namespace", "dapr-chart"]
    assert "--include-crds" in argv
    assert "--kubeconfig" not in argv  # template asks no cluster
    assert runner.values == [ChartValues("1.18.2").document()]
    assert not Path(runner.homes[0]).exists()  # helm's homes were a directory of its own, removed after


def test_an_image_not_built_here_is_refused_by_name_before_anything_is_installed() -> None:
    foreign = (
        _manifests("1.18.2")
        + "---\n"
        + yaml.safe_dump({"kind": "Pod", "spec": {"containers": [{"name": "x", "image": "ghcr.io/dapr/daprd:edge"}]}})
    )
    runner = FakeHelmRunner({"template": (0, foreign, ""), "upgrade": (0, "", "")})
    with pytest.raises(InputError, match=r"not built here: ghcr\.io/dapr/daprd:edge"):
        dapr_release.install_or_upgrade(Helm(HELM, runner=runner), ChartValues("1.18.2"), "ns", lambda _: None)
    assert [argv[1] for argv in runner.calls] == ["template"]


def test_images_of_another_version_are_not_the_local_ones() -> None:
    runner = FakeHelmRunner({"template": (0, _manifests("1.16.0"), "")})
    with pytest.raises(InputError, match=r"onceonly.local/dapr/daprd:1\.16\.0"):
        dapr_release.render(Helm(HELM, runner=runner), ChartValues("1.18.2"), "ns")


def test_the_chart_refusing_its_values_is_bad_input_in_helms_words() -> None:
    said = "Error: execution error at (dapr/charts/dapr_scheduler/...): `inMemoryStorage` can only be enabled"
    runner = FakeHelmRunner({"template": (1, "", said)})
    with pytest.raises(InputError, match="inMemoryStorage` can only be enabled"):
        dapr_release.render(Helm(HELM, runner=runner), ChartValues("1.16.0"), "ns")


def test_another_template_failure_is_the_environments() -> None:
    runner = FakeHelmRunner({"template": (1, "", "Error: open /x: permission denied")})
    with pytest.raises(EnvironmentProblem, match="permission denied") as info:
        dapr_release.render(Helm(HELM, runner=runner), ChartValues("1.18.2"), "ns")
    assert not isinstance(info.value, InputError)


def test_install_or_upgrade_is_one_upgrade_install_streamed_bounded_and_not_atomic() -> None:
    runner = FakeHelmRunner(
        {"template": (0, _manifests("1.16.0"), ""), "upgrade": (0, "Release has been upgraded", "")}
    )
    lines: list[str] = []
    helm = Helm(HELM, kubeconfig="/k/config", timeout="3m0s", runner=runner)
    dapr_release.install_or_upgrade(
        helm, ChartValues("1.16.0", storage="volume"), "dapr-chart", lines.append, wait=True
    )
    get = [
        "get",
        "values",
        "dapr",
        "--namespace",
        "dapr-chart",
        "--all",
        "--output",
        "json",
        "--kubeconfig",
        "/k/config",
    ]
    assert runner.calls[1][1:] == get  # no release there: an install
    upgrade = runner.calls[2]
    chart = str(dapr_chart.chart_dir("1.16.0"))
    assert upgrade[:5] == [str(HELM), "upgrade", "--install", "dapr", chart]
    for flag in (["--namespace", "dapr-chart"], ["--timeout", "3m0s"], ["--kubeconfig", "/k/config"]):
        assert upgrade[upgrade.index(flag[0]) : upgrade.index(flag[0]) + 2] == flag
    assert "--create-namespace" in upgrade and "--wait" in upgrade and "--atomic" not in upgrade
    assert runner.values[1]["dapr_scheduler"] == {
        "logLevel": "info",
        "cluster": {"inMemoryStorage": False, "storageSize": "1Gi"},
    }
    assert lines[0].startswith("rendered Dapr 1.16.0's chart: 6 images") and lines[-1] == "Release has been upgraded"


def test_a_failed_upgrade_is_a_cluster_error_quoting_helm() -> None:
    said = 'Error: UPGRADE FAILED: cannot patch "dapr-scheduler-server" with kind StatefulSet: Forbidden'
    runner = FakeHelmRunner({"template": (0, _manifests("1.18.2"), ""), "upgrade": (1, said, "")})
    with pytest.raises(ClusterError, match=r"helm upgrade --install dapr in ns failed \(exit 1\)") as info:
        dapr_release.install_or_upgrade(Helm(HELM, runner=runner), ChartValues("1.18.2"), "ns", lambda _: None)
    assert "cannot patch" in str(info.value)


def test_uninstall_waits_and_history_reads_revisions() -> None:
    history = '[{"revision":1,"status":"superseded","chart":"dapr-0.0.0","description":"Install complete"},'
    history += '{"revision":2,"status":"deployed","chart":"dapr-0.0.0","app_version":"0.0.0"}]'
    runner = FakeHelmRunner({"uninstall": (0, "release uninstalled", ""), "history": (0, history, "")})
    helm = Helm(HELM, runner=runner)
    revisions = dapr_release.history(helm, "ns")
    assert [(r.number, r.status) for r in revisions] == [(1, "superseded"), (2, "deployed")]
    assert revisions[0].description == "Install complete" and revisions[1].description == ""
    dapr_release.uninstall(helm, "ns", lambda _: None)
    assert runner.calls[0][1:] == ["history", "dapr", "--namespace", "ns", "--output", "json"]
    assert runner.calls[1][1:6] == ["uninstall", "dapr", "--namespace", "ns", "--wait"]


@pytest.mark.parametrize(("installed", "storage"), [(False, "memory"), (True, "volume")])
def test_an_upgrade_changing_the_schedulers_storage_is_refused_before_helm_upgrades(
    installed: bool, storage: dapr_chart.Storage
) -> None:
    """A StatefulSet's claims cannot change: helm would fail after rolling the other workloads."""
    was = json.dumps({"dapr_scheduler": {"cluster": {"inMemoryStorage": installed}}})
    runner = FakeHelmRunner({"template": (0, _manifests("1.18.2"), ""), "get": (0, was, ""), "upgrade": (0, "", "")})
    kept = "memory" if installed else "volume"
    with pytest.raises(InputError, match=f"keeps its scheduler storage .{kept}.*--scheduler-storage {kept}"):
        dapr_release.install_or_upgrade(Helm(HELM, runner=runner), ChartValues("1.18.2", storage=storage), "ns", print)
    assert [argv[1] for argv in runner.calls] == ["template", "get"]


def test_an_upgrade_keeping_the_storage_goes_ahead() -> None:
    was = json.dumps({"dapr_scheduler": {"cluster": {"inMemoryStorage": False}}})
    runner = FakeHelmRunner({"template": (0, _manifests("1.18.2"), ""), "get": (0, was, ""), "upgrade": (0, "", "")})
    dapr_release.install_or_upgrade(Helm(HELM, runner=runner), ChartValues("1.18.2", storage="volume"), "ns", print)
    assert [argv[1] for argv in runner.calls] == ["template", "get", "upgrade"]


def test_another_get_values_failure_is_a_cluster_error() -> None:
    runner = FakeHelmRunner({"template": (0, _manifests("1.18.2"), ""), "get": (1, "", "Error: Unauthorized")})
    with pytest.raises(ClusterError, match="helm get values dapr in ns failed"):
        dapr_release.install_or_upgrade(Helm(HELM, runner=runner), ChartValues("1.18.2"), "ns", print)
