"""``onceonly k8s dapr ...`` with a FAKE helm (a shell script standing where the built helm would be): what each
command prints and its exit code; bad input (version, --set, storage, kubeconfig, an image not built here, upgrade
with no release) exits 3 before helm touches a cluster; helm failing on the cluster exits 4 with helm's words."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from harness import cli, cli_k8s_dapr
from harness.cluster.kubernetes import dapr_chart
from harness.errors import ExitCode
from tests.unit.fake_go import executable

FAKE_HELM = """#!/bin/sh
# FAKE helm for unit tests: logs its argv, answers each sub-command from the environment the test sets.
echo "$@" >> {log}
case "$1" in
template) cat "$FAKE_MANIFESTS" ;;
upgrade) echo 'Release "dapr" has been upgraded. Happy Helming!'; exit "${{FAKE_UPGRADE_RC:-0}}" ;;
history) [ -n "$FAKE_HISTORY" ] || {{ echo 'Error: release: not found' >&2; exit 1; }}; printf '%s' "$FAKE_HISTORY" ;;
uninstall) echo 'release "dapr" uninstalled' ;;
get) [ -n "$FAKE_VALUES" ] || {{ echo 'Error: release: not found' >&2; exit 1; }}; printf '%s' "$FAKE_VALUES" ;;
*) echo "fake helm: unexpected $*" >&2; exit 97 ;;
esac
"""
HISTORY = '[{"revision":1,"status":"deployed","chart":"dapr-0.0.0","description":"Install complete"}]'


def manifests(version: str, image: str | None = None) -> str:
    images = [f"{dapr_chart.REGISTRY}/{name}:{version}" for name in dapr_chart.IMAGE_NAMES]
    containers = [{"name": str(i), "image": image} for i, image in enumerate([*images, *([image] if image else [])])]
    return yaml.safe_dump({"kind": "Deployment", "spec": {"template": {"spec": {"containers": containers}}}})


@pytest.fixture
def helm_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "helm-argv"
    helm = executable(tmp_path / "helm", FAKE_HELM.format(log=shlex.quote(str(log))))
    monkeypatch.setattr(cli_k8s_dapr, "ensure_helm", lambda: helm)
    monkeypatch.setattr(cli, "console", Console(stderr=True, width=300, color_system=None))
    monkeypatch.setattr(cli, "out", Console(width=300, color_system=None))
    (tmp_path / "manifests.yaml").write_text(manifests("1.18.2"))
    monkeypatch.setenv("FAKE_MANIFESTS", str(tmp_path / "manifests.yaml"))
    monkeypatch.delenv("FAKE_HISTORY", raising=False)
    monkeypatch.delenv("FAKE_VALUES", raising=False)
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
    return log


def commands(log: Path) -> list[str]:
    """The sub-command of each helm run, in order."""
    return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []


def exit_of(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        cli.main(["k8s", "dapr", *argv])
    assert isinstance(info.value.code, int)
    return info.value.code


def test_render_prints_the_manifests_on_stdout(helm_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_of(["render", "--dapr", "1.18.2", "--namespace", "dapr-chart", "--set", "global.ha.enabled=true"]) == 0
    assert capsys.readouterr().out == manifests("1.18.2")
    argv = helm_log.read_text().split()
    assert argv[:2] == ["template", "dapr"] and "dapr-chart" in argv


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["render", "--dapr", "9.9.9"], "unknown Dapr version '9.9.9'"),
        (["render", "--set", "nokey"], "--set 'nokey'"),
        (["render", "--scheduler-storage", "disk"], "give memory or volume"),
        (["install", "--kubeconfig", "/no/such/file"], "--kubeconfig /no/such/file: no such file"),
        (["uninstall", "--kubeconfig", "/no/such/file"], "--kubeconfig /no/such/file: no such file"),
        (["install", "--volumes-dir", "/tmp/v"], "--volumes-dir is for --scheduler-storage volume"),
    ],
)
def test_bad_input_exits_3_before_helm_runs(
    helm_log: Path, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    assert exit_of(argv) == ExitCode.BAD_INPUT
    assert said in capsys.readouterr().err
    assert commands(helm_log) == []


def test_an_image_not_built_here_exits_3_and_nothing_is_installed(
    helm_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "manifests.yaml").write_text(manifests("1.18.2", image="ghcr.io/dapr/daprd:edge"))
    assert exit_of(["install", "--kubeconfig", str(tmp_path / "kubeconfig")]) == ExitCode.BAD_INPUT
    assert "not built here: ghcr.io/dapr/daprd:edge" in capsys.readouterr().err
    assert commands(helm_log) == ["template"]


def test_install_runs_upgrade_install_and_says_the_revision(
    helm_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FAKE_HISTORY", HISTORY)
    kubeconfig = str(tmp_path / "kubeconfig")
    assert exit_of(["install", "--kubeconfig", kubeconfig, "--wait", "--timeout", "2m"]) == 0
    upgrade = next(line.split() for line in helm_log.read_text().splitlines() if line.startswith("upgrade"))
    assert upgrade[:3] == ["upgrade", "--install", "dapr"]
    assert ["--kubeconfig", kubeconfig] == upgrade[upgrade.index("--kubeconfig") :][:2]
    assert "--wait" in upgrade and "2m" in upgrade
    captured = capsys.readouterr()
    assert "Dapr 1.18.2 in dapr-system: revision 1 deployed (Install complete)" in captured.out
    assert "Happy Helming" in captured.err  # helm's lines are progress, on stderr


def test_upgrade_of_a_namespace_without_a_release_exits_3(
    helm_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert exit_of(["upgrade", "--kubeconfig", str(tmp_path / "kubeconfig")]) == ExitCode.BAD_INPUT
    assert "no Dapr release in dapr-system to upgrade" in capsys.readouterr().err
    assert commands(helm_log) == ["history"]


def test_an_upgrade_changing_the_schedulers_storage_exits_3(
    helm_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FAKE_HISTORY", HISTORY)
    monkeypatch.setenv("FAKE_VALUES", '{"dapr_scheduler": {"cluster": {"inMemoryStorage": false}}}')
    assert exit_of(["upgrade", "--kubeconfig", str(tmp_path / "kubeconfig")]) == ExitCode.BAD_INPUT
    assert "give storage volume (--scheduler-storage volume)" in capsys.readouterr().err
    assert commands(helm_log) == ["history", "template", "get"]


def test_helm_failing_on_the_cluster_exits_4_with_its_words(
    helm_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FAKE_HISTORY", HISTORY)
    monkeypatch.setenv("FAKE_UPGRADE_RC", "1")
    assert exit_of(["upgrade", "--dapr", "1.18.2", "--kubeconfig", str(tmp_path / "kubeconfig")]) == 4
    err = capsys.readouterr().err
    assert "helm upgrade --install dapr in dapr-system failed (exit 1)" in err and "Happy Helming" in err


class FakeApi:
    """FAKE cluster API for --volumes-dir: records what would be server-side applied."""

    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []

    def apply(self, resource: dict[str, Any]) -> None:
        self.applied.append(resource)


def test_volumes_dir_makes_the_schedulers_volumes_after_the_render_is_checked(
    helm_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = FakeApi()
    monkeypatch.setattr(cli_k8s_dapr, "connect", lambda kubeconfig: api)
    monkeypatch.setenv("FAKE_HISTORY", HISTORY)
    argv = ["install", "--dapr", "1.16.0", "--namespace", "d", "--scheduler-storage", "volume"]
    (tmp_path / "manifests.yaml").write_text(manifests("1.16.0", image="ghcr.io/dapr/daprd:edge"))
    assert exit_of([*argv, "--volumes-dir", str(tmp_path / "v"), "--kubeconfig", str(tmp_path / "kubeconfig")]) == 3
    assert api.applied == [] and commands(helm_log) == ["template"]  # refused input: nothing made

    (tmp_path / "manifests.yaml").write_text(manifests("1.16.0"))
    assert exit_of([*argv, "--volumes-dir", str(tmp_path / "v"), "--kubeconfig", str(tmp_path / "kubeconfig")]) == 0
    assert [v["spec"]["hostPath"]["path"] for v in api.applied] == [f"{tmp_path}/v/d/scheduler-{i}" for i in range(3)]
    assert commands(helm_log)[1:] == ["template", "template", "get", "upgrade", "history"]
