"""The headline scenario end to end on real Dapr: Jobs API vs cron binding on 3 replicas, then `check` offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolchain.binaries import Binaries

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def onceonly(*args: str, bins: Binaries, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ONCEONLY_DAPR_BIN_DIR": str(bins.daprd.parent), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def test_headline_jobs_once_per_occurrence_cron_once_per_replica(dapr_bins: Binaries, tmp_path: Path) -> None:
    # 20 s of observation instead of the scenario's 60 s keeps the suite short; the oracle is the same.
    proc = onceonly(
        "run",
        "scenarios/jobs-vs-cron.yaml",
        "--set",
        "observe.duration=20s",
        "--reports",
        str(tmp_path),
        bins=dapr_bins,
    )
    output = proc.stdout + proc.stderr
    (run_dir,) = list(tmp_path.glob("jobs-vs-cron/*"))
    for name in (
        "scenario.yaml",
        "plan.json",
        "events.jsonl",
        "history.json",
        "deliveries.csv",
        "operations.csv",
        "results.json",
        "summary.md",
        "junit.xml",
        "logs/daprd-0.log",
    ):
        assert (run_dir / name).is_file(), f"{name} missing; output:\n{output}"
    results = json.loads((run_dir / "results.json").read_text())
    rows = {r["source"]: r for r in results["sources"]}
    jobs, cron = rows["jobs"], rows["binding"]

    assert jobs["replicas"] == 3 and cron["replicas"] == 3
    assert jobs["occurrences"] >= 15, jobs
    assert jobs["duplicates"] == 0 and jobs["missed"] == 0 and jobs["early"] == 0, jobs["witnesses"]
    assert jobs["deliveries"] == jobs["occurrences"]  # 1.00 deliveries per occurrence
    assert jobs["verdict"] == "pass"
    assert len([n for n in jobs["per_replica"].values() if n > 0]) >= 2  # spread over replicas, not pinned

    assert cron["policy"] == "contract"
    assert cron["missed"] == 0 and cron["duplicates"] == 0, cron["witnesses"]
    assert cron["deliveries"] >= 3 * 15
    assert cron["deliveries_per_occurrence"] == 3.0  # three per tick: one per replica, by design
    assert results["verdict"] == "pass" and proc.returncode == 0, output
    assert "tick-job" in proc.stdout and "tick-cron" in proc.stdout  # the verdict table

    # re-judged offline, the same results.json
    before = (run_dir / "results.json").read_text()
    again = onceonly("check", str(run_dir), bins=dapr_bins, timeout=60)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "results.json reproduced" in again.stdout
    assert (run_dir / "results.json").read_text() == before


def test_bad_scenario_starts_nothing(dapr_bins: Binaries, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "scenarios" / "jobs-vs-cron.yaml").read_text().replace("replicas: 3", "replicas: -1"))
    proc = onceonly("run", str(bad), "--reports", str(tmp_path / "reports"), bins=dapr_bins, timeout=60)
    assert proc.returncode == 3
    assert "cluster.replicas" in proc.stderr
    assert not (tmp_path / "reports").exists()


def test_tick_model_matches_real_dapr_on_mixed_schedules(dapr_bins: Binaries, tmp_path: Path) -> None:
    """dueTime, repeats, ttl, @every and aligned cron: the occurrences onceonly predicts are what Dapr fires."""
    proc = onceonly("run", "scenarios/jobs-mixed.yaml", "--reports", str(tmp_path), bins=dapr_bins)
    (run_dir,) = list(tmp_path.glob("jobs-mixed/*"))
    results = json.loads((run_dir / "results.json").read_text())
    rows = {r["name"]: r for r in results["sources"]}
    finite = {name: rows[name]["occurrences"] for name in ("one-shot", "three", "ttl-5s", "due-then")}
    assert finite == {"one-shot": 1, "three": 3, "ttl-5s": 5, "due-then": 4}
    for name, row in rows.items():
        assert row["deliveries"] == row["occurrences"], (name, row["witnesses"])
        assert (row["duplicates"], row["missed"], row["early"], row["spurious"]) == (0, 0, 0, 0), (name, row)
    assert results["verdict"] == "pass" and proc.returncode == 0, proc.stdout + proc.stderr


def test_cron_binding_fails_exactly_once_with_two_duplicates_per_tick(dapr_bins: Binaries, tmp_path: Path) -> None:
    proc = onceonly(
        "run",
        "scenarios/jobs-vs-cron.yaml",
        "--set",
        "observe.duration=8s",
        "--set",
        "expect.bindings=exactly-once",
        "--reports",
        str(tmp_path),
        bins=dapr_bins,
    )
    (run_dir,) = list(tmp_path.glob("jobs-vs-cron/*"))
    cron = next(r for r in json.loads((run_dir / "results.json").read_text())["sources"] if r["source"] == "binding")
    assert cron["verdict"] == "fail" and proc.returncode == 1
    assert cron["duplicates"] == 2 * cron["occurrences"] and cron["missed"] == 0
    witness = cron["witnesses"][0]
    assert witness["kind"] == "duplicate" and len({d["replica"] for d in witness["deliveries"]}) == 3
    junit = (run_dir / "junit.xml").read_text()
    assert "<failure" in junit and "tick-cron" in junit


def test_repeat_reports_the_cron_bindings_duplicates_as_a_rate(dapr_bins: Binaries, tmp_path: Path) -> None:
    """`run --repeat 2` on real Dapr: two runs in one set, rates.json with the binding's two extra deliveries per
    tick as 2,000 per 1,000 occurrences (inside its interval) in both runs, and the job's none, with an upper bound."""
    proc = onceonly(
        "run",
        "scenarios/jobs-vs-cron.yaml",
        "--set",
        "observe.duration=6s",
        "--set",
        "expect.bindings=exactly-once",
        "--repeat",
        "2",
        "--reports",
        str(tmp_path),
        bins=dapr_bins,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (set_dir,) = list(tmp_path.glob("jobs-vs-cron/*-x2"))
    doc = json.loads((set_dir / "rates.json").read_text())
    assert [r["verdict"] for r in doc["runs"]] == ["fail", "fail"]
    rows = {row["name"]: row for row in doc["rates"]["sources"]}
    cron, job = rows["tick-cron"]["duplicates"], rows["tick-job"]["duplicates"]
    assert cron["runs_with"] == 2 and cron["per_1000"] == 2000.0
    assert cron["per_1000_interval"][0] < 2000 < cron["per_1000_interval"][1]
    assert job["events"] == 0 and job["per_1000_interval"][0] == 0 and job["per_1000_interval"][1] > 0
    assert "per 1,000 occurrences [95% interval]" in proc.stdout
    for run in ("run-1", "run-2"):
        assert json.loads((set_dir / run / "results.json").read_text())["verdict"] == "fail"
