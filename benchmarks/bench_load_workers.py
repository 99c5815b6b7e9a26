"""Benchmark: the Jobs API call rate `onceonly load` reaches with one Locust process, 1 worker and 2 workers.

    uv run python benchmarks/bench_load_workers.py                          # --workers 1 and 2, 2 rounds each
    uv run python benchmarks/bench_load_workers.py --modes 0,1,2 --rounds 1 --users 80 --seconds 20

Each run is ``onceonly load scenarios/load-smoke.yaml --headless --workers N`` (N=0: one Locust process), made
saturating with ``--set``: one stage of ``--users`` users for ``--seconds``, ``wait: 0s`` (each user calls again
as soon as its call returns), the observation cut to what the jobs need. Modes are interleaved (1, 2, 1, 2, ...)
so a neighbour's load hits each alike. Per run:

- **calls/s**: the Jobs API calls (POST, GET, DELETE; the ``TRIGGER`` rows are deliveries, not calls) in Locust's
  ``locust_stats.csv``, over the stage's length; and **steady calls/s**, the median of the calls answered in each
  full second of the stage (from the ledger's ``operations.csv``, without the first and last 3 s): Locust's own
  history CSV smooths over 10 s and, with workers, lags by their 3 s reports;
- the schedule call's p50/p99 (ms) and the failed calls;
- **CPU cores**: CPU seconds per second of the stage used by the Locust processes (master and workers together)
  by Dapr (daprds + scheduler) and by onceonly's recorder (apps + redis-server), their drain after the stage
  included, read from /proc through psutil every second, and the machine's load average: which side is the
  ceiling;
- the verdict: every job the load created is still accounted for.

The figures are for this machine only (2 cores, shared); read the modes side by side, never across machines.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
CALL_TYPES = {"POST", "GET", "DELETE"}
console = Console(width=200)


def overrides(users: int, seconds: float) -> list[str]:
    stage = f"workload.load.stages=[{{duration: {seconds:g}s, users: {users}, spawn_rate: {max(users / 2, 1):g}}}]"
    # the observation covers the stage and the last jobs' drain (5 s due, or 3 x 1 s repeats, + 3 s)
    sets = [stage, "workload.load.wait=0s", f"observe.duration={seconds + 10:g}s", "observe.quiesce=3s"]
    return [arg for s in sets for arg in ("--set", s)]


def classify(cmdline: list[str]) -> str | None:
    line = " ".join(cmdline)
    if "-m locust" in line:
        return "locust"
    name = Path(cmdline[0]).name if cmdline else ""
    if name in ("daprd", "scheduler"):
        return "dapr"
    return "recorder" if name == "redis-server" or "target_app" in line else None


class CpuSampler(threading.Thread):
    """CPU seconds of the run's Locust processes and of Dapr's, by pid (each one's last reading counts)."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.stop = root, threading.Event()
        self.last: dict[int, tuple[str, float]] = {}

    def run(self) -> None:
        while not self.stop.wait(1.0):
            try:
                children = psutil.Process(self.root).children(recursive=True)
            except psutil.NoSuchProcess:
                return
            for child in children:
                try:
                    kind = classify(child.cmdline())
                    if kind is not None:
                        times = child.cpu_times()
                        self.last[child.pid] = (kind, times.user + times.system)
                except psutil.Error:
                    continue

    def seconds(self) -> dict[str, float]:
        total: dict[str, float] = defaultdict(float)
        for kind, cpu in self.last.values():
            total[kind] += cpu
        return dict(total)


@dataclass
class Figures:
    calls: int
    calls_s: float  # over the stage
    steady_s: float  # median of the calls answered per full second of the stage
    failed: int
    p50: float
    p99: float
    jobs: int
    verdict: str
    failing: int
    exit: int = 0
    locust_cpu_s: float = 0.0
    dapr_cpu_s: float = 0.0
    recorder_cpu_s: float = 0.0
    load_avg: float = 0.0  # the machine's 1-minute load average when the run ended (others' work included)
    run_dir: str = ""


def read_run(run_dir: Path, seconds: float) -> Figures:
    with (run_dir / "locust" / "locust_stats.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["Type"] in CALL_TYPES]
    calls = sum(int(r["Request Count"]) for r in rows)
    one_shot = next(r for r in rows if r["Name"] == "schedule one-shot")
    # calls answered per second, from the ledger (every call's outcome, stamped when it came back)
    per_second: Counter[int] = Counter()
    with (run_dir / "operations.csv").open() as fh:
        for r in csv.DictReader(fh):
            if r["name"].startswith("load-") and r["phase"] != "invoke":
                per_second[int(r["at_ns"]) // 1_000_000_000] += 1
    first, last = (min(per_second), max(per_second)) if per_second else (0, 0)
    steady = [per_second[t] for t in range(first + 3, last - 3)]  # full seconds, without the ramp and the end
    results = json.loads((run_dir / "results.json").read_text())
    load = [s for s in results["sources"] if s["name"].startswith("load-")]
    return Figures(
        calls=calls,
        calls_s=calls / seconds,
        steady_s=statistics.median(steady) if steady else float("nan"),
        failed=sum(int(r["Failure Count"]) for r in rows),
        p50=float(one_shot["50%"]),
        p99=float(one_shot["99%"]),
        jobs=len(load),
        verdict=results["verdict"],
        failing=sum(1 for s in load if s["verdict"] == "fail"),
        run_dir=str(run_dir),
    )


def one_run(mode: int, users: int, seconds: float, reports: Path, env: dict[str, str]) -> Figures:
    argv = [sys.executable, "-m", "harness.cli", "-q", "load", "scenarios/load-smoke.yaml", "--headless"]
    argv += ["--workers", str(mode), "--reports", str(reports / f"workers-{mode}"), *overrides(users, seconds)]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sampler = CpuSampler(proc.pid)
    sampler.start()
    out, _ = proc.communicate(timeout=seconds + 600)
    sampler.stop.set()
    sampler.join()
    if proc.returncode not in (0, 1, 2):
        raise SystemExit(f"--workers {mode}: exit {proc.returncode}\n{out[-3000:]}")
    run_dir = max((reports / f"workers-{mode}" / "load-smoke").iterdir(), key=lambda p: p.stat().st_mtime)
    figures = read_run(run_dir, seconds)
    cpu = sampler.seconds()
    figures.exit, figures.locust_cpu_s, figures.dapr_cpu_s = proc.returncode, cpu.get("locust", 0), cpu.get("dapr", 0)
    figures.recorder_cpu_s, figures.load_avg = cpu.get("recorder", 0), os.getloadavg()[0]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default="1,2", help="worker counts to compare (0: one Locust process)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--users", type=int, default=60, help="Locust users in the one stage")
    parser.add_argument("--seconds", type=float, default=30.0, help="the stage's length")
    parser.add_argument("--keep", type=Path, default=None, help="keep the run directories here")
    args = parser.parse_args()
    modes = [int(m) for m in args.modes.split(",")]
    reports = args.keep or Path(tempfile.mkdtemp(prefix="bench-load-workers-"))
    env = {**os.environ, "COLUMNS": "200"}
    rows: list[tuple[int, int, Figures]] = []
    for rnd in range(1, args.rounds + 1):
        for mode in modes:
            console.print(f"round {rnd}: --workers {mode}, {args.users} users, {args.seconds:g} s ...")
            rows.append((rnd, mode, one_run(mode, args.users, args.seconds, reports, env)))
    title = f"Jobs API calls by Locust: {args.users} users, wait 0, {args.seconds:g} s, {os.cpu_count()} cpus"
    table = Table(title=title)
    columns = ["round", "--workers", "calls", "calls/s", "steady calls/s", "failed", "one-shot p50/p99 ms"]
    columns += ["Locust cores", "Dapr cores", "recorder cores", "load avg", "load jobs", "verdict (failing)"]
    for col in columns:
        table.add_column(col, justify="right")
    for rnd, mode, f in rows:
        table.add_row(
            str(rnd),
            str(mode),
            str(f.calls),
            f"{f.calls_s:.0f}",
            f"{f.steady_s:.0f}",
            str(f.failed),
            f"{f.p50:.0f} / {f.p99:.0f}",
            f"{f.locust_cpu_s / args.seconds:.2f}",  # CPU seconds per second of the stage
            f"{f.dapr_cpu_s / args.seconds:.2f}",  # the same (their drain after the stage included)
            f"{f.recorder_cpu_s / args.seconds:.2f}",
            f"{f.load_avg:.1f}",
            str(f.jobs),
            f"{f.verdict} ({f.failing})",
        )
    console.print(table)
    doc = [{"round": r, "workers": m, **asdict(f)} for r, m, f in rows]
    (reports / "bench.json").write_text(json.dumps(doc, indent=1) + "\n")
    console.print(f"runs and bench.json in {reports}")


if __name__ == "__main__":
    main()
