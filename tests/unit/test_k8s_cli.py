"""``onceonly run --backend kubernetes``: bad input exits 3 and starts nothing (an unknown backend, a Kubernetes
option with the local backend, a context the kubeconfig lacks, a scenario the backend cannot play, --repeat, a
--journal-host-dir that is not absolute); an API server that does not answer exits 4. No cluster is involved: the
engine is a FAKE that must not be reached."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from harness import cli
from harness.campaign import experiment
from harness.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]


def scenario(name: str) -> str:
    return str(ROOT / "scenarios" / f"{name}.yaml")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONCEONLY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.setattr(cli, "console", Console(stderr=True, width=300, color_system=None))

    def never(*_a: Any, **_k: Any) -> None:
        raise AssertionError("FAKE engine: a refused run must start nothing")

    monkeypatch.setattr(experiment, "run", never)


def exit_of(argv: list[str], tmp_path: Path) -> int:
    with pytest.raises(SystemExit) as info:
        cli.main([*argv, "--reports", str(tmp_path / "reports")])
    assert not (tmp_path / "reports").exists()  # no run dir
    assert isinstance(info.value.code, int)
    return info.value.code


def kubeconfig(path: Path, server: str) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "there", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "there",
    }
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--backend", "nomad"], "unknown backend 'nomad'"),
        (["--context", "x"], "--context only apply to --backend kubernetes"),
        (["--namespace", "n", "--allow-scheduler-faults"], "--namespace, --allow-scheduler-faults only apply"),
        (["--backend", "kubernetes", "--repeat", "2"], "--repeat is not yet done"),
        (["--journal-host-dir", "/j"], "--journal-host-dir only apply to --backend kubernetes"),
        # before the API is reached (KUBECONFIG names no file: that would be another error)
        (["--backend", "kubernetes", "--journal-host-dir", "j"], "--journal-host-dir 'j' is not an absolute path"),
    ],
)
def test_options_that_do_not_fit_exit_3(
    argv: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert exit_of(["run", scenario("kill-daprd-mid-handler"), *argv], tmp_path) == ExitCode.BAD_INPUT
    assert said in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "said"), [("network-delay", "'network' capability"), ("scheduler-restart", "--allow")]
)
def test_a_scenario_kubernetes_cannot_play_exits_3_before_the_api_is_asked(
    name: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # KUBECONFIG names no file: reaching for the API would fail differently
    assert exit_of(["run", scenario(name), "--backend", "kubernetes"], tmp_path) == ExitCode.BAD_INPUT
    assert said in capsys.readouterr().err


def test_a_missing_kubeconfig_or_context_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", scenario("kill-daprd-mid-handler"), "--backend", "kubernetes"]
    assert exit_of(argv, tmp_path) == ExitCode.BAD_INPUT
    assert "kubeconfig" in capsys.readouterr().err
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "kc", "https://127.0.0.1:1")))
    assert exit_of([*argv, "--context", "elsewhere"], tmp_path) == ExitCode.BAD_INPUT
    assert "context 'elsewhere' is not in the kubeconfig (it has: there)" in capsys.readouterr().err


def test_an_api_server_that_does_not_answer_exits_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "kc", f"http://127.0.0.1:{port}")))
    argv = ["run", scenario("kill-daprd-mid-handler"), "--backend", "kubernetes", "--context", "there"]
    assert exit_of(argv, tmp_path) == ExitCode.ENVIRONMENT
    assert "did not answer" in capsys.readouterr().err
