"""Benchmark: deliveries/s one replica's app records, alone against a real redis-server (no Dapr).

    uv run python benchmarks/bench_app.py                                  # this checkout's app, 5 rounds
    git archive <commit> target_app | tar -x -C /tmp/before                # another version's app ...
    uv run python benchmarks/bench_app.py --app before=/tmp/before --app after=.   # ... side by side

Starts one redis-server (password, loopback, as a run does) and, for each ``--app LABEL=DIR``, one uvicorn process
serving ``target_app`` from DIR exactly as a replica runs it (``ReplicaMember.app_argv``, the same environment
variables), then fires ``--requests`` POSTs at ``/job/<name>`` with ``--concurrency`` in flight at once (httpx,
asyncio) and reports deliveries/s (requests over the wall time from the first send to the last answer), the answer
latency p50/p99, and what the ledger holds: stream entries added per delivery (1 before arrival records, 2 with
them) and non-2xx answers. With several apps the rounds are interleaved (A, B, A, B, ...) so a neighbour's load
on a shared machine hits every app alike; read the spread over rounds, not one figure.

The client runs on the same cores as the app and Redis: this measures the app on this machine, not the app alone
on an idle one. CPU seconds per 1,000 deliveries (app and redis-server, from /proc) are printed too: they depend
far less on what else the machine is doing than the wall-clock rate does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import redis
from rich.console import Console
from rich.table import Table

from harness.cluster.local.cluster import find_redis_server
from harness.cluster.local.members import RedisMember, ReplicaMember
from harness.cluster.local.ports import PortAllocator, is_listening
from harness.cluster.local.processes import Supervisor
from target_app import contract
from target_app.settings import Behaviour

console = Console(width=200)
TOKEN = secrets.token_urlsafe(16)


@dataclass
class App:
    label: str
    directory: Path
    member: ReplicaMember
    rates: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    cpu_per_k: list[float] = field(default_factory=list)  # app + redis CPU seconds per 1,000 deliveries
    entries_per_delivery: list[float] = field(default_factory=list)
    bad: int = 0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


async def fire(url: str, n: int, concurrency: int) -> tuple[float, list[float], int]:
    """POST ``n`` times with ``concurrency`` in flight: (seconds, latencies ms, non-2xx answers)."""
    latencies: list[float] = []
    bad = 0
    todo = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60.0, limits=limits) as client:

        async def worker() -> None:
            nonlocal bad
            for _ in todo:
                started = time.perf_counter()
                resp = await client.post(url, headers={"dapr-api-token": TOKEN}, content=b'{"data":1}')
                latencies.append((time.perf_counter() - started) * 1000)
                bad += not 200 <= resp.status_code < 300

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, bad


def cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        t = psutil.Process(pid).cpu_times()
        total += t.user + t.system
    return total


def start_app(sup: Supervisor, app: App, redis_member: RedisMember, journal_dir: Path, behaviour: Behaviour) -> int:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "VIRTUAL_ENV")}
    env |= {
        "ONCEONLY_REPLICA": str(app.member.index),
        "ONCEONLY_APP_TOKEN": TOKEN,
        "ONCEONLY_RUN_ID": f"bench-{app.label}",  # its own ledger: counters (fail-first) are not shared
        "ONCEONLY_REDIS_PORT": str(redis_member.port),
        "ONCEONLY_REDIS_PASSWORD": redis_member.password,
        "ONCEONLY_JOURNAL": str(journal_dir / f"{app.label}.jsonl"),
        "ONCEONLY_BEHAVIOUR": behaviour.to_json(),
        "PYTHONPATH": str(app.directory),
        "PYTHONUNBUFFERED": "1",
    }
    child = sup.start(f"app-{app.label}", app.member.app_argv(sys.executable), env, cwd=app.directory)
    deadline = time.monotonic() + 20
    while not is_listening(app.member.app_port):
        if not child.alive() or time.monotonic() > deadline:
            raise SystemExit(f"app {app.label} did not start; see {child.log_path}")
        time.sleep(0.05)
    return child.pid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--app", action="append", default=[], help="LABEL=DIR holding target_app/ (default: this one)")
    ap.add_argument("--requests", type=int, default=3000, help="deliveries per round (default 3000)")
    ap.add_argument("--concurrency", type=int, default=64, help="requests in flight at once (default 64)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per app, interleaved (default 5)")
    ap.add_argument("--delay-ms", type=int, default=0, help="the app's handler delay (default 0)")
    ap.add_argument("--side-effect", default="both", choices=["naive", "idempotent", "both"])
    ap.add_argument("--fail-first", type=int, default=0, help="the app's fail_first (its INCR per delivery)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the logs in this directory")
    args = ap.parse_args()
    specs = args.app or [f"this={Path(__file__).resolve().parents[1]}"]
    behaviour = Behaviour(delay_ms=args.delay_ms, side_effect=args.side_effect, fail_first=args.fail_first)

    work = args.keep or Path(tempfile.mkdtemp(prefix="onceonly-bench-app-"))
    ports = PortAllocator()
    sup = Supervisor(work / "logs")
    redis_member = RedisMember(ports.take(), secrets.token_urlsafe(16), work / "redis")
    apps = [
        App(label, Path(d).resolve(), ReplicaMember.allocate(i, ports))
        for i, (label, d) in enumerate(s.split("=", 1) for s in specs)
    ]
    try:
        redis_member.directory.mkdir(parents=True, exist_ok=True)
        redis_member.config_path.touch(mode=0o600)
        redis_member.config_path.write_text(redis_member.config())
        redis_pid = sup.start("redis", redis_member.argv(find_redis_server()), {"PATH": os.environ["PATH"]}).pid
        r = redis.Redis(host="127.0.0.1", port=redis_member.port, password=redis_member.password)
        deadline = time.monotonic() + 10
        while True:
            try:
                r.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        pids = {a.label: start_app(sup, a, redis_member, work / "journal", behaviour) for a in apps}
        for a in apps:  # warm-up: imports, connections, the pool
            asyncio.run(fire(f"{a.member.app_url}/job/warm-{a.label}", 300, args.concurrency))
        for rnd in range(args.rounds):
            for a in apps:
                before_cpu = cpu([pids[a.label], redis_pid])
                key = contract.deliveries_key(f"bench-{a.label}")
                before_len = int(r.xinfo_stream(key)["entries-added"])
                secs, lat, bad = asyncio.run(fire(f"{a.member.app_url}/job/r{rnd}", args.requests, args.concurrency))
                time.sleep(0.2)  # the last answers' writes are done before the answer; this is only for the CPU
                used = cpu([pids[a.label], redis_pid]) - before_cpu
                added = int(r.xinfo_stream(key)["entries-added"]) - before_len
                a.rates.append(args.requests / secs)
                a.p50.append(pct(lat, 0.50))
                a.p99.append(pct(lat, 0.99))
                a.cpu_per_k.append(used / args.requests * 1000)
                a.entries_per_delivery.append(added / args.requests)
                a.bad += bad
                console.print(
                    f"round {rnd + 1} {a.label}: {args.requests / secs:7.0f} deliveries/s, "
                    f"p50 {pct(lat, 0.5):6.1f} ms, p99 {pct(lat, 0.99):6.1f} ms, "
                    f"CPU {used / args.requests * 1000:5.2f} s per 1,000, {added / args.requests:.2f} entries each"
                )
    finally:
        sup.stop_all(order=[[f"app-{a.label}" for a in apps], ["redis"]])

    load = os.getloadavg()
    table = Table(
        title=f"target_app alone vs redis-server: {args.requests} POSTs x {args.rounds} rounds, "
        f"{args.concurrency} in flight, behaviour {json.loads(behaviour.to_json())}"
    )
    for col in ("app", "deliveries/s median", "min", "max", "p50 ms", "p99 ms", "CPU s / 1,000", "entries each"):
        table.add_column(col, justify="right")
    table.add_column("non-2xx", justify="right")
    for a in apps:
        table.add_row(
            a.label,
            f"{statistics.median(a.rates):.0f}",
            f"{min(a.rates):.0f}",
            f"{max(a.rates):.0f}",
            f"{statistics.median(a.p50):.1f}",
            f"{statistics.median(a.p99):.1f}",
            f"{statistics.median(a.cpu_per_k):.2f}",
            f"{statistics.median(a.entries_per_delivery):.2f}",
            str(a.bad),
        )
    console.print(table)
    console.print(
        f"host: {platform.node()} {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min)"
    )


if __name__ == "__main__":
    main()
