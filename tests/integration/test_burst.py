"""Hundreds of triggers due at one instant: the app records every one and answers 2xx (onceonly keeps up)."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from harness.cluster.base import ClusterSpec
from harness.cluster.local.cluster import LocalCluster
from harness.io.ledger import Ledger
from tests.integration.helpers import jobs_url
from toolchain.binaries import Binaries

pytestmark = pytest.mark.integration
N = 600


def test_a_burst_of_triggers_is_recorded_and_answered_once_each(dapr_bins: Binaries, tmp_path: Path) -> None:
    """Regression: redis-py's default async pool (100 connections, then "Too many connections") made the app
    answer 503 to most of a 1,000-trigger burst, so Dapr retried them; the app now waits for a connection."""
    with LocalCluster(ClusterSpec(replicas=1), dapr_bins, tmp_path / "run") as cluster:
        replica = cluster.replicas[0]
        due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=N / 100 + 5)
        stamp = due.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        url = jobs_url(cluster, replica, "")
        with httpx.Client(timeout=30.0) as http, ThreadPoolExecutor(16) as pool:

            def create(i: int) -> int:
                body = {"dueTime": stamp, "data": {"i": i}}
                headers = {"dapr-api-token": cluster.tokens.dapr_api}
                return http.post(f"{url}burst-{i}", json=body, headers=headers).status_code

            assert set(pool.map(create, range(N))) == {204}
        assert dt.datetime.now(dt.UTC) < due, "creating the jobs took longer than planned"
        ledger = Ledger(cluster.redis_client(), cluster.run_id, cluster.journal_texts)
        deadline = time.monotonic() + (due - dt.datetime.now(dt.UTC)).total_seconds() + 60
        while time.monotonic() < deadline:
            deliveries, stats = ledger.deliveries()
            if len({d.name for d in deliveries}) >= N:
                break
            time.sleep(1.0)
        time.sleep(2.0)
        deliveries, stats = ledger.deliveries()
    statuses = Counter(d.status for d in deliveries)
    per_job = Counter(d.name for d in deliveries)
    assert statuses == {200: N}, (statuses, stats)
    assert set(per_job.values()) == {1} and len(per_job) == N
    assert stats["journal_entries"] == 0
