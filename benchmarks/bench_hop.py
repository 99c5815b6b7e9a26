"""Benchmark: what the recording hop adds to a delivery, at a fixed rate, against the same app without it.

    uv run python benchmarks/bench_hop.py                          # 1,000 deliveries/s, 3 rounds of 10 s each way
    uv run python benchmarks/bench_hop.py --seconds 1 --rounds 1   # a smoke run (~5 s)
    ONCEONLY_REDIS_PASSWORD=... uv run python benchmarks/bench_hop.py --redis-port 6379   # records to a real Redis

Starts a local echo app (aiohttp, its own process) and the hop in front of it (``hop.main.running``, its own
process, the app side exactly as a replica runs it: a fresh connection per delivery, the arrival and answer
records). The driver (this process) sends ``POST /job/bench-<n>`` deliveries open-loop at ``--rate`` per second,
on kept-alive connections as daprd does, alternately straight to the app and through the hop (direct, hop,
direct, hop, ...: a neighbour's load hits both alike), and prints for each: deliveries/s answered, the latency
p50/p99, and what the hop adds (hop minus direct, p50 and p99), with the hop process's CPU seconds per 1,000
deliveries.

The ledger: a real Redis with ``--redis-port`` (it must be running; the password from ``ONCEONLY_REDIS_PASSWORD``),
else the in-memory FAKE recorder, which leaves out Redis's round trip; the output says which. The driver, the app
and the hop share this machine's cores: read the figures as this machine's, and the spread over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from pathlib import Path

import aiohttp
import psutil
from aiohttp import web

from hop.main import running
from hop.oplog import FakeOperationLog
from hop.settings import HopSettings
from target_app.recorder import FakeRecorder, Recorder, RedisRecorder, ledger_client

BODY = b'{"data":{"@type":"type.googleapis.com/google.protobuf.StringValue","value":"bench"}}'


async def _echo(request: web.BaseRequest) -> web.StreamResponse:
    await request.read()
    return web.json_response({"status": "SUCCESS"})


async def _serve_echo(ports: Queue[int]) -> None:
    runner = web.ServerRunner(web.Server(_echo, access_log=None), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    ports.put(int(runner.addresses[0][1]))
    await asyncio.Event().wait()


async def _serve_hop(app_port: int, redis_port: int | None, ports: Queue[int]) -> None:
    journal = Path(tempfile.mkdtemp(prefix="onceonly-bench-hop-")) / "journal.jsonl"
    settings = HopSettings(0, app_port, 0, 9, 0, f"bench-{os.getpid()}", redis_port or 1, journal)
    recorder: Recorder = FakeRecorder()
    if redis_port is not None:
        client = ledger_client("127.0.0.1", redis_port, os.environ.get("ONCEONLY_REDIS_PASSWORD") or None)
        recorder = RedisRecorder(client, settings.run_id, journal)
    async with running(settings, recorder, FakeOperationLog()) as hop:
        ports.put(hop.app_listen)
        await asyncio.Event().wait()


def echo_process(ports: Queue[int]) -> None:
    asyncio.run(_serve_echo(ports))


def hop_process(app_port: int, redis_port: int | None, ports: Queue[int]) -> None:
    asyncio.run(_serve_hop(app_port, redis_port, ports))


@dataclass
class Side:
    label: str
    port: int
    rates: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    failed: int = 0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


async def drive(port: int, rate: float, seconds: float) -> tuple[list[float], int, float]:
    """Open-loop: delivery i is sent at start + i/rate whatever the answers before it; its latency is from its
    send to its whole answer. Returns the latencies (ms), the failures and the wall time to the last answer."""
    total = int(rate * seconds)
    latencies: list[float] = []
    failed = 0
    headers = {"Content-Type": "application/json", "dapr-api-token": "bench"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int) -> None:
            nonlocal failed
            sent = time.perf_counter()
            try:
                url = f"http://127.0.0.1:{port}/job/bench-{i % 10}"
                async with session.post(url, data=BODY, headers=headers) as answer:
                    await answer.read()
                    ok = answer.status == 200
            except aiohttp.ClientError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - sent) * 1000)
            else:
                failed += 1

        start = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        return latencies, failed, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=1000.0, help="deliveries per second sent (default 1000)")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds per round and side (default 10)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, each direct then through the hop (default 3)")
    ap.add_argument("--redis-port", type=int, default=None, help="record to this running Redis (default: FAKE)")
    args = ap.parse_args()

    spawn = multiprocessing.get_context("spawn")
    ports: Queue[int] = spawn.Queue()
    echo = spawn.Process(target=echo_process, args=(ports,), daemon=True)
    echo.start()
    app_port = ports.get(timeout=30)
    hop = spawn.Process(target=hop_process, args=(app_port, args.redis_port, ports), daemon=True)
    hop.start()
    hop_port = ports.get(timeout=30)
    hop_cpu = psutil.Process(hop.pid)
    sides = [Side("direct", app_port), Side("through the hop", hop_port)]
    delivered = 0
    cpu_spent = 0.0
    try:
        for side in sides:  # warm-up: imports, connections
            asyncio.run(drive(side.port, min(args.rate, 200.0), 1.0))
        for _ in range(args.rounds):
            for side in sides:
                before = sum(hop_cpu.cpu_times()[:2])
                latencies, failed, wall = asyncio.run(drive(side.port, args.rate, args.seconds))
                if side is sides[1]:
                    cpu_spent += sum(hop_cpu.cpu_times()[:2]) - before
                    delivered += len(latencies)
                side.rates.append(len(latencies) / wall)
                side.p50.append(pct(latencies, 0.50))
                side.p99.append(pct(latencies, 0.99))
                side.failed += failed
    finally:
        hop.kill()
        echo.kill()

    ledger = f"Redis on port {args.redis_port}" if args.redis_port else "the FAKE in-memory ledger (no Redis)"
    print(f"{args.rate:.0f} deliveries/s sent, {args.rounds} rounds x {args.seconds:g} s per side; ledger: {ledger}")
    print(f"{'':18} {'deliveries/s':>14} {'p50 ms':>9} {'p99 ms':>9} {'failed':>7}   (median over rounds)")
    for side in sides:
        print(
            f"{side.label:18} {statistics.median(side.rates):14.0f} {statistics.median(side.p50):9.2f} "
            f"{statistics.median(side.p99):9.2f} {side.failed:7d}"
        )
    direct, hopped = sides
    added = [h - d for h, d in zip(hopped.p50, direct.p50, strict=True)]
    added99 = [h - d for h, d in zip(hopped.p99, direct.p99, strict=True)]
    print(
        f"{'added by the hop':18} {'':14} {statistics.median(added):9.2f} {statistics.median(added99):9.2f}"
        f"   (per round p50: {', '.join(f'{a:.2f}' for a in added)})"
    )
    if delivered:
        print(f"hop CPU: {cpu_spent / delivered * 1000:.3f} s per 1,000 deliveries")
    sys.exit(1 if direct.failed or hopped.failed else 0)


if __name__ == "__main__":
    main()
