"""``onceonly k8s dns build|corefile``: what each prints and its exit code. The build is a no-op on a cache made to
look built (no Go runs), and exit 4 naming Go when nothing is built and no Go is on PATH."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from harness import cli
from harness.cluster.kubernetes.plane import dns
from harness.errors import ExitCode
from toolchain import coredns
from toolchain.build import BUILD_RECORD


@pytest.fixture
def consoles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setattr(cli, "console", Console(stderr=True, width=300, color_system=None))
    monkeypatch.setattr(cli, "out", Console(width=300, color_system=None))
    monkeypatch.setenv("ONCEONLY_CACHE_DIR", str(tmp_path / "cache" / "dapr"))
    return tmp_path / "cache" / "kube"  # the kube cache beside it


def exit_of(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        cli.main(["k8s", "dns", *argv])
    assert isinstance(info.value.code, int)
    return info.value.code


def test_corefile_prints_the_corefile_for_the_address_and_kubeconfig(
    consoles: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["corefile", "--listen", "10.88.0.1", "--kubeconfig", str(tmp_path / "kc"), "--ready-port", "9181"]
    assert exit_of(argv) == 0
    expected = dns.corefile(dns.DnsConfig("10.88.0.1", 53, 8080, 9181, tmp_path / "kc"))
    assert capsys.readouterr().out == expected


def test_corefile_refuses_a_bad_address_with_exit_3(consoles: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_of(["corefile", "--listen", "gateway", "--kubeconfig", "/k"]) == ExitCode.BAD_INPUT
    assert "listen address 'gateway' is not an IPv4 address" in capsys.readouterr().err


def test_build_is_a_no_op_when_built_and_prints_the_binary(
    consoles: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = coredns.binary_path(consoles)
    binary.parent.mkdir(parents=True)
    binary.write_text("")
    (binary.parent.parent / BUILD_RECORD).write_text(json.dumps({"version": coredns.VERSION}))
    monkeypatch.setenv("PATH", "/nonexistent")  # a build would need go: none runs
    assert exit_of(["build"]) == 0
    assert capsys.readouterr().out.strip() == str(binary)


def test_build_without_go_exits_4_naming_it(
    consoles: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert exit_of(["build"]) == ExitCode.ENVIRONMENT
    assert "Go is not installed" in capsys.readouterr().err
    assert not coredns.built(consoles)
