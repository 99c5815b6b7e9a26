"""The load's pure side: stages over time, plans rebuilt from recorded calls, job names per worker, the live tally
and the master's merge of the workers' tallies."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from harness.load.tally import REPORT_KEY, LiveTally, MergedTally
from harness.load.workload import (
    REDIS_CONNECTIONS,
    LoadConfig,
    job_prefix,
    ledger_client,
    load_plans,
    plan_from_body,
    stage_at,
)
from harness.model import JobPlan, Operation

NS = 1_000_000_000
STAGES = [{"duration_s": 10.0, "users": 5, "spawn_rate": 2.0}, {"duration_s": 20.0, "users": 20, "spawn_rate": 5.0}]


def test_stages_follow_each_other_and_end() -> None:
    assert stage_at(STAGES, 0) == (5, 2.0)
    assert stage_at(STAGES, 9.99) == (5, 2.0)
    assert stage_at(STAGES, 10) == (20, 5.0)
    assert stage_at(STAGES, 30) is None


def test_config_round_trips_through_its_file(tmp_path: Path) -> None:
    config = LoadConfig("run", 1234, ["http://127.0.0.1:1"], True, STAGES, 0.1, 5.0, 1.0, 3, {"one_shot": 1})
    assert LoadConfig.read(config.write(tmp_path / "load.json")) == config
    assert "token" not in (tmp_path / "load.json").read_text().lower()  # secrets travel by environment only


def invoke(op_id: str, name: str, at: int, body: dict[str, object], kind: str = "schedule") -> Operation:
    return Operation(op_id, kind, name, "invoke", at, {"method": "POST", "path": f"/v1.0/jobs/{name}", "body": body})  # type: ignore[arg-type]


def test_plans_come_from_the_first_schedule_call_and_overwrites_from_later_ones() -> None:
    ops = [
        invoke("a", "load-0-0", 1, {"dueTime": "5s", "data": {"job": "load-0-0"}}),
        invoke("b", "load-0-1", 2, {"schedule": "@every 1s", "repeats": 3, "data": {}}),
        Operation("b", "schedule", "load-0-1", "ok", 3, {"status": 204}),
        invoke("c", "load-0-1", 4, {"schedule": "@every 2s", "repeats": 3, "overwrite": True, "data": {}}),
        invoke("d", "steady", 0, {"schedule": "@every 1s", "data": {}}),  # the scenario's own job, not the load's
        Operation("e", "delete", "load-0-1", "invoke", 5, {}),
        invoke("f", "load-0-2", 6, {"dueTime": "5s", "data": {}}),  # its daprd was down: never created
        Operation("f", "schedule", "load-0-2", "fail", 7, {"error": "ConnectError"}),
    ]
    plans, op_plans = load_plans(ops, "exactly-once")
    assert plans == [
        JobPlan("load-0-0", due_time="5s", policy="exactly-once"),
        JobPlan("load-0-1", schedule="@every 1s", repeats=3, policy="exactly-once"),
    ]
    assert op_plans == {"c": JobPlan("load-0-1", schedule="@every 2s", repeats=3, policy="exactly-once")}
    assert plan_from_body("x", {"schedule": "@every 1s", "ttl": "10s"}, "contract").ttl == "10s"


def test_live_tally_counts_lateness_duplicates_and_overdue_jobs() -> None:
    tally = LiveTally(grace_s=10)
    tally.created("load-0-0", "one-shot", 0, due_in_s=5, every_s=1, repeats=3)
    tally.created("load-0-1", "recurring", 0, due_in_s=5, every_s=1, repeats=2)
    tally.created("load-0-2", "one-shot", 0, due_in_s=5, every_s=1, repeats=3)
    tally.created("load-0-3", "recurring", 0, due_in_s=5, every_s=1, repeats=2)
    assert tally.delivered("load-0-0", 5 * NS + 20_000_000) == ("one-shot", 20.0, False)
    assert tally.delivered("load-0-0", 5 * NS + 30_000_000) == ("one-shot", 30.0, True)
    assert tally.delivered("load-0-1", 1 * NS + 4_000_000) == ("recurring", 4.0, False)
    assert tally.delivered("steady", 1) is None  # not the load's
    tally.retired("load-0-3")  # deleted: the oracle judges it
    assert tally.delivered("load-0-3", 1 * NS) is None
    assert (tally.deliveries, tally.duplicates) == (3, 1)
    assert tally.missed(11 * NS) == 0  # nothing is 10 s overdue yet
    assert tally.missed(16 * NS) == 2  # load-0-2 never came; load-0-1 got 1 of 2
    rows = {r["metric"]: r["value"] for r in tally.rows(16 * NS)}
    assert rows["jobs created"] == "4" and rows["duplicates so far"] == "1"
    assert rows["missed so far (>10 s overdue)"] == "2" and rows["trigger lateness p99 ms"] == "20.0"


def test_each_worker_names_its_jobs_apart() -> None:
    assert job_prefix(None) == job_prefix("") == "load-"  # one process: the names as before
    assert job_prefix("1") == "load-w1-" and job_prefix("12") == "load-w12-"
    assert f"{job_prefix('1')}0-0" != f"{job_prefix('2')}0-0"  # user 0's first job in two workers
    with pytest.raises(ValueError, match="worker number"):
        job_prefix("a")


def test_a_snapshot_carries_each_lateness_sample_once() -> None:
    tally = LiveTally(grace_s=10)
    tally.created("load-w1-0-0", "recurring", 0, due_in_s=5, every_s=1, repeats=3)
    tally.delivered("load-w1-0-0", 1 * NS + 5_000_000)
    first = tally.snapshot(2 * NS)
    assert first == {"jobs": 1, "deliveries": 1, "duplicates": 0, "missed": 0, "lateness_ms": [5.0]}
    tally.delivered("load-w1-0-0", 2 * NS + 7_000_000)
    assert tally.snapshot(3 * NS)["lateness_ms"] == [7.0]
    assert tally.snapshot(20 * NS) == {"jobs": 1, "deliveries": 2, "duplicates": 0, "missed": 1, "lateness_ms": []}


def test_the_master_sums_the_latest_snapshot_of_each_worker() -> None:
    merged = MergedTally(grace_s=10)
    snap = {"jobs": 3, "deliveries": 2, "duplicates": 0, "missed": 0, "lateness_ms": [10.0, 30.0]}
    assert merged.add("w1", {REPORT_KEY: snap, "user_count": 5})
    assert merged.add("w2", {REPORT_KEY: snap | {"duplicates": 1, "lateness_ms": [20.0]}})
    assert merged.add("w1", {REPORT_KEY: snap | {"jobs": 4, "deliveries": 3, "lateness_ms": [40.0]}})  # w1 again
    assert not merged.add("w3", {"user_count": 1})  # a report without a tally changes nothing
    rows = {r["metric"]: r["value"] for r in merged.rows()}
    assert rows["workers reporting"] == "2"
    assert (rows["jobs created"], rows["deliveries"], rows["duplicates so far"]) == ("7", "5", "1")
    assert rows["trigger lateness p50 ms"] == "30.0" and rows["trigger lateness p99 ms"] == "40.0"
    assert [r["metric"] for r in merged.rows()][1:] == [r["metric"] for r in LiveTally().rows(0)]  # the same tab


def test_users_wait_for_a_ledger_connection_instead_of_failing_their_call() -> None:
    """redis-py's default pool raises past 100 connections; a load user's call would then lose its outcome."""
    pool = ledger_client(6379, "secret").connection_pool
    assert isinstance(pool, redis.BlockingConnectionPool)
    assert pool.max_connections == REDIS_CONNECTIONS and pool.timeout is not None and pool.timeout >= 10
    assert pool.connection_kwargs["host"] == "127.0.0.1" and pool.connection_kwargs["password"] == "secret"
