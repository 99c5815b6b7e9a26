"""``target: busy`` takes what it waits for: the scenario's ``busy`` field (validation, asserting the text) and the
nemesis choosing a replica from the apps' /healthz (a FAKE cluster and httpx.MockTransport apps)."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from harness import nemesis as nemesis_module
from harness.errors import ClusterError
from harness.nemesis import Nemesis
from harness.scenario.loader import load_scenario
from harness.scenario.schema import FaultSpec, ScenarioError, busy_source

HEADLINE = Path(__file__).resolve().parents[2] / "scenarios" / "jobs-vs-cron.yaml"  # tick-job and tick-cron


def scenario_with(tmp_path: Path, fault: dict[str, Any], drop: str | None = None) -> Path:
    doc = copy.deepcopy(yaml.safe_load(HEADLINE.read_text()))
    doc["faults"] = [{"at": "5s", "kind": "kill", "target": "busy", **fault}]
    if drop is not None:
        del doc["sources"][drop]
    path = tmp_path / "busy.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize(
    ("fault", "drop", "wants"),
    [
        ({}, None, ("jobs", None)),
        ({}, "jobs", ("binding", None)),  # default: a job's delivery when there are jobs, else a binding's
        ({"busy": "binding"}, None, ("binding", None)),
        ({"busy": "jobs"}, None, ("jobs", None)),
        ({"busy": {"source": "jobs", "name": "tick-job"}}, None, ("jobs", "tick-job")),
        ({"busy": {"source": "binding", "name": "tick-cron"}}, None, ("binding", "tick-cron")),
    ],
)
def test_busy_says_what_the_target_waits_for(
    tmp_path: Path, fault: dict[str, Any], drop: str | None, wants: tuple[str, str | None]
) -> None:
    sc = load_scenario(scenario_with(tmp_path, fault, drop))
    assert busy_source(sc.faults[0], has_jobs=bool(sc.sources.jobs)) == wants


def test_busy_shorthand_and_mapping_are_the_same_scenario(tmp_path: Path) -> None:
    short = load_scenario(scenario_with(tmp_path, {"busy": "jobs"}))
    long = load_scenario(scenario_with(tmp_path, {"busy": {"source": "jobs"}}))
    assert short.canonical_hash() == long.canonical_hash()
    assert load_scenario(scenario_with(tmp_path, {})).canonical()["faults"][0].get("busy") is None


@pytest.mark.parametrize(
    ("fault", "drop", "message"),
    [
        ({"target": 1, "busy": "jobs"}, None, "faults.0.busy: is only valid with target busy, not target 1"),
        ({"busy": "cron"}, None, "faults.0.busy.source: 'cron' is not valid: must be one of jobs, binding"),
        ({"busy": 3}, None, "faults.0.busy: expected jobs, binding or {source: jobs, name: <a job>}, got 3"),
        (
            {"busy": {"source": "jobs", "name": "tick-jb"}},
            None,
            "faults.0.busy.name: 'tick-jb' is not a source of sources.jobs (did you mean 'tick-job'?); jobs: tick-job",
        ),
        (
            {"busy": {"source": "jobs", "name": "tick-cron"}},
            None,
            "faults.0.busy.name: 'tick-cron' is not a source of sources.jobs: it is one of the other kind "
            "(use source: binding)",
        ),
        ({"busy": "jobs"}, "jobs", "faults.0.busy: 'jobs' is not valid: the scenario has no sources.jobs"),
        ({"busy": {"source": "jobs", "name": "x", "y": 1}}, None, "unknown key 'y' in faults.0.busy"),
    ],
)
def test_bad_busy_is_refused_with_its_path(
    tmp_path: Path, fault: dict[str, Any], drop: str | None, message: str
) -> None:
    path = scenario_with(tmp_path, fault, drop)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    assert f"{path}: {message}" in str(exc.value)


# --- the nemesis ---------------------------------------------------------------------------------------------------


@dataclass
class FakeReplica:
    app_url: str


@dataclass
class FakeCluster:
    """A FAKE LocalCluster: replicas with an app URL, and the kill it is asked for."""

    replicas: dict[int, FakeReplica]
    schedulers: list[int] = field(default_factory=lambda: [0])
    kills: list[tuple[int, str]] = field(default_factory=list)

    def kill(self, index: int, part: str, sig: Any) -> None:
        self.kills.append((index, part))


def held(i: str, source: str, name: str, received_ns: int) -> dict[str, Any]:
    return {"delivery_id": i, "source": source, "name": name, "received_ns": received_ns}


def nemesis_over(apps: dict[int, list[dict[str, Any]]], events: list[tuple[str, dict[str, Any]]]) -> Nemesis:
    def healthz(request: httpx.Request) -> httpx.Response:
        index = int(request.url.host.removeprefix("app"))
        if index == 9:
            return httpx.Response(500, text="not json")  # an app that does not answer sensibly holds nothing
        return httpx.Response(200, json={"status": "ok", "inflight": len(apps[index]), "deliveries": apps[index]})

    cluster = FakeCluster({i: FakeReplica(f"http://app{i}") for i in apps})
    client = httpx.Client(transport=httpx.MockTransport(healthz))
    return Nemesis(cluster, random.Random(0), client, lambda e, **kw: events.append((e, kw)))  # type: ignore[arg-type]


APPS = {
    0: [held("b0", "binding", "tick-cron", 10)],
    1: [held("j1", "jobs", "tick-job", 20), held("j1b", "jobs", "tick-job", 25), held("o1", "jobs", "other", 30)],
    2: [held("b2", "binding", "tick-cron", 12)],
    9: [],
}


def fault(**kw: Any) -> FaultSpec:
    return FaultSpec.model_validate({"at": 1, "kind": "kill", "target": "busy", **kw})


def test_a_busy_kill_strikes_the_replica_holding_the_wanted_delivery_and_records_it() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    nem = nemesis_over(APPS, events)
    handle = nem.inject(0, fault(busy={"source": "jobs", "name": "tick-job"}))
    assert nem.cluster.kills == [(1, "both")]  # type: ignore[attr-defined]
    # the youngest matching delivery: the most handler time left when the fault lands
    assert handle.in_flight == held("j1b", "jobs", "tick-job", 25)
    assert handle.note == "busy: picked a replica holding a Jobs API delivery of tick-job"
    ((name, window),) = events
    assert name == "fault_injected" and window["in_flight"]["delivery_id"] == "j1b" and window["target"] == 1


def test_a_busy_binding_target_is_blind_to_jobs_and_the_reverse() -> None:
    nem = nemesis_over(APPS, [])
    handle = nem.inject(0, fault(busy="binding"))
    assert handle.target in (0, 2) and handle.in_flight is not None
    assert handle.in_flight["source"] == "binding"
    other = nemesis_over(APPS, [])
    assert other.inject(0, fault()).in_flight["name"] in ("tick-job", "other")  # type: ignore[index]


def test_busy_gives_up_naming_what_it_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nemesis_module, "BUSY_WAIT_S", 0.2)
    nem = nemesis_over({0: [held("b0", "binding", "tick-cron", 1)], 9: []}, [])
    with pytest.raises(ClusterError, match="no replica held a Jobs API delivery of tick-job in flight within 0 s"):
        nem.inject(0, fault(busy={"source": "jobs", "name": "tick-job"}))
    assert nem.cluster.kills == []  # type: ignore[attr-defined]


def test_a_fan_out_name_matches_its_members_and_nothing_else() -> None:
    from harness.nemesis import matches

    def d(name: str) -> dict[str, Any]:
        return {"source": "jobs", "name": name}

    assert matches(d("tick-fan-003"), "jobs", "tick-fan") and matches(d("tick-fan"), "jobs", "tick-fan")
    assert not matches(d("tick-fanatic"), "jobs", "tick-fan") and not matches(d("tick-fan-x"), "jobs", "tick-fan")
    assert not matches(d("tick-fan-003"), "binding", "tick-fan")
    assert matches(d("anything"), "jobs", None)
