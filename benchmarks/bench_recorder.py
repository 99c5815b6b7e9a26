"""Benchmark: how many deliveries one replica's recorder app takes per second of one core, both records (arrival,
answer) in a real redis-server before each answer (no Dapr).

    uv run python benchmarks/bench_recorder.py                                  # this checkout's app, 5 rounds
    git archive <commit> target_app | tar -x -C /tmp/before                     # another version's app ...
    uv run python benchmarks/bench_recorder.py --app before=/tmp/before --app after=.   # ... side by side

Starts one redis-server (password, loopback, as a run does) and, for each ``--app LABEL=DIR``, one app process
serving ``target_app`` from DIR exactly as a replica runs it (``ReplicaMember.app_argv`` of *this* checkout, the
same environment), pinned to one CPU (``--app-cpu``); the client and redis-server are pinned to the other. The
client is a plain asyncio HTTP/1.1 client (keep-alive, ``--concurrency`` connections, one request in flight on
each), far cheaper per request than httpx, so that it is not the first thing to saturate.

Per round: deliveries/s on the wall clock, **deliveries per CPU-second of the app** (the app's rate on one core:
the figure issue 17 asks to be >= 5,000), redis-server's CPU per 1,000, the answer latency p50/p99, the stream
entries added per delivery (2: arrival and answer) and non-2xx answers. With several apps the rounds are
interleaved (A, B, A, B, ...) so a neighbour's load hits every app alike; read the spread over rounds.
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
    pid: int = 0
    rates: list[float] = field(default_factory=list)  # wall clock
    per_core: list[float] = field(default_factory=list)  # deliveries per CPU-second of the app
    redis_per_k: list[float] = field(default_factory=list)  # redis-server CPU seconds per 1,000 deliveries
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    entries_per_delivery: list[float] = field(default_factory=list)
    bad: int = 0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


async def _one_connection(port: int, request: bytes, todo: list[int], latencies: list[float]) -> int:
    """Send ``request`` on one keep-alive connection while ``todo`` has work; the non-2xx answers seen."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    bad = 0
    try:
        while todo:
            todo.pop()
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            bad += not 200 <= status < 300
    finally:
        writer.close()
    return bad


