"""Benchmark: the Dapr scheduler curve on this machine, with onceonly's own cost shown apart.

    uv run python benchmarks/bench_scheduler.py                      # rates 100/200/400/max, bursts 1k/5k/20k
    uv run python benchmarks/bench_scheduler.py --bursts 1000 --rates 200 --seconds 5   # a quick look

On one local cluster (3 replicas, 1 scheduler, Dapr from onceonly's cache):

1. **Schedule calls**: for each offered rate (calls/s, "max" = as fast as ``--workers`` threads can go), create
   one-shot jobs due in an hour for ``--seconds`` seconds, spread over the replicas' daprds. Reports the rate
   achieved, the call latency p50/p99 and the errors.
2. **Triggers falling due together**: for each burst size N, create N one-shot jobs that all fall due at one
   absolute instant T (``dueTime`` RFC3339), then wait until all have fired. Reports triggers/s (N over the spread
   from first to last delivery), lateness p50/p99/max after T, and what the ledger says: jobs the app answered
   (2xx) once, more than once, never, and the non-2xx answers (an app that could not record answers 503).
3. **Dapr's own counters**: every daprd's and the scheduler's Prometheus counters read before and after each
   burst; the scheduler's ``jobs_triggered_total`` and the daprds' ``component_job_success_count`` over the burst
   beside the ledger's jobs answered 2xx (nothing else falls due meanwhile: the rate jobs are due in an hour).
4. **Who is the ceiling**: CPU seconds used during each burst (from /proc via psutil) by the apps + Redis
   (onceonly's recorder and ledger), the daprds and the scheduler, apart; triggers per CPU-second of
   daprd + scheduler, the figure to set beside Dapr's published one (20,000 jobs at 19,050/s on a 4-CPU sidecar,
   1.18.0: about 4,800 per core).

The numbers are for this machine only; run it alone (nothing else busy) and read them side by side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import platform
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
from rich.console import Console
from rich.table import Table

from harness.cluster.base import ClusterSpec
from harness.cluster.local.cluster import LocalCluster
from harness.cluster.metrics import scrape
from harness.io.ledger import Ledger
from toolchain import binaries as dapr_binaries
from toolchain.selection import cache_root
from toolchain.versions import DEFAULT_VERSION

console = Console(width=220)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


class Scheduler:
    """Creates one-shot jobs through the replicas' daprds from a pool of threads, at an offered rate."""

    def __init__(self, cluster: LocalCluster, workers: int) -> None:
        self.urls = [f"{r.dapr_http}/v1.0/jobs/" for r in cluster.replicas.values()]
        self.headers = {"dapr-api-token": cluster.tokens.dapr_api}
        self.client = httpx.Client(timeout=60.0, limits=httpx.Limits(max_connections=workers * 2))
        self.workers = workers
        self.turn = itertools.count()
        self.lock = threading.Lock()

    def create(self, name: str, due: str) -> tuple[float, bool]:
        with self.lock:
            url = self.urls[next(self.turn) % len(self.urls)]
        started = time.perf_counter()
        try:
            resp = self.client.post(url + name, json={"dueTime": due, "data": {"job": name}}, headers=self.headers)
            ok = resp.status_code == 204
        except httpx.HTTPError:
            ok = False
        return (time.perf_counter() - started) * 1000, ok

    def run(self, names: list[str], due: str, rate: float | None) -> tuple[float, list[float], int]:
        """Create ``names`` at ``rate`` calls/s (None: as fast as possible): (seconds, latencies ms, errors)."""
        started = time.monotonic()

        def one(i_name: tuple[int, str]) -> tuple[float, bool]:
            i, name = i_name
            if rate is not None:
                delay = started + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            return self.create(name, due)

        with ThreadPoolExecutor(self.workers) as pool:
            results = list(pool.map(one, enumerate(names)))
        return time.monotonic() - started, [ms for ms, _ in results], sum(1 for _, ok in results if not ok)


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


COUNTED = (
    "dapr_scheduler_jobs_triggered_total",
    "dapr_scheduler_jobs_failed_total",
    "dapr_component_job_success_count",
)


def dapr_counts(http: httpx.Client, cluster: LocalCluster) -> Counter[str]:
    """Dapr's job counters summed over every daprd and the scheduler, by metric name."""
    counts: Counter[str] = Counter()
    for entry in scrape(http, cluster.metrics_targets()):
        for sample in entry["samples"]:
            if sample["metric"] in COUNTED:
                counts[sample["metric"]] += int(sample["value"])
    return counts


