"""``onceonly up``: a local cluster kept up until Ctrl-C or SIGTERM, with what a user needs to reach it written
into its run dir (``cluster.env``, mode 0600: the tokens and replica 0's Dapr endpoint; ``endpoints.json``).
Progress goes to an ``UpDisplay``; nothing here draws or exits."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from harness.cluster.base import ClusterSpec
from harness.cluster.local.cluster import LocalCluster
from harness.cluster.local.processes import Interrupted, deaf_to_signals, exit_on_signals
from harness.errors import HarnessError
from toolchain.binaries import Binaries


class UpDisplay(Protocol):
    def say(self, message: str) -> None: ...

    def running(self, label: str) -> AbstractContextManager[Callable[[str], None]]: ...

    def cluster_ready(
        self, cluster: LocalCluster, run_dir: Path, env_file: Path, endpoints: dict[str, object]
    ) -> None: ...


def hold(spec: ClusterSpec, bins: Binaries, run_dir: Path, redis_server: str, display: UpDisplay) -> list[str]:
    """Start the cluster, keep it up until interrupted, stop it; the processes still running after the stop.
    A ``HarnessError`` while starting is raised after the stop."""
    clusters: list[LocalCluster] = []

    def start() -> None:
        with display.running("starting") as update:
            cluster = LocalCluster(spec, bins, run_dir.resolve(), redis_server=redis_server, on_progress=update)
            clusters.append(cluster)
            cluster.start()
        env_file, endpoints = write_access(cluster, run_dir)
        display.cluster_ready(cluster, run_dir, env_file, endpoints)

    def stop() -> None:
        for cluster in clusters:
            cluster.stop()

    hold_until_interrupted(start, stop, display.say)
    return [c.name for c in clusters[0].supervisor.history if c.alive()] if clusters else []


def hold_until_interrupted(start: Callable[[], None], stop: Callable[[], None], say: Callable[[str], None]) -> None:
    """``start`` (it shows what is up), then wait for Ctrl-C, SIGTERM or SIGHUP; ``stop`` runs however it ends.
    A ``HarnessError`` from ``start`` is raised after the stop."""
    error: HarnessError | None = None
    try:
        with exit_on_signals():
            start()
            while True:
                time.sleep(3600)
    except (KeyboardInterrupt, Interrupted):
        say("\nstopping…")
    except HarnessError as exc:
        error = exc
    finally:
        with deaf_to_signals(say):
            stop()
    if error is not None:
        raise error


def write_access(cluster: LocalCluster, run_dir: Path) -> tuple[Path, dict[str, object]]:
    """``cluster.env`` (mode 0600) and ``endpoints.json`` in ``run_dir``; the env file's path and the endpoints."""
    env_file = run_dir / "cluster.env"
    env_file.touch(mode=0o600)
    env_file.write_text(
        f"DAPR_API_TOKEN={cluster.tokens.dapr_api}\nREDIS_PASSWORD={cluster.tokens.redis}\n"
        f"DAPR_HTTP_ENDPOINT={next(iter(cluster.replicas.values())).dapr_http}\n"
    )
    endpoints = cluster.endpoints()
    endpoints["ready_seconds"] = round(cluster.ready_seconds or 0.0, 2)
    (run_dir / "endpoints.json").write_text(json.dumps(endpoints, indent=1) + "\n")
    return env_file, endpoints