async def fire(port: int, path: str, n: int, concurrency: int) -> tuple[float, list[float], int]:
    """POST ``path`` ``n`` times over ``concurrency`` connections: (seconds, latencies ms, non-2xx answers)."""
    body = b'{"data":1}'
    request = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
        f"dapr-api-token: {TOKEN}\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body
    todo = list(range(n))
    latencies: list[float] = []
    started = time.perf_counter()
    bad = await asyncio.gather(*(_one_connection(port, request, todo, latencies) for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, sum(bad)


def cpu(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


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


def start_redis(sup: Supervisor, member: RedisMember) -> tuple[int, redis.Redis]:
    member.directory.mkdir(parents=True, exist_ok=True)
    member.config_path.touch(mode=0o600)
    member.config_path.write_text(member.config())
    pid = sup.start("redis", member.argv(find_redis_server()), {"PATH": os.environ["PATH"]}).pid
    r = redis.Redis(host="127.0.0.1", port=member.port, password=member.password)
    deadline = time.monotonic() + 10
    while True:
        try:
            r.ping()
            return pid, r
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def one_round(a: App, r: redis.Redis, redis_pid: int, rnd: int, args: argparse.Namespace) -> None:
    before_app, before_redis = cpu(a.pid), cpu(redis_pid)
    key = contract.deliveries_key(f"bench-{a.label}")
    before_len = int(r.xinfo_stream(key)["entries-added"])
    secs, lat, bad = asyncio.run(fire(a.member.app_port, f"/job/r{rnd}", args.requests, args.concurrency))
    time.sleep(0.2)  # every record is written before its answer; this only lets the CPU counters settle
    used_app, used_redis = cpu(a.pid) - before_app, cpu(redis_pid) - before_redis
    added = int(r.xinfo_stream(key)["entries-added"]) - before_len
    a.rates.append(args.requests / secs)
    a.per_core.append(args.requests / used_app)
    a.redis_per_k.append(used_redis / args.requests * 1000)
    a.p50.append(pct(lat, 0.50))
    a.p99.append(pct(lat, 0.99))
    a.entries_per_delivery.append(added / args.requests)
    a.bad += bad
    console.print(
        f"round {rnd + 1} {a.label}: {args.requests / secs:6.0f} deliveries/s wall, "
        f"{args.requests / used_app:6.0f} per app CPU-second, redis {used_redis / args.requests * 1000:4.2f} s "
        f"per 1,000, p50 {pct(lat, 0.5):6.1f} ms, p99 {pct(lat, 0.99):6.1f} ms, "
        f"{added / args.requests:.2f} entries each"
    )


def report(apps: list[App], args: argparse.Namespace, behaviour: Behaviour) -> None:
    table = Table(
        title=f"one recorder app vs redis-server: {args.requests} POSTs x {args.rounds} rounds, {args.concurrency} "
        f"in flight, app on CPU {args.app_cpu}, behaviour {json.loads(behaviour.to_json())}"
    )
    cols = ("app", "per app CPU-s median", "min", "max", "wall /s median", "redis CPU s/1,000", "p50 ms", "p99 ms")
    for col in (*cols, "entries each", "non-2xx"):
        table.add_column(col, justify="right")
    for a in apps:
        table.add_row(
            a.label,
            f"{statistics.median(a.per_core):.0f}",
            f"{min(a.per_core):.0f}",
            f"{max(a.per_core):.0f}",
            f"{statistics.median(a.rates):.0f}",
            f"{statistics.median(a.redis_per_k):.2f}",
            f"{statistics.median(a.p50):.1f}",
            f"{statistics.median(a.p99):.1f}",
            f"{statistics.median(a.entries_per_delivery):.2f}",
            str(a.bad),
        )
    console.print(table)
    load = os.getloadavg()
    console.print(
        f"host: {platform.node()} {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--app", action="append", default=[], help="LABEL=DIR holding target_app/ (default: this one)")
    ap.add_argument("--requests", type=int, default=20000, help="deliveries per round (default 20000)")
    ap.add_argument("--concurrency", type=int, default=64, help="connections, one request in flight each (64)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per app, interleaved (default 5)")
    ap.add_argument("--app-cpu", type=int, default=0, help="the CPU the apps are pinned to (default 0)")
    ap.add_argument("--delay-ms", type=int, default=0, help="the app's handler delay (default 0)")
    ap.add_argument("--side-effect", default="both", choices=["naive", "idempotent", "both"])
    ap.add_argument("--fail-first", type=int, default=0, help="the app's fail_first (its INCR per delivery)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the logs in this directory")
    args = ap.parse_args()
    specs = args.app or [f"this={Path(__file__).resolve().parents[1]}"]
    behaviour = Behaviour(delay_ms=args.delay_ms, side_effect=args.side_effect, fail_first=args.fail_first)
    others = sorted(set(range(os.cpu_count() or 1)) - {args.app_cpu}) or [args.app_cpu]

    work = args.keep or Path(tempfile.mkdtemp(prefix="onceonly-bench-recorder-"))
    ports = PortAllocator()
    sup = Supervisor(work / "logs")
    redis_member = RedisMember(ports.take(), secrets.token_urlsafe(16), work / "redis")
    apps = [
        App(label, Path(d).resolve(), ReplicaMember.allocate(i, ports))
        for i, (label, d) in enumerate(s.split("=", 1) for s in specs)
    ]
    try:
        redis_pid, r = start_redis(sup, redis_member)
        psutil.Process().cpu_affinity(others)
        psutil.Process(redis_pid).cpu_affinity(others)
        for a in apps:
            a.pid = start_app(sup, a, redis_member, work / "journal", behaviour)
            for proc in [psutil.Process(a.pid), *psutil.Process(a.pid).children(recursive=True)]:
                proc.cpu_affinity([args.app_cpu])
        for a in apps:  # warm-up: imports, connections, the pool
            asyncio.run(fire(a.member.app_port, f"/job/warm-{a.label}", 2000, args.concurrency))
        for rnd in range(args.rounds):
            for a in apps:
                one_round(a, r, redis_pid, rnd, args)
    finally:
        sup.stop_all(order=[[f"app-{a.label}" for a in apps], ["redis"]])
    report(apps, args, behaviour)


if __name__ == "__main__":
    main()
