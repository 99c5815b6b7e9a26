"""The control plane's table and each component's wrapper go.mod, rendered from real go.mods' `go mod edit -json`.

The fixtures are `go mod edit -json` of the go.mod the module proxy served for k8s.io/kubernetes@v1.37.2 and
go.etcd.io/etcd/server/v3@v3.6.16 (2026-12-01), trimmed to a few requires and replaces of each kind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from toolchain.gocmd import BuildError
from toolchain.kube import DEFAULT_VERSION, RELEASES, Component, KubeRelease, UnknownKubeVersionError, lookup
from toolchain.kube_wrapper import is_local, render_go_mod, wrapper_replaces
from toolchain.wrapper import Replace, TagModule, parse_go_mod_json

FIXTURES = Path(__file__).parent / "fixtures" / "kube"


def _component(name: str) -> Component:
    return next(c for c in lookup(DEFAULT_VERSION).components if c.name == name)


def _tag_module(fixture: str) -> TagModule:
    return parse_go_mod_json((FIXTURES / fixture).read_text())


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines()]


def test_the_release_table() -> None:
    release = lookup("v1.37.2")
    assert release is RELEASES[DEFAULT_VERSION]
    assert release.binaries == (
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubelet",
        "kube-proxy",
        "kwok",
    )
    assert {c.module: c.tag for c in release.components} == {
        "go.etcd.io/etcd/server/v3": "v3.6.16",
        "k8s.io/kubernetes": "v1.37.2",
        "sigs.k8s.io/kwok": "v0.8.0",
    }
    assert dict(_component("kubernetes").binaries)["kube-apiserver"] == "k8s.io/kubernetes/cmd/kube-apiserver"
    assert dict(_component("kwok").binaries) == {"kwok": "sigs.k8s.io/kwok/cmd/kwok"}  # never kwokctl
    assert _component("kubernetes").local_version == "v0.37.2"


def test_release_go_is_the_newest_go_line() -> None:
    old, new = _component("etcd"), _component("kwok")
    assert KubeRelease("x", (Component("a", "m/a", "1.0.0", "1.25.9", (), None), new)).go == new.go
    assert KubeRelease("x", (old, Component("b", "m/b", "1.0.0", "1.26.10", (), None))).go == "1.26.10"


def test_unknown_version_names_the_known_ones() -> None:
    with pytest.raises(UnknownKubeVersionError, match=r"1\.37\.2") as info:
        lookup("1.99.0")
    assert "toolchain/kube.py" in str(info.value)


def test_kubernetes_stamps_its_version_like_its_release_build() -> None:
    flags = _component("kubernetes").ldflags.split()
    assert flags[:2] == ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"{package}.gitVersion=v1.37.2" in flags
        assert f"{package}.gitMajor=1" in flags
        assert f"{package}.gitMinor=37" in flags


def test_parse_reads_the_required_modules() -> None:
    module = _tag_module("kubernetes-v1.37.2.go-mod.json")
    assert module.go == "1.26.0"
    assert "k8s.io/api" in module.requires
    assert "k8s.io/sample-controller" not in module.requires


def test_kubernetes_staging_replaces_become_the_published_modules() -> None:
    text = render_go_mod(_component("kubernetes"), _tag_module("kubernetes-v1.37.2.go-mod.json"))
    lines = _lines(text)
    assert "go 1.26.0" in lines
    assert "require k8s.io/kubernetes v1.37.2" in lines
    for name in ("api", "apiserver", "client-go"):
        assert f"k8s.io/{name} => k8s.io/{name} v0.37.2" in lines
    assert not any("=> ./staging" in ln for ln in lines if not ln.startswith("//"))
    # sample-controller is not required by the tag: its replace is dropped, and said so in a comment
    assert "// k8s.io/sample-controller => ./staging/src/k8s.io/sample-controller" in lines
    assert len([ln for ln in lines if "=>" in ln and not ln.startswith("//")]) == 3


def test_etcd_sibling_replaces_become_the_tag_and_the_forbidden_guards_go() -> None:
    text = render_go_mod(_component("etcd"), _tag_module("etcd-server-v3.6.16.go-mod.json"))
    lines = _lines(text)
    assert "require go.etcd.io/etcd/server/v3 v3.6.16" in lines
    assert "go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 v3.6.16" in lines
    assert "go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 v3.6.16" in lines
    live = [ln for ln in lines if not ln.startswith("//")]
    assert not any("FORBIDDEN_DEPENDENCY" in ln for ln in live)
    assert "// go.etcd.io/tests/v3 => ./FORBIDDEN_DEPENDENCY" in lines
    assert not any(ln.startswith("toolchain") for ln in lines)  # the tag's toolchain line is not copied


def test_a_module_replace_is_kept_as_the_tag_has_it() -> None:
    fork = Replace("github.com/a/b", "v1.0.0", "github.com/c/b", "v1.0.1")
    module = TagModule(go="1.26.0", replaces=(fork,), requires=frozenset({"github.com/a/b"}))
    replaces = wrapper_replaces(_component("kwok"), module)
    assert replaces.kept == (fork,)
    assert replaces.dropped == ()
    assert "github.com/a/b v1.0.0 => github.com/c/b v1.0.1" in _lines(render_go_mod(_component("kwok"), module))


def test_no_replaces_no_replace_block() -> None:
    text = render_go_mod(_component("kwok"), TagModule(go="1.26.0", replaces=()))
    assert "require sigs.k8s.io/kwok v0.8.0" in _lines(text)
    assert "replace" not in text


def test_a_local_replace_without_a_published_version_is_refused() -> None:
    local = Replace("sigs.k8s.io/x", None, "./x", None)
    module = TagModule(go="1.26.0", replaces=(local,), requires=frozenset({"sigs.k8s.io/x"}))
    with pytest.raises(BuildError, match="local_version") as info:
        render_go_mod(_component("kwok"), module)
    assert "sigs.k8s.io/x" in str(info.value)


@pytest.mark.parametrize(
    ("new_path", "local"),
    [("./staging/src/k8s.io/api", True), ("../api", True), ("/abs/dir", True), ("..", True), ("k8s.io/api", False)],
)
def test_is_local(new_path: str, local: bool) -> None:
    assert is_local(Replace("k8s.io/api", None, new_path, None if local else "v0.37.2")) is local
