"""Load on real Dapr through Locust (one process, or a master and two workers): every job created is accounted for,
and Locust's web UI shows onceonly's tab (checked in a headless Chromium, the screenshot kept in
reports/artifacts/)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.cluster.local.ports import PortAllocator
from tests.integration.browser import chromium, needs_chromium
from tests.integration.helpers import wait_gone
from tests.integration.test_headline import ROOT, onceonly
from toolchain.binaries import Binaries

pytestmark = pytest.mark.integration
ARTIFACTS = ROOT / "reports" / "artifacts"


def test_load_smoke_accounts_for_every_job_created(dapr_bins: Binaries, tmp_path: Path) -> None:
    started = time.monotonic()
    proc = onceonly("load", "scenarios/load-smoke.yaml", "--headless", "--reports", str(tmp_path), bins=dapr_bins)
    took = time.monotonic() - started
    (run_dir,) = list(tmp_path.glob("load-smoke/*"))
    results = json.loads((run_dir / "results.json").read_text())
    load = [s for s in results["sources"] if s["name"].startswith("load-")]
    print(f"load-smoke: {len(load)} jobs, {sum(s['deliveries'] for s in load)} deliveries, {took:.0f} s")
    assert len(load) >= 1000, f"only {len(load)} jobs created"
    # every job the load created was recorded as a schedule call, and each has a source in the results
    with (run_dir / "operations.csv").open() as fh:
        created = {r["name"] for r in csv.DictReader(fh) if r["kind"] == "schedule" and r["name"].startswith("load-")}
    assert created == {s["name"] for s in load}
    with (run_dir / "locust" / "locust_stats.csv").open() as fh:
        names = {row["Name"] for row in csv.DictReader(fh)}
    assert {"schedule one-shot", "one-shot lateness"} <= names  # calls and trigger lateness, side by side
    assert "load-* (" in (run_dir / "summary.md").read_text()  # one aggregate row, not a thousand
    own = _dapr_own_failure(run_dir, results)
    if own is not None:  # the instrument did its job: Dapr failed under this load, with a witness for each anomaly
        pytest.xfail(f"Dapr itself failed under load-smoke (docs/findings.md): {own}")
    # nothing fails; a job may be unknown only as ambiguous: under load one of its deliveries came late alone (over
    # the pin window), which fits a re-send of the occurrence before as well (docs/findings.md)
    failing = [(s["name"], s["notes"][:1]) for s in load if s["verdict"] == "fail"]
    assert not failing, failing[:10]
    unknown = [s for s in load if s["verdict"] == "unknown"]
    unexplained = [(s["name"], s["notes"]) for s in unknown if not _ambiguous(s)]
    assert not unexplained, unexplained[:10]
    assert len(unknown) <= len(load) // 100, [s["name"] for s in unknown]
    assert proc.returncode == (2 if unknown or results["verdict"] == "unknown" else 0), proc.stdout[-3000:]
    assert results["verdict"] != "fail"


def test_load_smoke_with_two_workers_accounts_for_every_job_and_both_workers_sent_calls(
    dapr_bins: Binaries, tmp_path: Path
) -> None:
    """`onceonly load scenarios/load-smoke.yaml --headless --workers 2`: Locust's master and two workers."""
    started = time.monotonic()
    args = ["load", "scenarios/load-smoke.yaml", "--headless", "--workers", "2", "--reports", str(tmp_path)]
    proc = onceonly(*args, bins=dapr_bins)
    took = time.monotonic() - started
    (run_dir,) = list(tmp_path.glob("load-smoke/*"))
    results = json.loads((run_dir / "results.json").read_text())
    load = [s for s in results["sources"] if s["name"].startswith("load-")]
    with (run_dir / "operations.csv").open() as fh:
        ops = [r for r in csv.DictReader(fh) if r["name"].startswith("load-")]
    created = {r["name"] for r in ops if r["kind"] == "schedule"}
    per_worker = {w: sum(1 for r in ops if r["name"].startswith(f"load-w{w}-")) for w in (1, 2)}
    print(f"load-smoke --workers 2: {len(load)} jobs, calls per worker {per_worker}, {took:.0f} s")
    # both workers sent calls, every load call came from one of them, and every job created has a source
    assert per_worker[1] > 100 and per_worker[2] > 100, per_worker
    assert sum(per_worker.values()) == len(ops)
    assert len(load) >= 1000, f"only {len(load)} jobs created"
    assert created == {s["name"] for s in load}
    # the master wrote the stats of the workers' requests (calls and trigger lateness) and the merged tally
    with (run_dir / "locust" / "locust_stats.csv").open() as fh:
        stats = {row["Name"]: row for row in csv.DictReader(fh)}
    assert {"schedule one-shot", "one-shot lateness"} <= set(stats)
    assert int(stats["schedule one-shot"]["Request Count"]) > 500
    live = {r["metric"]: r["value"] for r in json.loads((run_dir / "locust" / "live.json").read_text())}
    assert live["workers reporting"] == "2" and 0 < int(live["jobs created"]) <= len(created), live
    stopped = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    (event,) = [e for e in stopped if e.get("event") == "load_stopped"]
    assert set(event["workers"]) == {"locust-worker-1", "locust-worker-2"}, event
    pids = [p["pid"] for p in json.loads((run_dir / "processes.json").read_text())["processes"]]
    assert wait_gone(pids, timeout=10) == []  # master and workers too
    own = _dapr_own_failure(run_dir, results)
    if own is not None:
        pytest.xfail(f"Dapr itself failed under load-smoke (docs/findings.md): {own}")
    failing = [(s["name"], s["notes"][:1]) for s in load if s["verdict"] == "fail"]
    assert not failing, failing[:10]
    # unknown only as ambiguous, or because its create call stalled over half its period (seen on this shared
    # machine at 540 ms: then its due times are known only within the call's span, docs/findings.md)
    unknown = [s for s in load if s["verdict"] == "unknown"]
    unexplained = [(s["name"], s["notes"]) for s in unknown if not (_ambiguous(s) or _slow_create(s))]
    assert not unexplained, unexplained[:10]
    assert len(unknown) <= len(load) // 100, [s["name"] for s in unknown]
    assert proc.returncode == (2 if unknown or results["verdict"] == "unknown" else 0), proc.stdout[-3000:]


