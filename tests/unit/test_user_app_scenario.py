"""A scenario's own app (``app.command``): valid forms load, each invalid form is refused naming its field path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.scenario.loader import load_scenario
from harness.scenario.schema import ScenarioError
from harness.scenario.user_app import command_argv

ROOT = Path(__file__).resolve().parents[2]


def own_app(**app: Any) -> dict[str, Any]:
    return {
        "name": "mine",
        "cluster": {"replicas": 3},
        "sources": {},
        "app": {"command": "uvicorn main:app --port {app_port}", "health": "/health", **app},
        "observe": {"duration": "20s"},
    }


def write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_own_app_loads_with_cwd_from_the_scenario_file(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    sc = load_scenario(write(tmp_path, own_app(cwd="svc", env={"LOG_LEVEL": "debug"})))
    assert sc.app.own and sc.has_jobs
    assert sc.app.cwd == str((tmp_path / "svc").resolve())
    assert sc.app.env == {"LOG_LEVEL": "debug"}
    assert sc.sources.jobs == [] and sc.sources.bindings == []


def test_own_app_without_cwd_runs_in_the_scenario_files_directory(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, own_app()))
    assert sc.app.cwd == str(tmp_path.resolve())


def test_the_run_dirs_copy_loads_to_the_same_scenario(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, own_app(cwd="svc")))
    again = tmp_path / "run"
    again.mkdir()
    (again / "scenario.yaml").write_text(sc.dump_yaml())
    assert load_scenario(again / "scenario.yaml").canonical_hash() == sc.canonical_hash()


def test_command_argv_replaces_the_port_in_every_word() -> None:
    assert command_argv("uvicorn main:app --port {app_port} --bind '127.0.0.1:{app_port}'", 6123) == [
        "uvicorn",
        "main:app",
        "--port",
        "6123",
        "--bind",
        "127.0.0.1:6123",
    ]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (own_app(delay_ms=500), "app.delay_ms: is the recorder app's behaviour"),
        (own_app(bodies={"x": {"status": "RETRY"}}), "app.bodies: is the recorder app's behaviour"),
        (own_app(command="  "), "app.command: '  ' is empty"),
        (own_app(command="run 'unclosed"), "app.command: cannot be split"),
        (own_app(command="run --port {port}"), "app.command: {port} is not known"),
        (own_app(env={"DAPR_HTTP_PORT": "3500"}), "app.env.DAPR_HTTP_PORT: DAPR_HTTP_PORT is onceonly's to set"),
        (own_app(env={"ONCEONLY_RUN_ID": "x"}), "app.env.ONCEONLY_RUN_ID: ONCEONLY_RUN_ID is onceonly's"),
        (own_app(health="health"), "app.health: 'health' is not a path"),
        (own_app(env={"N": 5}), "app.env.N: expected a string, got 5"),
    ],
)
def test_invalid_own_app_is_refused_with_its_field_path(tmp_path: Path, doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(write(tmp_path, doc))
    assert message in str(err.value)


@pytest.mark.parametrize("field", ["cwd", "env", "health"])
def test_own_app_fields_without_a_command_are_refused(tmp_path: Path, field: str) -> None:
    doc = own_app(**{field: {"A": "b"} if field == "env" else "/x"})
    del doc["app"]["command"]
    doc["sources"] = {"jobs": [{"name": "j", "schedule": "@every 1s"}]}
    if field != "health":
        doc["app"].pop("health")
    with pytest.raises(ScenarioError) as err:
        load_scenario(write(tmp_path, doc))
    assert f"app.{field}: is only valid with app.command" in str(err.value)


def test_no_sources_without_an_own_app_is_still_refused(tmp_path: Path) -> None:
    doc = own_app()
    del doc["app"]
    with pytest.raises(ScenarioError) as err:
        load_scenario(write(tmp_path, doc))
    assert "sources: no jobs and no bindings" in str(err.value)


def test_a_busy_fault_may_name_a_job_the_app_schedules(tmp_path: Path) -> None:
    doc = own_app()
    doc["faults"] = [{"at": "7s", "kind": "kill", "target": "busy", "part": "app", "busy": "jobs"}]
    assert load_scenario(write(tmp_path, doc)).faults[0].target == "busy"
    doc["faults"][0]["busy"] = {"source": "jobs", "name": "cleanup"}
    assert load_scenario(write(tmp_path, doc)).faults[0].busy is not None


def test_byo_app_scenario_and_its_suite_case_validate() -> None:
    from harness.scenario.suite import load_suite

    sc = load_scenario(ROOT / "scenarios" / "byo-app.yaml")
    assert sc.app.own and sc.app.cwd == str(ROOT / "examples" / "cleanup-service")
    assert (sc.faults[0].target, sc.faults[0].part) == ("busy", "app")
    _name, cases = load_suite(ROOT / "scenarios" / "regression.yaml")
    assert any(case.scenario.name == "byo-app" for case in cases)
