"""toolchain.kube_build with a FAKE `go` (tests/unit/fake_go.py): no network, no real Go, no real control plane.

The fake answers `go mod download -json MODULE@TAG` with an info pointing at a go.mod JSON file it `cat`s for
`go mod edit -json`, `go list -deps` with three packages, and `go build -o OUT` by copying a fake binary whose
`--version` prints what the test says."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from rich.console import Console

from harness import cli
from tests.unit.fake_go import FAKE_GO, download_error, executable, fake_go, goversion, list_and_build
from tests.unit.test_dapr_build import RecordingReporter
from toolchain import probe
from toolchain.build import BUILD_RECORD, BuildError, is_built
from toolchain.kube import KubeRelease, lookup
from toolchain.kube_build import build
from toolchain.versions import lookup as dapr_lookup

RELEASE = lookup("1.37.2")

# what each real binary prints for --version (kwok: cobra's "NAME version V" with kwok's own version string)
PRINTED = {
    "etcd": "etcd Version: 3.6.16\nGit SHA: GitNotFound\nGo Version: go1.26.8\nGo OS/Arch: linux/amd64",
    "kube-apiserver": "Kubernetes v1.37.2",
    "kube-controller-manager": "Kubernetes v1.37.2",
    "kube-scheduler": "Kubernetes v1.37.2",
    "kubelet": "Kubernetes v1.37.2",
    "kube-proxy": "Kubernetes v1.37.2",
    "kwok": "kwok version v0.8.0 go1.26.8 (linux/amd64)",
}

KUBE_GO_MOD = {
    "Go": "1.26.0",
    "Require": [{"Path": "k8s.io/api", "Version": "v0.0.0"}],
    "Replace": [{"Old": {"Path": "k8s.io/api"}, "New": {"Path": "./staging/src/k8s.io/api"}}],
}


def _fake_release_env(
    tmp_path: Path,
    release: KubeRelease,
    printed: dict[str, str],
    go_lines: dict[str, str] | None = None,
    *,
    dapr: bool = False,
) -> dict[str, str]:
    """The fake go serves the release's modules, and with ``dapr`` Dapr's too (for sentry and the injector, which
    `k8s build` builds as well) as a Go new enough for both."""
    templates = tmp_path / "templates"
    templates.mkdir()
    for name, text in {**printed, **DAPR_PLANE_LOGS}.items():
        executable(templates / name, f"#!/bin/sh\nprintf '%s\\n' {shlex.quote(text)}\n")
    downloads = _dapr_download(tmp_path)
    for c in release.components:
        tag_dir = tmp_path / "modcache" / f"{c.name}@{c.tag}"
        tag_dir.mkdir(parents=True)
        (tag_dir / "go.sum").write_text(f"{c.module} {c.tag} h1:fake=\n")
        go_mod = KUBE_GO_MOD if c.name == "kubernetes" else {"Go": c.go}
        if go_lines and c.name in go_lines:
            go_mod = {**go_mod, "Go": go_lines[c.name]}
        (tag_dir / "go.mod.json").write_text(json.dumps(go_mod))
        info = {"Path": c.module, "Version": c.tag, "GoMod": str(tag_dir / "go.mod.json"), "Dir": str(tag_dir)}
        downloads += f"    {c.module}@{c.tag}) printf '%s\\n' {shlex.quote(json.dumps(info))} ;;\n"
    cases = (
        goversion(DAPR.go if dapr else release.go)
        + f'"mod download") case "$4" in\n{downloads}    *) exit 98 ;;\n  esac ;;\n'
        + '"mod edit") cat "$4" ;;\n'
        + list_and_build(templates)
    )
    return fake_go(tmp_path / "fakebin", cases)


DAPR = dapr_lookup("1.18.2")
# what Dapr's sentry and injector log first (neither has --version: toolchain/dapr_plane.py)
DAPR_PLANE_LOGS = {
    "sentry": f'level=info msg="Starting Dapr Sentry certificate authority -- version {DAPR.version} -- commit x"',
    "injector": f'level=info msg="Starting Dapr Sidecar Injector -- version {DAPR.version} -- commit x"',
}


def _dapr_download(tmp_path: Path) -> str:
    tag_dir = tmp_path / "modcache" / f"dapr@{DAPR.tag}"
    tag_dir.mkdir(parents=True)
    (tag_dir / "go.mod.json").write_text(json.dumps({"Go": DAPR.go}))
    info = {
        "Path": "github.com/dapr/dapr",
        "Version": DAPR.tag,
        "GoMod": str(tag_dir / "go.mod.json"),
        "Dir": str(tag_dir),
    }
    return f"    github.com/dapr/dapr@{DAPR.tag}) printf '%s\\n' {shlex.quote(json.dumps(info))} ;;\n"


def test_whole_build_with_fakes(tmp_path: Path) -> None:
    env = _fake_release_env(tmp_path, RELEASE, PRINTED)
    root = tmp_path / "cache" / "kube"
    reporter = RecordingReporter()

    result = build(RELEASE, root, reporter, go=FAKE_GO, environ=env)

    assert result.built_now is True
    assert result.bin_dir == root / "1.37.2" / "bin"
    assert sorted(p.name for p in result.bin_dir.iterdir()) == sorted(RELEASE.binaries)
    assert not (root / "1.37.2.partial").exists()
    record = json.loads((root / "1.37.2" / BUILD_RECORD).read_text())
    assert record["kubernetes"] == "1.37.2"
    assert record["go"] == f"go{RELEASE.go}"
    assert record["modules"] == {
        "go.etcd.io/etcd/server/v3": "v3.6.16",
        "k8s.io/kubernetes": "v1.37.2",
        "sigs.k8s.io/kwok": "v0.8.0",
    }
    assert record["binaries"]["kube-scheduler"] == "k8s.io/kubernetes/cmd/kube-scheduler"
    assert record["printed_versions"]["kube-apiserver"] == "Kubernetes v1.37.2"
    work = root / "1.37.2.work"
    kube_mod = (work / "kubernetes" / "go.mod").read_text()
    assert "require k8s.io/kubernetes v1.37.2" in kube_mod
    assert "k8s.io/api => k8s.io/api v0.37.2" in kube_mod
    assert (work / "etcd" / "go.sum").read_text() == "go.etcd.io/etcd/server/v3 v3.6.16 h1:fake=\n"
    assert "require sigs.k8s.io/kwok v0.8.0" in (work / "kwok" / "go.mod").read_text()
    assert reporter.totals == dict.fromkeys(RELEASE.binaries, 3)
    assert reporter.compiled_packages == {name: ["example.com/a"] for name in RELEASE.binaries}
    assert any("k8s.io/kubernetes@v1.37.2" in step for step in reporter.steps)

    assert build(RELEASE, root, go=FAKE_GO, environ=env).built_now is False


def test_a_binary_not_naming_its_version_is_not_kept(tmp_path: Path) -> None:
    env = _fake_release_env(tmp_path, RELEASE, {**PRINTED, "kube-scheduler": "Kubernetes v1.37.20"})
    root = tmp_path / "cache"
    with pytest.raises(BuildError, match=r"kube-scheduler just built does not name version 1\.37\.2"):
        build(RELEASE, root, go=FAKE_GO, environ=env)
    assert not is_built(root, RELEASE.version)
    assert not (root / RELEASE.version).exists()


def test_a_tag_go_line_differing_from_the_table_is_reported(tmp_path: Path) -> None:
    env = _fake_release_env(tmp_path, RELEASE, PRINTED, go_lines={"kwok": "1.26.3"})
    with pytest.raises(BuildError, match="correct the table entry") as info:
        build(RELEASE, tmp_path / "cache", go=FAKE_GO, environ=env)
    assert "sigs.k8s.io/kwok@v0.8.0" in str(info.value)
    assert "1.26.3" in str(info.value)


def test_go_too_old(tmp_path: Path) -> None:
    env = fake_go(tmp_path / "fakebin", goversion("1.25.4"))
    with pytest.raises(BuildError, match="too old") as info:
        build(RELEASE, tmp_path / "cache", go=FAKE_GO, environ=env)
    assert "1.25.4" in str(info.value)
    assert f"needs Go {RELEASE.go}" in str(info.value)
    assert "Kubernetes 1.37.2 control plane" in str(info.value)
    assert not (tmp_path / "cache").exists()


def test_no_go_on_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BuildError, match="Go is not installed"):
        build(RELEASE, tmp_path / "cache", environ={"PATH": str(empty)})


def test_proxy_refusing_a_module(tmp_path: Path) -> None:
    error = "k8s.io/kubernetes@v1.37.2: reading https://proxy.golang.org/...: 403 Forbidden\n\tnot available."
    env = fake_go(tmp_path / "fakebin", goversion(RELEASE.go) + download_error(error))
    root = tmp_path / "cache"
    with pytest.raises(BuildError, match=r"refused a module that the Kubernetes 1\.37\.2 control plane needs") as info:
        build(RELEASE, root, go=FAKE_GO, environ=env)
    assert "GOPROXY" in str(info.value)
    assert "403 Forbidden" in str(info.value)
    assert not is_built(root, RELEASE.version)


def test_unreachable_proxy(tmp_path: Path) -> None:
    cases = (
        goversion(RELEASE.go)
        + '"mod download") echo "dial tcp: lookup proxy.golang.org: no such host" >&2; exit 1 ;;\n'
    )
    env = fake_go(tmp_path / "fakebin", cases)
    with pytest.raises(BuildError, match="cannot reach the Go module proxy"):
        build(RELEASE, tmp_path / "cache", go=FAKE_GO, environ=env)


def test_a_failing_go_build_is_reported_with_its_last_lines(tmp_path: Path) -> None:
    env = _fake_release_env(tmp_path, RELEASE, PRINTED)
    script = (tmp_path / "fakebin" / FAKE_GO).read_text()
    script = script.replace('"build -v")\n', '"build -v") echo "./x.go:1: undefined: Foo" >&2; exit 1 ;;\n"never")\n')
    executable(tmp_path / "fakebin" / FAKE_GO, script)
    with pytest.raises(BuildError, match="go build of etcd failed") as info:
        build(RELEASE, tmp_path / "cache", go=FAKE_GO, environ=env)
    assert "undefined: Foo" in str(info.value)


def test_already_built_needs_no_go(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    (root / RELEASE.version / "bin").mkdir(parents=True)
    record = {"binaries": dict.fromkeys(RELEASE.binaries, "k8s.io/x")}
    (root / RELEASE.version / BUILD_RECORD).write_text(json.dumps(record) + "\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert build(RELEASE, root, environ={"PATH": str(empty)}).built_now is False


def test_a_cache_built_before_kubelet_was_added_is_built_again(tmp_path: Path) -> None:
    env = _fake_release_env(tmp_path, RELEASE, PRINTED)
    root = tmp_path / "cache" / "kube"
    (root / RELEASE.version / "bin").mkdir(parents=True)
    older = [name for name in RELEASE.binaries if name not in ("kubelet", "kube-proxy")]
    (root / RELEASE.version / BUILD_RECORD).write_text(json.dumps({"binaries": dict.fromkeys(older, "x")}) + "\n")
    assert is_built(root, RELEASE.version)

    result = build(RELEASE, root, go=FAKE_GO, environ=env)

    assert result.built_now is True
    assert {"kubelet", "kube-proxy"} <= {p.name for p in result.bin_dir.iterdir()}


# --- `onceonly k8s build`, with the FAKE go found on PATH as `go` ----------------------------------------------


def _cli(argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str) -> int:
    monkeypatch.setenv("ONCEONLY_CACHE_DIR", str(tmp_path / "cache" / "dapr"))
    monkeypatch.setenv("PATH", path)
    monkeypatch.delenv("ONCEONLY_K8S_VERSION", raising=False)
    monkeypatch.setattr(cli, "console", Console(stderr=True, width=200, color_system=None))
    monkeypatch.setattr(cli, "out", Console(width=200, color_system=None))
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert isinstance(info.value.code, int)
    return info.value.code


def _as_go(env: dict[str, str]) -> str:
    fakebin = Path(env["PATH"].split(":")[0])
    (fakebin / "go").write_text((fakebin / FAKE_GO).read_text())
    (fakebin / "go").chmod(0o755)
    return env["PATH"]


def test_cli_builds_into_kube_beside_the_dapr_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _as_go(_fake_release_env(tmp_path, RELEASE, PRINTED, dapr=True))
    assert _cli(["k8s", "build"], tmp_path, monkeypatch, path) == 0
    assert is_built(tmp_path / "cache" / "kube", "1.37.2")
    assert (tmp_path / "cache" / "kube" / "1.37.2" / "bin" / "kube-apiserver").is_file()
    err = capsys.readouterr().err
    assert "Building the Kubernetes 1.37.2 control plane (etcd, kube-apiserver" in err
    assert "control plane built in" in err
    assert "Dapr 1.18.2's sentry and injector built in" in err
    assert (tmp_path / "cache" / "kube" / "dapr-1.18.2" / "bin" / "injector").is_file()
    assert (tmp_path / "cache" / "dapr" / "1.18.2.work" / "go.mod").is_file()  # Dapr's wrapper module, made here

    assert _cli(["k8s", "build", "--version", "v1.37.2"], tmp_path, monkeypatch, path) == 0
    assert "control plane already built" in capsys.readouterr().err


def test_cli_unknown_version_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["k8s", "build", "--version", "1.30.0"], tmp_path, monkeypatch, "/usr/bin:/bin") == 3
    err = capsys.readouterr().err
    assert "unknown Kubernetes version '1.30.0'" in err
    assert "1.37.2" in err
    assert not (tmp_path / "cache").exists()


def test_cli_go_too_old_is_an_environment_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _as_go(fake_go(tmp_path / "fakebin", goversion("1.24.0")))
    assert _cli(["k8s", "build"], tmp_path, monkeypatch, path) == 4
    assert "Go 1.24.0 is too old" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("lines", "version", "says"),
    [
        (["Kubernetes v1.37.2"], "1.37.2", True),
        (["etcd Version: 3.6.16", "Go Version: go1.26.8"], "3.6.16", True),
        (["kwok version v0.8.0 go1.26.8 (linux/amd64)"], "0.8.0", True),
        (["Kubernetes v1.37.20"], "1.37.2", False),
        (["Kubernetes v11.37.2"], "1.37.2", False),
        (["Kubernetes v0.0.0-master+$Format:%H$"], "1.37.2", False),
    ],
)
def test_says_version(lines: list[str], version: str, says: bool) -> None:
    assert probe.says_version(lines, version) is says
