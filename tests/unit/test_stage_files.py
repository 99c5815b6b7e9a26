"""The typed files between stages (``harness.io.stage_files``): each written and read back equal, and the bytes of
a file read and written again unchanged; old files without the fields added later; readers that refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.io import store
from harness.io.stage_files import (
    ActionCall,
    FaultWindow,
    History,
    RunInfo,
    read_history,
    read_results,
    read_run_info,
    write_history,
    write_results,
    write_run_info,
)
from harness.model import NS, Delivery, Operation, ReplicaWindow
from tests.unit.test_report import document

T0 = 1_796_047_681_000_000_000


def history() -> History:
    """A history with every kind of row the runner writes: an answered and a cut-off delivery, side effects, a
    schedule call's two rows, a replica surely down, an action made."""
    return History(
        deliveries=[
            Delivery(
                "d1", "jobs", "tick-job", 0, T0 + NS, 200, {"traceparent": "00-ab-cd-01"}, T0 + NS + 5, ("naive",)
            ),
            Delivery("d2", "binding", "tick-cron", 2, T0 + 2 * NS, None),  # cut off: no answer
        ],
        operations=[
            Operation("op-1", "schedule", "tick-job", "invoke", T0, {"body": {"schedule": "@every 1s"}}),
            Operation("op-1", "schedule", "tick-job", "ok", T0 + 7, {"status": 204}),
        ],
        windows=[ReplicaWindow(0, T0, T0 + 20 * NS), ReplicaWindow(2, T0, T0 + 20 * NS)],
        observe_start_ns=T0,
        observe_end_ns=T0 + 10 * NS,
        collect_end_ns=T0 + 15 * NS,
        replicas=3,
        side_effects={
            ("jobs", "tick-job"): {"naive": 2, "idempotent": 1},
            ("binding", "b"): {"naive": 0, "idempotent": 0},
        },
        ledger_stats={"arrivals": 2, "answers": 1, "cut_off": 1},
        down=[ReplicaWindow(2, T0 + 3 * NS, T0 + 4 * NS)],
        actions=[ActionCall(0, "schedule", "tick-job", "op-1")],
    )


def test_history_round_trips_and_its_bytes_do_too(tmp_path: Path) -> None:
    path = write_history(tmp_path, history())
    assert path == tmp_path / store.HISTORY
    assert read_history(tmp_path) == history()
    written = path.read_bytes()
    write_history(tmp_path, read_history(tmp_path))
    assert path.read_bytes() == written
    data = json.loads(written)
    assert data["side_effects"][0] == {"source": "binding", "name": "b", "naive": 0, "idempotent": 0}  # sorted
    assert data["actions"] == [{"index": 0, "op": "schedule", "job": "tick-job", "op_id": "op-1"}]
    assert data["deliveries"][0]["effects"] == ["naive"]


def test_an_old_history_without_down_or_actions_reads_as_none_of_them(tmp_path: Path) -> None:
    data = json.loads(write_history(tmp_path, history()).read_text())
    del data["down"], data["actions"]
    store.write_json(tmp_path / store.HISTORY, data)
    old = read_history(tmp_path)
    assert (old.down, old.actions) == ([], [])
    assert old.deliveries == history().deliveries


def test_a_history_that_is_not_one_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / store.HISTORY).write_text("{not json")
    with pytest.raises(InputError, match="cannot be read as JSON"):
        read_history(tmp_path)
    store.write_json(tmp_path / store.HISTORY, {"deliveries": []})
    with pytest.raises(InputError, match=r"is not a onceonly history\.json"):
        read_history(tmp_path)


KILL: FaultWindow = {
    "index": 0,
    "kind": "kill",
    "target": 1,
    "part": "daprd",
    "signal": "KILL",
    "injected_ns": T0 + NS,
    "heal_due_s": 4.0,
    "healed_ns": T0 + 5 * NS,
    "note": "busy: picked a replica holding a Jobs API delivery",
    "in_flight": {"delivery_id": "d1", "name": "tick-job", "received_ns": T0, "source": "jobs"},
    "struck_ns": T0 + NS + 9,
    "heal_started_ns": T0 + 4 * NS,
}


def run_info() -> RunInfo:
    return RunInfo(
        dapr={
            "daprd": "1.16.0",
            "scheduler": "1.16.0",
            "source": "cache",
            "upgrade_to": {"daprd": "1.18.2", "scheduler": "1.18.2"},
        },
        scenario={"name": "kill-daprd", "hash": "abc123"},
        host={"node": "ci-1", "python": "3.11.9", "cpus": 8},
        timings={"cluster_ready_s": 3.61, "start_to_ready_s": 4.0, "observe_and_quiesce_s": 65.2},
        faults=[KILL],
    )


