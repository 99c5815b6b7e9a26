"""Fixtures for integration tests: real daprd, scheduler and redis-server processes on 127.0.0.1.

The Dapr binaries come from onceonly's build cache (``onceonly dapr build`` fills it; `.ci/run` does so before
the tests), or from ``ONCEONLY_DAPR_BIN_DIR``. A missing build is built here, which takes minutes cold.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.cluster.base import ClusterSpec
from harness.cluster.kubernetes.plane import binaries as plane_binaries
from harness.cluster.kubernetes.plane.control_plane import LocalControlPlane, PlaneBinaries
from harness.cluster.local.cluster import LocalCluster
from toolchain import binaries as dapr_binaries
from toolchain import dapr_plane, kube_build
from toolchain.binaries import Binaries
from toolchain.build import build
from toolchain.kube import DEFAULT_VERSION as KUBE_DEFAULT_VERSION
from toolchain.selection import cache_root, kube_cache_root
from toolchain.versions import DEFAULT_VERSION, lookup


@pytest.fixture(scope="session")
def dapr_bins() -> Binaries:
    version = os.environ.get("ONCEONLY_DAPR_VERSION", DEFAULT_VERSION)
    bin_dir = os.environ.get("ONCEONLY_DAPR_BIN_DIR")
    found = dapr_binaries.locate(version, cache_root(), Path.home(), Path(bin_dir) if bin_dir else None)
    if found is not None:
        return found
    result = build(lookup(version), cache_root())
    return dapr_binaries.from_dir(result.bin_dir, dapr_binaries.SOURCE_CACHE)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


@pytest.fixture
def cluster3(dapr_bins: Binaries, tmp_path: Path) -> Iterator[LocalCluster]:
    """Three replicas and one scheduler, ready."""
    with LocalCluster(ClusterSpec(replicas=3), dapr_bins, tmp_path / "run") as cluster:
        yield cluster


@pytest.fixture(scope="session")
def plane_bins() -> PlaneBinaries:
    """The local control plane's binaries (``onceonly k8s build``; CI builds them before the tests), built here
    when missing, which takes minutes cold. ``ONCEONLY_K8S_VERSION`` and ``ONCEONLY_DAPR_VERSION`` pick others."""
    kube_version = os.environ.get("ONCEONLY_K8S_VERSION", KUBE_DEFAULT_VERSION)
    dapr_version = os.environ.get("ONCEONLY_DAPR_VERSION", DEFAULT_VERSION)
    release, entry = plane_binaries.releases(kube_version, dapr_version)
    kube_build.build(release, kube_cache_root())
    dapr_plane.build(entry, kube_cache_root(), cache_root())
    return plane_binaries.cached(release.version, entry.version)


@pytest.fixture(scope="module")
def kube_plane(plane_bins: PlaneBinaries, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalControlPlane]:
    """One real local control plane (etcd, kube-apiserver, -controller-manager, -scheduler, kwok with 3 nodes,
    Dapr's sentry and injector) for the tests of a module; ready in about 11 s. Module-scoped, not session-scoped:
    it is stopped once the module's tests are done, so it never idles beside the timing-sensitive real-Dapr tests
    of other modules. A module of the backend's tests gets its own."""
    with LocalControlPlane(tmp_path_factory.mktemp("kube-plane"), plane_bins, nodes=3) as plane:
        yield plane
