"""Your own app on real Dapr (issue 15's done-when): the recording hop passes every route through unchanged, and a
kill of the user's app mid-handler is a cut-off delivery plus a duplicate, as with the recorder app.

The route matrix: an app written here with the standard library only (tests/integration/apps/echo_app.py) runs
behind a hop and a real daprd. Each request goes twice: straight to the app, and to the hop's app side (where daprd
sends); the app must see the same request both ways and the caller get the same answer. (Not through daprd's service
invocation: the local backend's daprds resolve no app ids, by design, so that nothing leaves the machine by mDNS.)
The app's calls to daprd go through the hop's Dapr side the same way. daprd's own requests to the app (the OPTIONS
probe an input binding without ``direction`` makes, a job's delivery) pass through too, and
nothing that is not a job or binding delivery is recorded as one.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from harness.cluster.base import ClusterSpec
from harness.cluster.dapr_resources import DAPR_API_VERSION
from harness.cluster.local.cluster import LocalCluster
from harness.cluster.user_app import UserApp
from harness.io import csv_files
from harness.io.app_ops import app_operations
from harness.io.ledger import Ledger
from tests.integration.test_headline import onceonly
from toolchain.binaries import Binaries

pytestmark = pytest.mark.integration

APPS = Path(__file__).resolve().parent / "apps"
PROBE_ROUTE = "/cron/probe"  # the binding's route; daprd OPTIONS-probes it when the component has no direction
BIG = 5 * 1024 * 1024

# (method, path with query, body size, answer status, answer size)
MATRIX = [
    ("GET", "/items?page=2&q=a%20b", 0, 200, 64),
    ("POST", "/job/not-a-job-of-ours", 300, 200, 16),  # a job route: recorded as a delivery, answered unchanged
    ("POST", "/orders", 1000, 201, 100),
    ("PUT", "/blobs/big", BIG, 200, 32),
    ("POST", "/download", 10, 200, 3 * 1024 * 1024),
    ("DELETE", "/items/7", 0, 204, 0),
    ("PATCH", "/items/7", 50, 404, 20),
    ("POST", "/fails", 20, 500, 40),
]


def probe_binding() -> str:
    """A cron binding that never fires in the test, with no ``direction``: daprd probes its route with OPTIONS."""
    return yaml.safe_dump(
        {
            "apiVersion": DAPR_API_VERSION,
            "kind": "Component",
            "metadata": {"name": "probe"},
            "spec": {
                "type": "bindings.cron",
                "version": "v1",
                "metadata": [{"name": "schedule", "value": "@every 1h"}, {"name": "route", "value": PROBE_ROUTE}],
            },
        }
    )


def seen(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def body_of(size: int, salt: str) -> bytes:
    return (hashlib.sha256(salt.encode()).hexdigest().encode() * (size // 64 + 1))[:size]


def test_the_hop_passes_every_route_through_unchanged(dapr_bins: Binaries, tmp_path: Path) -> None:
    log = tmp_path / "echo.jsonl"
    app = UserApp(f"{sys.executable} echo_app.py {{app_port}}", APPS, {"ECHO_LOG": str(log)})
    spec = ClusterSpec(replicas=1, user_app=app)
    with (
        LocalCluster(spec, dapr_bins, tmp_path / "run", resources={"probe.yaml": probe_binding()}) as cluster,
        httpx.Client(timeout=60.0) as http,
    ):
        # daprd's own start-up request: the binding's OPTIONS probe reached the app through the hop
        deadline = time.monotonic() + 20
        while not any(r["method"] == "OPTIONS" and r["target"] == PROBE_ROUTE for r in seen(log)):
            assert time.monotonic() < deadline, f"no OPTIONS probe of {PROBE_ROUTE} reached the app: {seen(log)}"
            time.sleep(0.2)

        # the matrix: each request straight to the app, then to the hop's app side (where daprd sends)
        hop = cluster.hops[0]
        direct, via_hop = f"http://127.0.0.1:{hop.app_port}", f"http://127.0.0.1:{hop.app_listen}"
        for method, target, size, status, answer_size in MATRIX:
            body = body_of(size, target)
            headers = {"x-echo-status": str(status), "x-echo-size": str(answer_size), "x-case": target}
            before = len(seen(log))
            straight = http.request(method, direct + target, content=body, headers=headers)
            through = http.request(method, via_hop + target, content=body, headers=headers)
            got = seen(log)[before:]
            assert len(got) == 2, (target, got)
            assert got[0] == got[1], (target, got)  # the app saw the same request both ways, headers included
            for answer in (straight, through):
                assert answer.status_code == status, (target, answer.status_code, answer.text[:200])
                assert answer.headers.get("x-echo") == hashlib.sha256(body).hexdigest(), (target, answer.headers)
            assert through.content == straight.content, target  # byte for byte, 3 MB answers included

        # the other direction: the app's calls to daprd through the hop's Dapr side, answered as daprd answers them
        to_daprd, via_dapr_side = cluster.replicas[0].dapr_http, f"http://127.0.0.1:{hop.dapr_listen}"
        token = {"dapr-api-token": cluster.tokens.dapr_api}
        for base in (to_daprd, via_dapr_side):
            assert http.get(f"{base}/v1.0/healthz", headers=token).status_code == 204
        meta = [http.get(f"{base}/v1.0/metadata", headers=token) for base in (to_daprd, via_dapr_side)]
        assert [m.status_code for m in meta] == [200, 200] and meta[0].json()["id"] == meta[1].json()["id"]

        # a real job, scheduled through the hop (recorded as the app's operation) and delivered by daprd through
        # the hop to the app (recorded as a delivery)
        job = {"dueTime": "1s", "data": {"job": "once"}}
        scheduled = http.post(f"{via_dapr_side}/v1.0-alpha1/jobs/once", json=job, headers=token)
        assert scheduled.status_code == 204, scheduled.text
        deadline = time.monotonic() + 30
        while not any(r["target"] == "/job/once" for r in seen(log)):
            assert time.monotonic() < deadline, "daprd never delivered the job through the hop"
            time.sleep(0.2)
        ops = app_operations(cluster.redis_client(), cluster.run_id)
        assert [(o.kind, o.name, o.phase) for o in ops] == [("schedule", "once", "invoke"), ("schedule", "once", "ok")]

        # only the job routes were deliveries; the probe, the matrix's other routes and the API calls passed
        # through unrecorded
        time.sleep(1.0)  # the answer record follows the app's answer
        deliveries, _ = Ledger(cluster.redis_client(), cluster.run_id, cluster.journal_texts).deliveries()
        assert sorted((d.source, d.name, d.status) for d in deliveries) == [
            ("jobs", "not-a-job-of-ours", 200),
            ("jobs", "once", 200),
        ], deliveries


def test_a_kill_of_your_app_mid_handler_is_a_cut_off_delivery_and_a_duplicate(
    dapr_bins: Binaries, tmp_path: Path
) -> None:
    proc = onceonly("run", "scenarios/byo-app.yaml", "--reports", str(tmp_path), bins=dapr_bins)
    (run_dir,) = list(tmp_path.glob("byo-app/*"))
    results = json.loads((run_dir / "results.json").read_text())
    output = proc.stdout + proc.stderr

    # the fault struck the user's app (not its hop, not daprd) inside cleanup's handler
    (fault,) = results["faults"]
    assert (fault["kind"], fault["part"]) == ("kill", "app"), fault
    victim, in_flight = fault["target"], fault["in_flight"]
    assert in_flight is not None and (in_flight["source"], in_flight["name"]) == ("jobs", "cleanup"), fault

    # the hop recorded that delivery's arrival and no answer: cut off
    deliveries, _ = csv_files.read_ledger_csv(run_dir)
    cut = next(d for d in deliveries if d.delivery_id == in_flight["delivery_id"])
    assert (cut.replica, cut.status, cut.answered_ns) == (victim, None, None), cut

    # the job the service scheduled itself is judged: that occurrence delivered again, to another replica
    (job,) = results["sources"]
    assert (job["source"], job["name"], job["verdict"]) == ("jobs", "cleanup", "fail") and proc.returncode == 1, output
    assert job["duplicates"] >= 1 and job["missed"] == 0 and job["early"] == 0 and job["spurious"] == 0, job
    witness = next(w for w in job["witnesses"] if cut.delivery_id in [d["delivery_id"] for d in w["deliveries"]])
    assert witness["kind"] == "duplicate", witness
    (again,) = [d for d in witness["deliveries"] if d["delivery_id"] != cut.delivery_id]
    assert again["replica"] != victim and again["status"] == 200 and again["received_ns"] > cut.received_ns

    # each replica's start-up schedule call is in the results and the summary: one created it, the others 409
    startup = results["app"]["startup"]
    first = startup[:3]
    assert sorted(c["replica"] for c in first) == [0, 1, 2], startup
    assert sorted(c["answer"] for c in first) == [204, 409, 409], startup
    assert results["app"]["side_effects"].startswith("unknown"), results["app"]
    summary = (run_dir / "summary.md").read_text()
    assert "start-up schedule calls" in summary and "cut off (no answer)" in summary
