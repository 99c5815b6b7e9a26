"""The local backend: clusters of real processes on this machine (``LocalCluster``), able to do everything."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.cluster.base import ClusterSpec
from harness.cluster.local.cluster import LocalCluster
from harness.model import Capability
from toolchain.binaries import Binaries


@dataclass(frozen=True, slots=True)
class LocalBackend:
    """``toxiproxy``: the toxiproxy-server binary, needed by a cluster with a fault proxy (network faults)."""

    toxiproxy: Path | None = None

    @property
    def name(self) -> str:
        return "local"

    @property
    def capabilities(self) -> frozenset[Capability]:
        return LocalCluster.capabilities

    def create(
        self,
        spec: ClusterSpec,
        binaries: Binaries,
        run_dir: Path,
        *,
        on_progress: Callable[[str], None] | None = None,
        resources: dict[str, str] | None = None,
        app_env: dict[str, str] | None = None,
    ) -> LocalCluster:
        return LocalCluster(
            spec,
            binaries,
            run_dir,
            on_progress=on_progress,
            resources=resources,
            app_env=app_env,
            toxiproxy=self.toxiproxy,
        )
