"""toolchain.helm with a FAKE `go` (tests/unit/fake_go.py) and a FAKE helm it "builds": no network, no real Go,
no real helm. The fake go records the argv of `go build` so the linker stamps can be checked."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.unit.fake_go import FAKE_GO, executable, fake_go, goversion, list_and_build
from tests.unit.test_dapr_build import RecordingReporter
from toolchain import helm
from toolchain.build import BUILD_RECORD, BuildError, is_built


def _env(tmp_path: Path, prints: str, go_mod: Mapping[str, object] | None = None) -> dict[str, str]:
    """A fake go serving helm.sh/helm/v3@v3.22.0, whose `go build -o OUT` copies a fake helm printing ``prints``
    for `helm version --template ...` (and logs its own argv to ``build-argv``)."""
    templates = tmp_path / "templates"
    templates.mkdir()
    executable(templates / "helm", f'#!/bin/sh\n[ "$1" = version ] && printf %s {shlex.quote(prints)}\n')
    tag_dir = tmp_path / "modcache" / "helm@v3.22.0"
    tag_dir.mkdir(parents=True)
    (tag_dir / "go.sum").write_text("helm.sh/helm/v3 v3.22.0 h1:fake=\n")
    (tag_dir / "go.mod.json").write_text(json.dumps(go_mod or {"Go": "1.26.0"}))
    info = {"Path": helm.MODULE, "Version": "v3.22.0", "GoMod": str(tag_dir / "go.mod.json"), "Dir": str(tag_dir)}
    log = tmp_path / "build-argv"
    cases = (
        goversion("1.26.8")
        + f'"mod download") printf "%s\\n" {shlex.quote(json.dumps(info))} ;;\n'
        + '"mod edit") cat "$4" ;;\n'
        + list_and_build(templates).replace('"build -v")\n', f'"build -v")\n  echo "$@" > {shlex.quote(str(log))}\n')
    )
    return fake_go(tmp_path / "fakebin", cases)


def test_helm_is_built_stamped_verified_and_then_a_no_op(tmp_path: Path) -> None:
    env = _env(tmp_path, "v3.22.0")
    root = tmp_path / "cache" / "kube"
    reporter = RecordingReporter()

    result = helm.build(root, reporter, go=FAKE_GO, environ=env)

    assert result.built_now is True
    assert helm.binary(root) == root / "helm-3.22.0" / "bin" / "helm"
    assert helm.binary(root).is_file() and helm.built(root)
    assert not (root / "helm-3.22.0.partial").exists()
    record = json.loads((root / "helm-3.22.0" / BUILD_RECORD).read_text())
    assert record["printed_version"] == "v3.22.0"
    assert record["module"] == "helm.sh/helm/v3@v3.22.0"
    assert record["packages"] == 3
    go_mod = (root / "helm-3.22.0.work" / "go.mod").read_text()
    assert "require helm.sh/helm/v3 v3.22.0" in go_mod
    assert (root / "helm-3.22.0.work" / "go.sum").read_text() == "helm.sh/helm/v3 v3.22.0 h1:fake=\n"
    argv = (tmp_path / "build-argv").read_text()
    assert "-X helm.sh/helm/v3/internal/version.version=v3.22.0" in argv
    assert "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37" in argv  # helm template's Kubernetes: 1.37
    assert argv.strip().endswith("helm.sh/helm/v3/cmd/helm")
    assert reporter.totals == {"helm": 3}

    (tmp_path / "fakebin" / FAKE_GO).unlink()  # a built helm needs no Go at all
    assert helm.build(root, go=FAKE_GO, environ=env).built_now is False


def test_a_helm_not_printing_its_version_is_not_kept(tmp_path: Path) -> None:
    env = _env(tmp_path, "v3.22")  # helm's own default when the version stamp does not take
    root = tmp_path / "cache"
    with pytest.raises(BuildError, match=r"prints version 'v3\.22', expected 'v3\.22\.0'"):
        helm.build(root, go=FAKE_GO, environ=env)
    assert not is_built(root, helm.build_name())


def test_a_local_replace_in_helms_go_mod_is_reported(tmp_path: Path) -> None:
    go_mod = {
        "Go": "1.26.0",
        "Require": [{"Path": "example.com/x", "Version": "v1.0.0"}],
        "Replace": [{"Old": {"Path": "example.com/x"}, "New": {"Path": "./x"}}],
    }
    env = _env(tmp_path, "v3.22.0", go_mod)
    with pytest.raises(BuildError, match=r"replaces example\.com/x by the directory \./x"):
        helm.build(tmp_path / "cache", go=FAKE_GO, environ=env)


def test_go_too_old_names_helm(tmp_path: Path) -> None:
    env = fake_go(tmp_path / "fakebin", goversion("1.25.4"))
    with pytest.raises(BuildError, match=r"helm 3\.22\.0's go.mod"):
        helm.build(tmp_path / "cache", go=FAKE_GO, environ=env)
    assert not (tmp_path / "cache").exists()