@needs_chromium
def test_web_ui_shows_the_onceonly_tab_live(dapr_bins: Binaries, tmp_path: Path) -> None:
    port = PortAllocator().take()
    env = {**os.environ, "ONCEONLY_DAPR_BIN_DIR": str(dapr_bins.daprd.parent), "COLUMNS": "200"}
    args = ["load", "scenarios/load-smoke.yaml", "--web", "--web-port", str(port), "--reports", str(tmp_path)]
    args += [
        "--set",
        "workload.load.stages=[{duration: 20s, users: 5, spawn_rate: 5}]",
        "--set",
        "observe.duration=30s",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_for(url, timeout=90)
        time.sleep(8)  # let the load create jobs and some of them fire
        live = httpx.get(f"{url}onceonly/live", timeout=5).json()
        assert int(next(r["value"] for r in live if r["metric"] == "jobs created")) > 0, live
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "locust-onceonly-tab.png"
        dom = chromium(f"{url}?tab=onceonly", screenshot=shot)
        assert "jobs created" in dom and "trigger lateness p99 ms" in dom, dom[-3000:]
        assert "duplicates so far" in dom and "missed so far" in dom
        assert shot.is_file() and shot.stat().st_size > 10_000
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=60)
    (run_dir,) = list(tmp_path.glob("load-smoke/*"))
    results = json.loads((run_dir / "results.json").read_text())
    pids = [p["pid"] for p in json.loads((run_dir / "processes.json").read_text())["processes"]]
    assert wait_gone(pids, timeout=10) == []
    own = _dapr_own_failure(run_dir, results)
    if own is not None:
        pytest.xfail(f"Dapr itself failed under load (docs/findings.md): {own}")
    # pass, or unknown only as ambiguous (see test_load_smoke_accounts_for_every_job_created)
    unknown = [s for s in results["sources"] if s["verdict"] == "unknown"]
    assert all(_ambiguous(s) for s in unknown), [(s["name"], s["notes"]) for s in unknown]
    assert proc.returncode == (2 if unknown else 0), output[-3000:]


def _dapr_own_failure(run_dir: Path, results: dict[str, Any]) -> str | None:
    """Why the run failed when the cause is Dapr's own, seen under this load on 1.18.2 (docs/findings.md), else None:
    a scheduler that exited fatally (then every anomaly is a missed occurrence), or a trigger that reached the app
    after its job's delete had returned 204 (then every anomaly is such a spurious delivery, within a second)."""
    failing = [s for s in results["sources"] if s["verdict"] == "fail"]
    witnesses = [w for s in failing for w in s["witnesses"]]
    if not failing or not witnesses:
        return None
    fatal = [
        f"{log.stem}: {line.strip()[:160]}"
        for log in sorted((run_dir / "logs").glob("scheduler-*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if "level=fatal" in line
    ]
    if fatal and all(w["kind"] == "missed" for w in witnesses):
        return f"{fatal[0]}; {sum(s['missed'] for s in failing)} occurrence(s) missed after it"
    after_delete = [w for w in witnesses if w["kind"] == "spurious" and "after the job was deleted" in w["note"]]
    if after_delete and len(after_delete) == len(witnesses):
        return (
            f"{len(after_delete)} trigger(s) reached the app after the job's delete returned: {after_delete[0]['note']}"
        )
    return None


def _ambiguous(source: dict[str, object]) -> bool:
    notes = source["notes"]
    return isinstance(notes, list) and any(str(n).startswith("ambiguous: ") for n in notes)


def _slow_create(source: dict[str, object]) -> bool:
    notes = source["notes"]
    return isinstance(notes, list) and any("over half the period" in str(n) for n in notes)


def _wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"Locust's web UI never answered at {url}")
