"""Which Dapr binaries and fault proxy a run uses, building them when nothing usable is found.

Knows nothing of the harness: progress goes to a ``SelectionDisplay`` (the CLI draws it with rich), errors are
raised (``UnknownVersionError``, ``BuildError``, ``ProbeError``) for the caller to report. The cache is
``ONCEONLY_CACHE_DIR``, else ``$XDG_CACHE_HOME/onceonly/dapr``, else ``~/.cache/onceonly/dapr``.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from toolchain import binaries as dapr_binaries
from toolchain import dapr_plane, kube_build, toxiproxy
from toolchain.build import BuildReporter, build
from toolchain.kube import KubeRelease
from toolchain.versions import DaprVersion, lookup


class SelectionDisplay(Protocol):
    """Shows what a selection does: a line, a build's progress bars, a wait."""

    def say(self, message: str) -> None: ...

    def building(self) -> AbstractContextManager[BuildReporter]: ...

    def waiting(self, message: str) -> AbstractContextManager[object]: ...


def cache_root() -> Path:
    if explicit := os.environ.get("ONCEONLY_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "onceonly" / "dapr"


def build_with_progress(entry: DaprVersion, display: SelectionDisplay) -> Path:
    """Build a Dapr version into the cache (a no-op when built), showing its progress."""
    root = cache_root()
    display.say(f"Building Dapr {entry.version} (daprd, scheduler) into {root}/{entry.version}")
    with display.building() as reporter:
        result = build(entry, root, reporter)
    verb = "built" if result.built_now else "already built"
    display.say(f"Dapr {entry.version} {verb} in {result.seconds:.0f} s: {result.bin_dir}")
    return result.bin_dir


def kube_cache_root() -> Path:
    """Where the control plane is built: ``kube/`` beside the Dapr cache (``<cache>/kube/<version>/bin/``)."""
    return cache_root().parent / "kube"


def build_kube_with_progress(release: KubeRelease, display: SelectionDisplay) -> Path:
    """Build a Kubernetes control plane into the cache (a no-op when built), showing its progress."""
    root = kube_cache_root()
    display.say(f"Building the Kubernetes {release.version} control plane ({', '.join(release.binaries)}) into {root}")
    with display.building() as reporter:
        result = kube_build.build(release, root, reporter)
    verb = "built" if result.built_now else "already built"
    display.say(f"Kubernetes {release.version} control plane {verb} in {result.seconds:.0f} s: {result.bin_dir}")
    return result.bin_dir


def build_dapr_plane_with_progress(entry: DaprVersion, display: SelectionDisplay) -> Path:
    """Build Dapr's sentry and injector beside the control plane (a no-op when built), showing its progress."""
    root = kube_cache_root()
    display.say(
        f"Building Dapr {entry.version}'s sentry and injector into {root}/{dapr_plane.build_name(entry.version)}"
    )
    with display.building() as reporter:
        result = dapr_plane.build(entry, root, cache_root(), reporter)
    verb = "built" if result.built_now else "already built"
    display.say(f"Dapr {entry.version}'s sentry and injector {verb} in {result.seconds:.0f} s: {result.bin_dir}")
    return result.bin_dir


def resolve_binaries(version: str, bin_dir: Path | None, display: SelectionDisplay) -> dapr_binaries.Binaries:
    """The binaries a run uses; builds the version first when nothing usable is found."""
    entry = lookup(version) if bin_dir is None else None
    found = dapr_binaries.locate(version.removeprefix("v"), cache_root(), Path.home(), bin_dir)
    if found is not None:
        return found
    assert entry is not None
    bin_path = build_with_progress(entry, display)
    return dapr_binaries.from_dir(bin_path, dapr_binaries.SOURCE_CACHE)


def prepare_fault_proxy(display: SelectionDisplay) -> Path:
    """Find or build toxiproxy-server (network faults need it); raises ``BuildError`` when it cannot be built."""
    root = cache_root().parent / "toxiproxy"
    if not toxiproxy.is_built(root):
        display.say(f"Building the fault proxy toxiproxy-server v{toxiproxy.VERSION} into {root}")
        with display.waiting("go build toxiproxy-server (about 20 s with warm Go caches)"):
            return toxiproxy.build(root)
    return toxiproxy.binary_path(root)