def test_run_info_round_trips_and_its_bytes_do_too(tmp_path: Path) -> None:
    path = write_run_info(tmp_path, run_info())
    assert path == tmp_path / store.RUN_INFO
    assert read_run_info(tmp_path) == run_info()
    written = path.read_bytes()
    write_run_info(tmp_path, read_run_info(tmp_path))
    assert path.read_bytes() == written
    assert list(json.loads(written)) == ["dapr", "faults", "host", "scenario", "timings"]  # sorted, as before


def test_an_old_run_info_without_faults_reads_as_none_and_a_broken_one_is_refused(tmp_path: Path) -> None:
    data = json.loads(write_run_info(tmp_path, run_info()).read_text())
    del data["faults"], data["dapr"]["source"], data["dapr"]["upgrade_to"]
    store.write_json(tmp_path / store.RUN_INFO, data)
    old = read_run_info(tmp_path)
    assert old.faults == [] and old.dapr == {"daprd": "1.16.0", "scheduler": "1.16.0"}
    del data["dapr"]["scheduler"], data["host"]["cpus"]
    store.write_json(tmp_path / store.RUN_INFO, data)
    with pytest.raises(InputError, match=r"is not a onceonly run\.json \(missing: dapr\.scheduler, host\.cpus\)"):
        read_run_info(tmp_path)
    del data["timings"]
    store.write_json(tmp_path / store.RUN_INFO, data)
    with pytest.raises(InputError, match=r"is not a onceonly run\.json \(KeyError"):
        read_run_info(tmp_path)


def test_results_round_trip_byte_for_byte(tmp_path: Path) -> None:
    path = write_results(tmp_path, document(notes=("ledger complete",)))
    assert path == tmp_path / store.RESULTS
    assert read_results(tmp_path) == document(notes=("ledger complete",))
    written = path.read_bytes()
    write_results(tmp_path, read_results(tmp_path))
    assert path.read_bytes() == written


def test_read_results_refuses_what_is_not_a_judged_run_by_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is not a directory"):
        read_results(tmp_path / "nowhere")
    no_file = r"is not a judged run: it has no results\.json \(run `onceonly check` on it\?\)"
    with pytest.raises(InputError, match=no_file):
        read_results(tmp_path)
    (tmp_path / store.RESULTS).write_text("{not json")
    with pytest.raises(InputError, match=r"results\.json cannot be read as JSON"):
        read_results(tmp_path)
    not_ours = r"is not a onceonly results\.json \(no verdict, sources, scenario, dapr\)"
    no_sources: dict[str, object] = {"verdict": "pass", "scenario": {}, "dapr": {}}
    no_verdict: dict[str, object] = {"sources": [], "scenario": {}, "dapr": {}}
    partials: list[object] = [no_sources, no_verdict, []]
    for partial in partials:
        store.write_json(tmp_path / store.RESULTS, partial)
        with pytest.raises(InputError, match=not_ours):
            read_results(tmp_path)


def test_run_info_records_onceonly_and_the_build_only_when_known(tmp_path: Path) -> None:
    """Issue 13: the onceonly that ran a run, and Dapr's commit and Go version when we built it. A run made before
    they were recorded reads and re-writes without them, so it re-judges to the same bytes."""
    info = run_info()
    info.dapr["commit"] = "c" * 40
    info.dapr["go"] = "go1.26.8"
    known = RunInfo(info.dapr, info.scenario, info.host, info.timings, info.faults, onceonly="9.9.9")
    write_run_info(tmp_path, known)
    assert read_run_info(tmp_path) == known
    assert json.loads((tmp_path / store.RUN_INFO).read_text())["onceonly"] == "9.9.9"
    write_run_info(tmp_path, run_info())
    assert "onceonly" not in json.loads((tmp_path / store.RUN_INFO).read_text())
    assert read_run_info(tmp_path).onceonly is None


def test_build_record_reads_our_builds_and_nothing_else(tmp_path: Path) -> None:
    from toolchain.binaries import Binaries, build_record

    version_dir = tmp_path / "1.18.2"
    (version_dir / "bin").mkdir(parents=True)
    (version_dir / "build.json").write_text(json.dumps({"version": "1.18.2", "commit": "abc", "go": "go1.26.8"}))
    ours = Binaries(version_dir / "bin" / "daprd", version_dir / "bin" / "scheduler", "1.18.2", "1.18.2", "cache")
    assert build_record(ours) == {"commit": "abc", "go": "go1.26.8"}
    theirs = Binaries(tmp_path / "x" / "daprd", tmp_path / "x" / "scheduler", "1.18.2", "1.18.2", "--dapr-bin-dir")
    assert build_record(theirs) == {}
