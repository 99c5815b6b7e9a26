"""Mid-run job actions on real Dapr: a delete, a refused re-POST, an overwrite and a get, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness.model import NS
from tests.integration.test_headline import onceonly
from toolchain.binaries import Binaries

pytestmark = pytest.mark.integration

SCENARIO = {
    "name": "actions-it",
    "cluster": {"replicas": 2},
    "sources": {
        "jobs": [
            {"name": "doomed", "schedule": "@every 1s"},
            {"name": "kept", "schedule": "@every 1s"},
            {"name": "moved", "schedule": "@every 1s"},
            {"name": "answered", "schedule": "@every 1s"},
        ]
    },
    "app": {"bodies": {"answered": {"status": "RETRY"}}},
    "actions": [
        {"at": "3s", "op": "delete", "job": "doomed", "expect_status": 204},
        {"at": "3s", "op": "schedule", "job": "kept", "schedule": "@every 2s", "expect_status": 409},
        {"at": "3s", "op": "schedule", "job": "moved", "schedule": "@every 2s", "overwrite": True},
        {"at": "5s", "op": "get", "job": "doomed", "expect_status": 500},
    ],
    "observe": {"duration": "10s", "quiesce": "3s"},
    "expect": {"jobs": "exactly-once"},
}


def test_delete_refused_re_post_overwrite_and_get_are_recorded_and_judged(dapr_bins: Binaries, tmp_path: Path) -> None:
    path = tmp_path / "actions-it.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    proc = onceonly("run", str(path), "--reports", str(tmp_path / "r"), bins=dapr_bins, timeout=60)
    (run_dir,) = list((tmp_path / "r").glob("actions-it/*"))
    results = json.loads((run_dir / "results.json").read_text())
    assert proc.returncode == 0 and results["verdict"] == "pass", proc.stdout + proc.stderr

    actions = results["actions"]
    assert [(a["op"], a["job"], a["phase"], a["status"], a["verdict"]) for a in actions] == [
        ("delete", "doomed", "ok", 204, "pass"),
        ("schedule", "kept", "fail", 409, "pass"),
        ("schedule", "moved", "ok", 204, "pass"),
        ("get", "doomed", "fail", 500, "pass"),
    ]
    assert actions[1]["error_code"] == "DAPR_SCHEDULER_SCHEDULE_JOB" and actions[3]["not_found"] is True
    history = json.loads((run_dir / "history.json").read_text())
    assert [a["op_id"] for a in history["actions"]] == [a["op_id"] for a in actions]

    sources = {s["name"]: s for s in results["sources"]}
    assert all(s["spurious"] == 0 and s["missed"] == 0 and s["duplicates"] == 0 for s in sources.values())
    assert sources["kept"]["occurrences"] >= 8  # the 409 left the 1 s cadence in force
    assert sources["answered"]["retries"] == 0  # a 200 with {"status": "RETRY"} is a success to Dapr

    ops = history["operations"]
    deliveries = history["deliveries"]
    delete_ok = next(o["at_ns"] for o in ops if o["op_id"] == actions[0]["op_id"] and o["phase"] == "ok")
    assert not [d for d in deliveries if d["name"] == "doomed" and d["received_ns"] > delete_ok]
    overwrite = next(o["at_ns"] for o in ops if o["op_id"] == actions[2]["op_id"] and o["phase"] == "invoke")
    after = sorted(
        d["received_ns"] - overwrite for d in deliveries if d["name"] == "moved" and d["received_ns"] > overwrite
    )
    assert after and all(abs(t / NS - 2 * (k + 1)) < 0.5 for k, t in enumerate(after)), after  # every 2 s from it