def rfc3339(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", default=DEFAULT_VERSION)
    parser.add_argument("--rates", default="100,200,400,max", help="offered schedule rates (calls/s), or max")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each offered rate is held")
    parser.add_argument("--bursts", default="1000,5000,20000", help="jobs falling due together")
    parser.add_argument("--workers", type=int, default=32, help="client threads creating jobs")
    parser.add_argument("--keep", type=Path, default=None, help="keep the run directory (logs) here")
    args = parser.parse_args()
    bins = dapr_binaries.locate(args.version, cache_root(), Path.home())
    if bins is None:
        raise SystemExit(f"Dapr {args.version} is not built: uv run onceonly dapr build --version {args.version}")

    rate_rows, burst_rows = [], []
    with (
        tempfile.TemporaryDirectory(prefix="onceonly-bench-") as tmp,
        LocalCluster(ClusterSpec(replicas=3, ready_timeout=120), bins, args.keep or Path(tmp) / "run") as cluster,
    ):
        sup = cluster.supervisor
        onceonly_procs = [psutil.Process(sup.get(r.app_name).pid) for r in cluster.replicas.values()]
        onceonly_procs.append(psutil.Process(sup.get(cluster.redis.name).pid))
        daprd_procs = [psutil.Process(sup.get(r.daprd_name).pid) for r in cluster.replicas.values()]
        scheduler_procs = [psutil.Process(sup.get(m.name).pid) for m in cluster.schedulers]
        groups = (onceonly_procs, daprd_procs, scheduler_procs)
        http = httpx.Client()
        sched = Scheduler(cluster, args.workers)
        ledger = Ledger(cluster.redis_client(), cluster.run_id, cluster.journal_texts)

        for rate_text in args.rates.split(","):
            rate = None if rate_text == "max" else float(rate_text)
            count = int((rate or 2000) * args.seconds)
            names = [f"rate-{rate_text}-{i}" for i in range(count)]
            if rate is None:  # as fast as possible: stop after --seconds worth of a generous estimate
                names = names[: int(args.seconds * 600)]
            console.print(f"offered {rate_text} calls/s: {len(names)} jobs due in an hour…")
            secs, lat, errors = sched.run(names, rfc3339(time.time() + 3600), rate)
            rate_rows.append((rate_text, len(names) / secs, pct(lat, 0.5), pct(lat, 0.99), errors))

        best = max(r[1] for r in rate_rows)
        for n in (int(x) for x in args.bursts.split(",")):
            lead = n / (best * 0.4) + 10  # all created before they fall due (creating slows as etcd fills)
            due_at = time.time() + lead
            names = [f"burst-{n}-{i}" for i in range(n)]
            console.print(f"burst of {n}: creating them (~{lead - 10:.0f} s), all due at {rfc3339(due_at)}…")
            counts0 = dapr_counts(http, cluster)
            _secs, _lat, errors = sched.run(names, rfc3339(due_at), None)
            late = time.time() - due_at
            cpu0 = [cpu_seconds(g) for g in groups]  # from the end of the creating: the burst's own cost
            deadline = max(due_at, time.time()) + 60 + n / 200
            wanted = set(names)
            while time.time() < deadline:
                got = {d.name for d in ledger.deliveries()[0] if d.name in wanted}
                if len(got) >= n - errors:
                    break
                time.sleep(1.0)
            time.sleep(3.0)  # late duplicates
            cpu1 = [cpu_seconds(g) for g in groups]
            counts = dapr_counts(http, cluster) - counts0
            dapr_cpu = cpu1[1] - cpu0[1] + cpu1[2] - cpu0[2]
            ds = [d for d in ledger.deliveries()[0] if d.name in wanted]
            per_job = Counter(d.name for d in ds if d.status is not None and (200 <= d.status < 300 or d.status == 404))
            failed_answers = Counter(
                d.status for d in ds if d.status is not None and not (200 <= d.status < 300 or d.status == 404)
            )
            received = sorted(d.received_ns / 1e9 for d in ds)
            lateness = [(t - due_at) * 1000 for t in received]
            spread = (received[-1] - received[0]) if len(received) > 1 else float("nan")
            burst_rows.append(
                (
                    n,
                    errors,
                    f"{late:+.1f}" if late > 0 else "-",
                    len(ds) / spread if spread and spread > 0 else float("nan"),
                    pct(lateness, 0.5),
                    pct(lateness, 0.99),
                    max(lateness) if lateness else float("nan"),
                    sum(1 for c in per_job.values() if c == 1),
                    sum(1 for c in per_job.values() if c > 1),
                    n - errors - len(per_job),
                    len({d.name for d in ds}),
                    ", ".join(f"{k}: {v}" for k, v in sorted(failed_answers.items())) or "-",
                    f"{counts[COUNTED[0]]} / {counts[COUNTED[1]]} / {counts[COUNTED[2]]}",
                    sum(per_job.values()),
                    *(
                        (cpu1[0] - cpu0[0], cpu1[1] - cpu0[1], cpu1[2] - cpu0[2], len(ds) / (dapr_cpu or 1e-9))
                        if late <= 0  # else the burst began before the creating ended: its CPU is not apart
                        else ("-",) * 4
                    ),
                )
            )
        sched.client.close()
        http.close()

    console.print(
        f"\nDapr {bins.daprd_version}, {platform.node()}, {os.cpu_count()} CPUs, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, {dt.date.today()}, {args.workers} client threads"
    )
    table = Table(title="schedule calls (one-shot jobs due in an hour)")
    for col in ("offered /s", "achieved /s", "latency p50 ms", "latency p99 ms", "errors"):
        table.add_column(col, justify="right")
    for rate_text, achieved, p50, p99, errors in rate_rows:
        table.add_row(rate_text, f"{achieved:.0f}", f"{p50:.1f}", f"{p99:.1f}", str(errors))
    console.print(table)
    table = Table(title="N one-shot jobs falling due at one instant")
    cols = ["N", "create errors", "created late s", "triggers /s", "lateness p50 ms", "p99 ms", "max ms"]
    cols += [
        "answered once",
        "answered 2+ times",
        "never 2xx",
        "reached the app",
        "app answers not 2xx",
        "Dapr triggered / failed / daprd success",
        "ledger 2xx",
        "CPU s onceonly",
        "CPU s daprds",
        "CPU s scheduler",
        "triggers per Dapr CPU-s",
    ]
    for col in cols:
        table.add_column(col, justify="right")
    for row in burst_rows:
        table.add_row(*(f"{v:.1f}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)


if __name__ == "__main__":
    main()
