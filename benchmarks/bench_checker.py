"""Benchmark: how fast the checker judges a long run, and how much memory it takes, on one core.

    uv run python benchmarks/bench_checker.py                          # 10k, 100k and 1M deliveries
    uv run python benchmarks/bench_checker.py --sizes 100000 --seed 3

Each size runs in a fresh process (multiprocessing ``spawn``) pinned to one CPU (``os.sched_setaffinity``): the
history is generated there (``benchmarks.run_history``: many jobs of several shapes with retries, duplicates,
cut-offs and lost occurrences injected, one-shot jobs, cron bindings on 3 replicas), then ``check`` judges it.
Generation is timed apart and not counted; the check's wall clock and its CPU time are both printed (the machine
may be shared: the CPU time is what the check itself took). Memory is the process's resident set: before the
check, and its peak (``ru_maxrss``) after; "check MiB" is the difference (the peak of the process, generation
included, is printed too: if generation peaked higher, the difference reads 0). No tracemalloc: it slows the check
several times.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

from benchmarks.run_history import run_history
from harness.oracle.check import check

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Measured:
    size: int
    deliveries: int
    sources: int
    gen_s: float
    check_s: float  # wall clock
    check_cpu_s: float  # this process's CPU time (on a shared machine, what the check itself took)
    rss_before_mib: float
    peak_mib: float
    verdicts: dict[str, int]

    @property
    def check_mib(self) -> float:
        return max(0.0, self.peak_mib - self.rss_before_mib)


def _rss_mib() -> float:
    """The process's resident set now (Linux: /proc/self/statm, in pages)."""
    with open("/proc/self/statm") as f:  # noqa: PTH123 - one read of a proc file
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB


def measure(size: int, seed: int, cpu: int | None) -> Measured:
    """In the child: pin, generate, check; time and memory of the check alone."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    t0 = time.perf_counter()
    inp, sources = run_history(size, seed)
    gen_s = time.perf_counter() - t0
    before = _rss_mib()
    t1, c1 = time.perf_counter(), time.process_time()
    result = check(inp)
    check_s, check_cpu_s = time.perf_counter() - t1, time.process_time() - c1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    verdicts: Counter[str] = Counter(s.verdict for s in result.sources)
    return Measured(size, len(inp.deliveries), sources, gen_s, check_s, check_cpu_s, before, peak, dict(verdicts))


def table(rows: Sequence[Measured]) -> list[str]:
    out = [
        "| size | deliveries | sources | generate s | check s | check CPU s | deliveries/s | RSS before MiB | peak MiB "
        "| check MiB | verdicts |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        verdicts = ", ".join(f"{k} {v:,}" for k, v in sorted(r.verdicts.items()))
        out.append(
            f"| {r.size:,} | {r.deliveries:,} | {r.sources:,} | {r.gen_s:.1f} | {r.check_s:.2f} | "
            f"{r.check_cpu_s:.2f} | {r.deliveries / max(r.check_s, 1e-9):,.0f} | {r.rss_before_mib:,.0f} | "
            f"{r.peak_mib:,.0f} | {r.check_mib:,.0f} | {verdicts} |"
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="deliveries per history, comma-separated")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated histories (default 0)")
    parser.add_argument("--cpu", type=int, default=None, help="the CPU to pin to (default: the last one allowed)")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes: not a list of numbers: {args.sizes!r}")
    if not sizes or min(sizes) < 1:
        parser.error("--sizes: at least one size, each at least 1")
    cpu = args.cpu if args.cpu is not None else max(os.sched_getaffinity(0))
    print(f"checker speed, one process per size pinned to CPU {cpu}, seed {args.seed}", flush=True)
    rows: list[Measured] = []
    for size in sizes:
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            row = pool.submit(measure, size, args.seed, cpu).result()
        rows.append(row)
        print(
            f"  {size:,}: {row.deliveries:,} deliveries, check {row.check_s:.2f} s ({row.check_cpu_s:.2f} s CPU), "
            f"peak {row.peak_mib:,.0f} MiB",
            flush=True,
        )
    print("\n".join(["", *table(rows)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
