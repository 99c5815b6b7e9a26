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
from harness.cluster.local.cluster import LocalCluster
from toolchain import binaries as dapr_binaries
from toolchain.binaries import Binaries
from toolchain.build import build
from toolchain.selection import cache_root
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
