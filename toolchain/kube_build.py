"""Build the local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok,
and the node's kubelet and kube-proxy)
from Go modules into a per-release cache, the way ``toolchain.build`` builds Dapr.

Layout of the cache (``<root>`` is ``$XDG_CACHE_HOME/onceonly/kube``, beside ``dapr/`` and ``toxiproxy/``)::

    <root>/<version>/bin/<binary>..., build.json   a finished build (build.json is written last)
    <root>/<version>.work/<component>/             each component's wrapper module (go.mod, go.sum)
    <root>/<version>.partial/                      a build in progress; never read as a result
    <root>/<version>.lock                          flock held while building

``<version>`` is the Kubernetes version the release is named for (``toolchain.kube``). Every binary is built,
then asked ``--version``; only when each names its component's version is ``.partial`` renamed, so an
interrupted or wrong build never counts as built. Building a release that is built is a no-op; a cache whose
build.json lacks a binary the release now names (a cache from before kubelet was added) is built again (Go's own
build cache makes the binaries it had quick).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path

from toolchain import kube_wrapper, probe, wrapper
from toolchain.build import BUILD_RECORD, BuildResult, finish, fresh_partial, is_built, version_dir
from toolchain.gocmd import (
    BuildError,
    BuildReporter,
    NullReporter,
    download,
    go_env,
    installed_go,
    is_refusal,
    is_unreachable,
    last_lines,
    locked,
    run_go,
    stream_build,
    unreachable_error,
    write_wrapper,
)
from toolchain.kube import Component, KubeRelease


def build(
    release: KubeRelease,
    root: Path,
    reporter: BuildReporter | None = None,
    *,
    go: str = "go",
    environ: Mapping[str, str] | None = None,
) -> BuildResult:
    """Build ``release`` into ``root`` unless it is there already.

    Raises:
        BuildError: Go is missing or too old, the module proxy is unreachable or refuses a module, a tag's go.mod
            disagrees with the table, the Go build failed, or a binary does not name its version. The message
            names the cause and the fix.
    """
    rep = reporter or NullReporter()
    started = time.monotonic()
    final = version_dir(root, release.version)
    if is_complete(root, release):
        return BuildResult(final / "bin", built_now=False, seconds=0.0)

    what = f"the Kubernetes {release.version} control plane (its modules' go.mod)"
    go_bin = installed_go(go, release.go, what, "run against a Kubernetes cluster you have", environ)
    root.mkdir(parents=True, exist_ok=True)
    with locked(root / f"{release.version}.lock"):
        if is_complete(root, release):  # another process finished it while we waited
            return BuildResult(final / "bin", built_now=False, seconds=time.monotonic() - started)
        env = go_env(environ)
        work = root / f"{release.version}.work"
        partial = fresh_partial(root, release.version)

        for component in release.components:
            rep.step(f"fetching {component.module}@{component.tag} from the Go module proxy")
            _render_wrapper(go_bin, release, component, work / component.name, env)
        printed: dict[str, str] = {}
        for component in release.components:
            for name, package in component.binaries:
                output = partial / "bin" / name
                _build_binary(go_bin, release, component, name, package, output, work / component.name, env, rep)
                printed[name] = _verified(output, component)
        rep.step(f"verified: {', '.join(release.binaries)} each name their version")
        seconds = time.monotonic() - started
        finish(partial, final, _record(release, go_bin, env, printed, seconds))
        return BuildResult(final / "bin", built_now=True, seconds=seconds)


def is_complete(root: Path, release: KubeRelease) -> bool:
    """Built, and its build.json names every binary ``release`` has (a finished build of fewer is not enough)."""
    if not is_built(root, release.version):
        return False
    record = json.loads((version_dir(root, release.version) / BUILD_RECORD).read_text())
    built = record.get("binaries", {}) if isinstance(record, dict) else {}
    return all(name in built for name in release.binaries)


# --- steps -------------------------------------------------------------------------------------------------


def _render_wrapper(go_bin: str, release: KubeRelease, component: Component, work: Path, env: dict[str, str]) -> None:
    tag = download(go_bin, component.module, component.tag, env, lambda text: classify(text, release))
    tag_module = wrapper.parse_go_mod_json(tag.go_mod_json)
    if tag_module.go != component.go:
        raise BuildError(
            f"toolchain/kube.py says {component.module}@{component.tag} needs Go {component.go}, but its go.mod "
            f"says {tag_module.go}; correct the table entry"
        )
    write_wrapper(work, kube_wrapper.render_go_mod(component, tag_module), tag)


def _build_binary(
    go_bin: str,
    release: KubeRelease,
    component: Component,
    name: str,
    package: str,
    output: Path,
    work: Path,
    env: dict[str, str],
    rep: BuildReporter,
) -> None:
    tags = ["-tags", component.tags] if component.tags else []
    rep.step(f"resolving the packages of {name} (downloads modules on a cold machine)")
    listed = run_go(go_bin, ["list", "-deps", *tags, package], work, env, lambda text: classify(text, release))
    rep.packages(name, len(listed.split()))
    rep.step(f"compiling {name}")
    failure = stream_build(
        go_bin, [*tags, "-ldflags", component.ldflags, "-o", str(output), package], work, env, name, rep
    )
    if failure:
        raise classify(failure, release, what=f"go build of {name}")


def _verified(binary: Path, component: Component) -> str:
    try:
        lines = probe.version_output(binary)
    except probe.ProbeError as exc:
        raise BuildError(f"the {binary.name} just built does not answer --version: {exc}") from exc
    if not probe.says_version(lines, component.version):
        raise BuildError(
            f"the {binary.name} just built does not name version {component.version} in --version "
            f"(it printed {' | '.join(lines)[:300]!r}); check the linker stamps in toolchain/kube.py"
        )
    return " | ".join(lines)


def _record(
    release: KubeRelease, go_bin: str, env: dict[str, str], printed: dict[str, str], seconds: float
) -> dict[str, object]:
    return {
        "kubernetes": release.version,
        "go": run_go(go_bin, ["env", "GOVERSION"], None, env).strip(),
        "modules": {c.module: c.tag for c in release.components},
        "binaries": {name: package for c in release.components for name, package in c.binaries},
        "printed_versions": printed,
        "seconds": round(seconds, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def classify(text: str, release: KubeRelease, what: str = "go") -> BuildError:
    """What Go printed, as an error naming the cause and the fix."""
    if is_refusal(text):
        return BuildError(
            f"the Go module proxy refused a module that the Kubernetes {release.version} control plane needs "
            f"(403, not available):\n{last_lines(text)}\nSet GOPROXY to a proxy that serves it, or add a release "
            "whose modules are served to toolchain/kube.py."
        )
    if is_unreachable(text):
        return unreachable_error(text)
    return BuildError(f"{what} failed for the Kubernetes {release.version} control plane:\n{last_lines(text, 25)}")
