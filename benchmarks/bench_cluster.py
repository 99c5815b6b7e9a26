"""Benchmark: Dapr build time (cold, warm Go caches, cached) and local cluster time to ready.

    uv run python benchmarks/bench_cluster.py                  # everything; the cold build takes minutes
    uv run python benchmarks/bench_cluster.py --skip-cold      # only the cached/warm builds and readiness
    uv run python benchmarks/bench_cluster.py --repeat 5 --version 1.16.0

"cold" builds with empty Go module and build caches in a temporary directory (so it downloads every module
from the Go module proxy and compiles everything); "warm Go caches" rebuilds into an empty onceonly cache with
Go's caches as they are; "cached" asks for a version that is already built. Time to ready is measured from the
first process start to the end of the readiness wait (ARCHITECTURE.md's definition, incl. 1 s of stability).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.cluster.base import ClusterSpec
from harness.cluster.local.cluster import LocalCluster
from toolchain import binaries as dapr_binaries
from toolchain.build import build
from toolchain.selection import cache_root
from toolchain.versions import DEFAULT_VERSION, lookup

console = Console()


def time_build(version: str, root: Path, env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    build(lookup(version), root, environ=env)
    return time.monotonic() - started


def build_figures(version: str, cold: bool) -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="onceonly-bench-") as tmp:
        if cold:
            env = {**os.environ, "GOMODCACHE": f"{tmp}/gomod", "GOCACHE": f"{tmp}/gocache"}
            console.print("cold build (empty Go caches): this downloads and compiles everything…")
            rows.append(("build, cold (empty Go module + build caches)", time_build(version, Path(tmp) / "c", env)))
            subprocess.run(["chmod", "-R", "u+w", f"{tmp}/gomod"], check=False)  # read-only module cache
        console.print("rebuild with warm Go caches…")
        rows.append(("build, warm Go caches (empty onceonly cache)", time_build(version, Path(tmp) / "w")))
    time_build(version, cache_root())  # make sure the real cache has it
    rows.append(("build, cached (already built: no-op)", time_build(version, cache_root())))
    return rows


def ready_figures(version: str, repeat: int) -> list[tuple[str, list[float], list[float]]]:
    bins = dapr_binaries.locate(version, cache_root(), Path.home())
    assert bins is not None
    rows = []
    for replicas, schedulers in ((1, 1), (3, 1), (3, 3)):
        ready, stop = [], []
        for _ in range(repeat):
            with tempfile.TemporaryDirectory(prefix="onceonly-bench-") as tmp:
                cluster = LocalCluster(ClusterSpec(replicas=replicas, schedulers=schedulers), bins, Path(tmp))
                with cluster:
                    ready.append(cluster.ready_seconds or 0.0)
                    t0 = time.monotonic()
                stop.append(time.monotonic() - t0)
        rows.append((f"{replicas} replica(s), {schedulers} scheduler(s)", ready, stop))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", default=DEFAULT_VERSION)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-cold", action="store_true")
    args = parser.parse_args()

    console.print(
        f"onceonly benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Dapr {args.version}, "
        f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    builds = build_figures(args.version, cold=not args.skip_cold)
    table = Table(title="Dapr build (daprd -tags stablecomponents + scheduler)")
    table.add_column("what")
    table.add_column("seconds", justify="right")
    for what, secs in builds:
        table.add_row(what, f"{secs:.1f}" if secs >= 1 else f"{secs:.3f}")
    console.print(table)

    ready = ready_figures(args.version, args.repeat)
    table = Table(title=f"Local cluster: time to ready and to stop ({args.repeat} runs each)")
    for col in ("cluster", "ready min", "ready median", "ready max", "stop median"):
        table.add_column(col, justify="right")
    for what, r, s in ready:
        table.add_row(
            what, f"{min(r):.2f}", f"{statistics.median(r):.2f}", f"{max(r):.2f}", f"{statistics.median(s):.2f}"
        )
    console.print(table)


if __name__ == "__main__":
    main()
