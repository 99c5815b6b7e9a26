"""Helm, built from its Go module into onceonly's cache: what renders and installs Dapr's own chart.

Debian has no helm and no registry is reachable, so helm is built like the control plane (``toolchain.kube_build``):
a wrapper module requiring ``helm.sh/helm/v3`` at its tag, its go.mod's replace directives (none at v3.22.0) kept by
``toolchain.kube_wrapper``, ``cmd/helm`` built untouched with the linker stamps helm's own Makefile sets (its
version, and the Kubernetes version ``helm template`` assumes: the client-go minor it requires, 1.37 for v3.22.0).

Layout (``<root>`` is the control plane's cache, ``<cache>/kube``)::

    <root>/helm-<version>/bin/helm, build.json   a finished build (build.json written last)
    <root>/helm-<version>.work/                  the wrapper module (go.mod, go.sum)
    <root>/helm-<version>.partial/, .lock        as for every build (toolchain.build)

A build is verified by ``helm version --template {{.Version}}`` printing the tag; building a built helm is a no-op.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from toolchain import kube_build, kube_wrapper, wrapper
from toolchain.build import BuildDisplay, BuildResult, finish, fresh_partial, is_built, shown, version_dir
from toolchain.gocmd import (
    BuildError,
    BuildReporter,
    NullReporter,
    download,
    go_env,
    installed_go,
    locked,
    run_go,
    stream_build,
    write_wrapper,
)
from toolchain.kube import Component, KubeRelease

VERSION = "3.22.0"
MODULE = "helm.sh/helm/v3"
_K8S = ("1", "37")  # the Kubernetes version helm's Makefile derives from the client-go it requires (v0.37.0)

HELM = Component(
    name="helm",
    module=MODULE,
    version=VERSION,
    go="1.26.0",
    binaries=(("helm", f"{MODULE}/cmd/helm"),),
    local_version=None,
    stamps=(
        (f"{MODULE}/internal/version.version", f"v{VERSION}"),
        (f"{MODULE}/internal/version.gitTreeState", "clean"),
        *(
            (f"{MODULE}/{package}.k8sVersion{part}", value)
            for package in ("pkg/lint/rules", "pkg/chartutil")
            for part, value in zip(("Major", "Minor"), _K8S, strict=True)
        ),
    ),
)
_RELEASE = KubeRelease(f"helm {VERSION}", (HELM,))  # the words kube_build's error classifier uses


def build_name() -> str:
    return f"helm-{VERSION}"


def binary(root: Path) -> Path:
    return version_dir(root, build_name()) / "bin" / "helm"


def built(root: Path) -> bool:
    return is_built(root, build_name())


def build(
    root: Path, reporter: BuildReporter | None = None, *, go: str = "go", environ: Mapping[str, str] | None = None
) -> BuildResult:
    """Build helm into ``root`` unless it is built.

    Raises:
        BuildError: Go missing or too old, the module proxy refusing or unreachable, the build failing, or the
            helm built not printing its version; the message names the cause and the fix.
    """
    rep = reporter or NullReporter()
    started = time.monotonic()
    name = build_name()
    if is_built(root, name):
        return BuildResult(binary(root).parent, built_now=False, seconds=0.0)
    go_bin = installed_go(go, HELM.go, f"helm {VERSION}'s go.mod", "put a helm v3 on PATH yourself", environ)
    root.mkdir(parents=True, exist_ok=True)
    with locked(root / f"{name}.lock"):
        if is_built(root, name):
            return BuildResult(binary(root).parent, built_now=False, seconds=time.monotonic() - started)
        env = go_env(environ)
        work = root / f"{name}.work"
        rep.step(f"fetching {MODULE}@{HELM.tag} from the Go module proxy")
        tag = download(go_bin, MODULE, HELM.tag, env, lambda text: kube_build.classify(text, _RELEASE))
        write_wrapper(work, kube_wrapper.render_go_mod(HELM, wrapper.parse_go_mod_json(tag.go_mod_json)), tag)
        partial = fresh_partial(root, name)
        ((_, package),) = HELM.binaries
        rep.step("resolving the packages of helm (downloads modules on a cold machine)")
        listed = run_go(go_bin, ["list", "-deps", package], work, env, lambda t: kube_build.classify(t, _RELEASE))
        rep.packages("helm", len(listed.split()))
        rep.step("compiling helm")
        output = partial / "bin" / "helm"
        failure = stream_build(go_bin, ["-ldflags", HELM.ldflags, "-o", str(output), package], work, env, "helm", rep)
        if failure:
            raise kube_build.classify(failure, _RELEASE, what="go build of helm")
        printed = printed_version(output)
        if printed != HELM.tag:
            raise BuildError(f"the helm just built prints version {printed!r}, expected {HELM.tag!r} (linker stamps)")
        rep.step(f"verified: helm version prints {printed}")
        seconds = time.monotonic() - started
        record = {
            "helm": VERSION,
            "module": f"{MODULE}@{HELM.tag}",
            "go": run_go(go_bin, ["env", "GOVERSION"], None, env).strip(),
            "packages": len(listed.split()),
            "printed_version": printed,
            "seconds": round(seconds, 1),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        finish(partial, version_dir(root, name), record)
        return BuildResult(binary(root).parent, built_now=True, seconds=seconds)


def printed_version(helm: Path, timeout: float = 20.0) -> str:
    """What ``helm version --template {{.Version}}`` prints ("v3.22.0")."""
    try:
        done = subprocess.run(
            [str(helm), "version", "--template", "{{.Version}}"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"{helm} could not be run to read its version: {exc}") from exc
    if done.returncode != 0:
        raise BuildError(f"`{helm} version` failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
    return done.stdout.strip()


def build_with_progress(root: Path, display: BuildDisplay) -> Path:
    """helm built into ``root`` (a no-op when built), its progress shown; the path of the binary."""
    return shown(display, f"helm {VERSION}", MODULE, binary(root), built(root), lambda rep: build(root, rep))
