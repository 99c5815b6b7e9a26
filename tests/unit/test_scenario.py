"""Scenario files: the headline file validates; every invalid file is refused with a short message naming the
file, the field, the bad value and the valid choices (each test asserts the TEXT); ``--set`` overrides; the hash.

Invalid documents are named fixtures (chaostoolkit style): the headline scenario with one change each, written to a
file and loaded the way the CLI loads it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import ExitCode, InputError
from harness.model import NS, FailurePolicy, JobPlan
from harness.oracle.ticks import validate_schedule
from harness.oracle.times import ScheduleError
from harness.scenario.loader import load_scenario, parse_scenario
from harness.scenario.schema import Scenario, ScenarioError, duration_ns, format_duration
from toolchain.versions import SUPPORTED

HEADLINE = Path(__file__).resolve().parents[2] / "scenarios" / "jobs-vs-cron.yaml"

Doc = dict[str, Any]
Change = Callable[[Doc], None]


def headline() -> Doc:
    data = yaml.safe_load(HEADLINE.read_text())
    assert isinstance(data, dict)
    return data


def write(tmp_path: Path, doc: object, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def refused(path: Path, overrides: tuple[str, ...] = ()) -> str:
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path, overrides)
    return str(exc.value)


def job(doc: Doc, i: int = 0) -> Doc:
    entry = doc["sources"]["jobs"][i]
    assert isinstance(entry, dict)
    return entry


# --- the headline scenario -------------------------------------------------------------------------------------


def test_headline_validates() -> None:
    sc = load_scenario(HEADLINE)
    assert sc.name == "jobs-vs-cron"
    assert (sc.cluster.replicas, sc.cluster.schedulers) == (3, 1)
    assert sc.dapr.version is None and sc.dapr.bin_dir is None  # the CLI's default version applies
    assert (sc.observe.duration, sc.observe.quiesce) == (timedelta(seconds=60), timedelta(seconds=5))
    assert sc.job_plans() == [JobPlan("tick-job", schedule="@every 1s", policy="exactly-once")]
    [binding] = sc.binding_plans()
    assert (binding.name, binding.schedule, binding.policy) == ("tick-cron", "*/1 * * * * *", "contract")
    assert sc.sources.jobs[0].data == {"job": "tick-job"}  # Dapr never delivers a job created without data
    assert (sc.app.delay_ms, sc.app.status, sc.app.fail_first, sc.app.side_effect) == (0, 200, 0, "both")
    assert sc.workload.load is None and sc.faults == []


def test_headline_explains_itself() -> None:
    text = HEADLINE.read_text()
    for words in ("at least once", "every replica", "exactly-once", "contract", "replicas: 3"):
        assert words in text


# --- invalid scenarios: one change each, and the exact line it produces ------------------------------------------


def set_replicas(value: object) -> Change:
    return lambda d: d["cluster"].update(replicas=value)


def no_schedule_with(**fields: object) -> Change:
    def change(d: Doc) -> None:
        del job(d)["schedule"]
        job(d).update(fields)

    return change


WrongType = set_replicas("three")
UnknownKey: Change = lambda d: d["cluster"].update(replica=d["cluster"].pop("replicas"))  # noqa: E731
UnknownSection: Change = lambda d: d.update(obsrve=d.pop("observe"))  # noqa: E731
NegativeReplicas = set_replicas(-1)
TooManyReplicas = set_replicas(21)
TwoSchedulers: Change = lambda d: d["cluster"].update(schedulers=2)  # noqa: E731
MissingObserve: Change = lambda d: d.pop("observe")  # noqa: E731
MissingReplicas: Change = lambda d: d["cluster"].pop("replicas")  # noqa: E731
DuplicateNames: Change = lambda d: d["sources"]["bindings"][0].update(name="tick-job")  # noqa: E731
RepeatsWithoutSchedule = no_schedule_with(due_time="1s", repeats=3)
TtlWithoutSchedule = no_schedule_with(due_time="1s", ttl="1h")
NoScheduleNoDueTime = no_schedule_with()
BadDueTime: Change = lambda d: job(d).update(due_time="soon")  # noqa: E731
BadTtl: Change = lambda d: job(d).update(ttl="2026-13-01T00:00:00Z")  # noqa: E731
BadName: Change = lambda d: job(d).update(name="Tick_Job")  # noqa: E731
UnknownVersion: Change = lambda d: d.update(dapr={"version": "1.2.3"})  # noqa: E731
VersionAndBinDir: Change = lambda d: d.update(dapr={"version": "1.18.2", "bin_dir": "/opt/dapr"})  # noqa: E731
FaultLate: Change = lambda d: d.update(faults=[{"kind": "kill", "at": "90s"}])  # noqa: E731
FaultBadTarget: Change = lambda d: d.update(faults=[{"kind": "kill", "at": "10s", "target": 3}])  # noqa: E731
FaultScaleNoCount: Change = lambda d: d.update(faults=[{"kind": "scale", "at": "10s"}])  # noqa: E731
FaultBadKind: Change = lambda d: d.update(faults=[{"kind": "explode", "at": "10s"}])  # noqa: E731
DelayWithoutDelay: Change = lambda d: d.update(faults=[{"kind": "network-delay", "at": "1s"}])  # noqa: E731
AllReplicas: Change = lambda d: d.update(faults=[{"kind": "kill", "at": "1s", "target": "all"}])  # noqa: E731
KillDirection: Change = lambda d: d.update(  # noqa: E731
    faults=[{"kind": "kill", "at": "1s", "direction": "to-scheduler"}]
)
BadLink: Change = lambda d: d.update(faults=[{"kind": "network-reset", "at": "1s", "target": 1}])  # noqa: E731
SomeWorkload: Change = lambda d: d.update(workload={"stages": []})  # noqa: E731
BadDuration: Change = lambda d: d["observe"].update(duration="a minute")  # noqa: E731
ZeroDuration: Change = lambda d: d["observe"].update(duration="0s")  # noqa: E731
NegativeQuiesce: Change = lambda d: d["observe"].update(quiesce=-1)  # noqa: E731
BadSideEffect: Change = lambda d: d.update(app={"side_effect": "twice"})  # noqa: E731
BadStatus: Change = lambda d: d.update(app={"status": 700})  # noqa: E731
BadPolicy: Change = lambda d: d["expect"].update(jobs="once")  # noqa: E731
TwoFailurePolicies: Change = lambda d: job(d).update(failure_policy={"constant": {"interval": "1s"}, "drop": {}})  # noqa: E731
TextForAMapping: Change = lambda d: d.update(cluster="three replicas")  # noqa: E731
NoSources: Change = lambda d: d.update(sources={"jobs": [], "bindings": []})  # noqa: E731

VERSIONS = ", ".join(SUPPORTED)
INVALID: dict[str, tuple[Change, str]] = {
    "wrong type": (WrongType, "cluster.replicas: expected an integer, got 'three'"),
    "unknown key": (
        UnknownKey,
        "unknown key 'replica' in cluster (did you mean 'replicas'?); valid keys: replicas, schedulers",
    ),
    "unknown section": (
        UnknownSection,
        "unknown section 'obsrve' (did you mean 'observe'?); valid sections: name, description, seed, dapr, "
        "cluster, sources, app, observe, expect, workload, faults, actions",
    ),
    "negative replicas": (NegativeReplicas, "cluster.replicas: -1 is not valid: must be at least 1"),
    "too many replicas": (TooManyReplicas, "cluster.replicas: 21 is not valid: must be at most 20"),
    "two schedulers": (TwoSchedulers, "cluster.schedulers: 2 is not valid: must be 1 or 3"),
    "missing section": (
        MissingObserve,
        "missing section 'observe' (required sections: name, cluster, sources, observe)",
    ),
    "missing key": (MissingReplicas, "cluster: missing key 'replicas'"),
    "duplicate source names": (
        DuplicateNames,
        "sources.bindings.0.name: 'tick-job' is already used by sources.jobs.0.name: source names must be unique",
    ),
    "repeats without schedule": (
        RepeatsWithoutSchedule,
        "sources.jobs.0.repeats: 3 is not valid without a schedule: a job with only a due_time fires once",
    ),
    "ttl without schedule": (
        TtlWithoutSchedule,
        "sources.jobs.0.ttl: '1h' is not valid without a schedule: ttl needs a schedule",
    ),
    "neither schedule nor due_time": (
        NoScheduleNoDueTime,
        "sources.jobs.0: needs a schedule or a due_time (or both), or a fanout",
    ),
    "bad due_time": (
        BadDueTime,
        "sources.jobs.0.due_time: bad due_time 'soon': expected a Go duration ('5s', '1m30s'), an RFC 3339 time "
        "('2026-01-02T15:04:05Z') or an ISO 8601 duration ('PT5S')",
    ),
    "bad ttl": (BadTtl, "sources.jobs.0.ttl: bad time '2026-13-01T00:00:00Z': month must be in 1..12"),
    "bad source name": (
        BadName,
        "sources.jobs.0.name: 'Tick_Job' is not valid: use 1 to 63 characters from a-z, 0-9 and '-'",
    ),
    "unknown dapr version": (
        UnknownVersion,
        f"dapr.version: '1.2.3' is not a supported Dapr version: must be one of {VERSIONS}",
    ),
    "version and bin_dir": (VersionAndBinDir, "dapr: give either version or bin_dir, not both"),
    "fault after the window": (FaultLate, "faults.0.at: at 90s is not within observe.duration"),
    "fault on a replica that does not exist": (
        FaultBadTarget,
        "faults.0.target: 3 is not valid: there are 3 replicas (0..2)",
    ),
    "scale without a replica count": (
        FaultScaleNoCount,
        "faults.0.replicas: replicas is required for kind scale, and only for it",
    ),
    "unknown fault kind": (
        FaultBadKind,
        "faults.0.kind: 'explode' is not valid: must be one of "
        "kill, pause, restart, scheduler-restart, scheduler-kill, scale, "
        "network-delay, network-blackhole, network-reset, upgrade, scheduler-upgrade, chart-upgrade, "
        "sidecar-upgrade",
    ),
    "network delay without delay": (
        DelayWithoutDelay,
        "faults.0.delay: delay is required for kind network-delay, and only for it",
    ),
    "all replicas": (AllReplicas, "faults.0.target: all is only valid for network faults"),
    "direction of a kill": (KillDirection, "faults.0.direction: direction is only valid for network faults"),
    "link to a member that is not there": (
        BadLink,
        "faults.0.target: 1 is not valid: there are 1 scheduler members (0..0)",
    ),
    "workload stages outside load": (
        SomeWorkload,
        "unknown key 'stages' in workload; valid keys: load",
    ),
    "bad duration": (
        BadDuration,
        "observe.duration: 'a minute' is not a duration: use e.g. 60s, 500ms, 1m30s, or a number of seconds",
    ),
    "zero duration": (ZeroDuration, "observe.duration: '0s' is not valid: must be greater than 0s"),
    "negative quiesce": (NegativeQuiesce, "observe.quiesce: '-1s' is not valid: must be at least 0s"),
    "bad side effect": (BadSideEffect, "app.side_effect: 'twice' is not valid: must be one of naive, idempotent, both"),
    "bad status": (BadStatus, "app.status: 700 is not valid: must be at most 599"),
    "bad policy": (BadPolicy, "expect.jobs: 'once' is not valid: must be one of exactly-once, contract"),
    "two failure policies": (
        TwoFailurePolicies,
        "sources.jobs.0.failure_policy: give exactly one of constant: {interval: 1s, max_retries: 3} or drop: {}",
    ),
    "text for a mapping": (TextForAMapping, "cluster: expected a mapping, got 'three replicas'"),
    "no sources": (
        NoSources,
        "sources: no jobs and no bindings: add at least one source (or run your own app: app.command)",
    ),
}


@pytest.mark.parametrize(("change", "message"), INVALID.values(), ids=list(INVALID))
def test_invalid_scenario_is_refused_with_a_clear_message(tmp_path: Path, change: Change, message: str) -> None:
    doc = headline()
    change(doc)
    path = write(tmp_path, doc)
    assert refused(path) == f"{path}: {message}"


@pytest.mark.parametrize(
    ("kind", "index", "schedule"),
    [("jobs", 0, "every second"), ("bindings", 0, "*/1 * * *")],
    ids=["jobs", "binding"],
)
def test_bad_schedule_gives_the_schedule_error_with_its_path(
    tmp_path: Path, kind: str, index: int, schedule: str
) -> None:
    doc = headline()
    doc["sources"][kind][index]["schedule"] = schedule
    with pytest.raises(ScheduleError) as expected:
        validate_schedule(schedule, "jobs" if kind == "jobs" else "binding")
    path = write(tmp_path, doc)
    assert refused(path) == f"{path}: sources.{kind}.{index}.schedule: {expected.value}"


def test_every_problem_is_reported_one_per_line(tmp_path: Path) -> None:
    doc = headline()
    doc["cluster"] = {"replicas": 0, "schedulers": 2}
    doc["app"] = {"delay_ms": "slow"}
    path = write(tmp_path, doc)
    assert refused(path).splitlines() == [
        f"{path}: cluster.replicas: 0 is not valid: must be at least 1",
        f"{path}: cluster.schedulers: 2 is not valid: must be 1 or 3",
        f"{path}: app.delay_ms: expected an integer, got 'slow'",
    ]


def test_many_problems_are_capped(tmp_path: Path) -> None:
    doc = headline()
    doc["app"] = {f"knob{i}": i for i in range(15)}
    lines = refused(write(tmp_path, doc)).splitlines()
    assert len(lines) == 11
    assert lines[-1].endswith("... and 5 more problems")


def test_scenario_error_is_bad_input(tmp_path: Path) -> None:
    err = ScenarioError("x")
    assert isinstance(err, InputError) and err.exit_code == ExitCode.BAD_INPUT


# --- files that are not scenarios --------------------------------------------------------------------------------


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ncluster:\n  replicas: [3\nobserve: {duration: 1s}\n")
    message = refused(path)
    assert message.startswith(f"{path}: line 4, column ")
    assert "not valid YAML" in message


def test_duplicate_key_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text("name: x\ncluster:\n  replicas: 3\n  replicas: 5\n")
    assert refused(path) == f"{path}: line 4, column 3: not valid YAML: duplicate key 'replicas'"


def test_missing_file(tmp_path: Path) -> None:
    assert refused(tmp_path / "nope.yaml") == f"{tmp_path / 'nope.yaml'}: no such file"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n")
    assert refused(path) == f"{path}: the file is empty; a scenario needs the sections name, cluster, sources, observe"


def test_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, ["name", "cluster"])
    assert refused(path) == f"{path}: expected a mapping of sections (name, cluster, sources, observe, ...), got a list"


# --- --set overrides ---------------------------------------------------------------------------------------------


def test_set_an_integer() -> None:
    sc = load_scenario(HEADLINE, ["cluster.replicas=5"])
    assert sc.cluster.replicas == 5


def test_set_a_string_and_a_duration() -> None:
    sc = load_scenario(HEADLINE, ["name=short-run", "observe.duration=20s", "expect.jobs=contract"])
    assert (sc.name, sc.observe.duration, sc.job_plans()[0].policy) == ("short-run", timedelta(seconds=20), "contract")


def test_set_through_a_list_index() -> None:
    sc = load_scenario(HEADLINE, ["sources.jobs.0.schedule=@every 2s", "sources.bindings.0.schedule=*/2 * * * * *"])
    assert sc.job_plans()[0].schedule == "@every 2s"
    assert sc.binding_plans()[0].schedule == "*/2 * * * * *"


def test_set_a_section_the_file_does_not_have() -> None:
    sc = load_scenario(HEADLINE, ["dapr.version=1.17.11", "sources.jobs.0.failure_policy.drop={}"])
    assert sc.dapr.version == "1.17.11"
    assert sc.job_plans()[0].failure_policy == FailurePolicy(kind="drop", interval_ns=0, max_retries=0)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "cluster.replica=5",
            "--set cluster.replica=5: unknown key 'replica' in cluster (did you mean 'replicas'?); "
            "valid keys: replicas, schedulers",
        ),
        (
            "clustr.replicas=5",
            "--set clustr.replicas=5: unknown section 'clustr' (did you mean 'cluster'?); valid sections: "
            "name, description, seed, dapr, cluster, sources, app, observe, expect, workload, faults, actions",
        ),
        (
            "sources.jobs.3.schedule=@every 1s",
            "--set sources.jobs.3.schedule=@every 1s: sources.jobs has 1 entry, so no index 3",
        ),
        (
            "sources.jobs.name=x",
            "--set sources.jobs.name=x: sources.jobs is a list: give an index, e.g. sources.jobs.0",
        ),
        ("cluster.replicas.max=3", "--set cluster.replicas.max=3: cluster.replicas is a single value, not a section"),
        ("replicas", "--set 'replicas': expected key=value, e.g. cluster.replicas=5"),
        (
            "cluster.replicas=five",
            "cluster.replicas: expected an integer, got 'five' (from --set cluster.replicas=five)",
        ),
        (
            "cluster.replicas=-2",
            "cluster.replicas: -2 is not valid: must be at least 1 (from --set cluster.replicas=-2)",
        ),
    ],
    ids=[
        "unknown key",
        "unknown section",
        "index out of range",
        "list without index",
        "below a value",
        "no =",
        "wrong type",
        "invalid value",
    ],
)
def test_bad_override(override: str, message: str) -> None:
    assert refused(HEADLINE, (override,)) == f"{HEADLINE}: {message}"


def test_overrides_do_not_touch_the_callers_data() -> None:
    doc = headline()
    before = copy.deepcopy(doc)
    parse_scenario(doc, "doc", ["cluster.replicas=7", "sources.jobs.0.data.k=1"])
    assert doc == before


# --- fields ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("60s", 60 * NS),
        ("1m", 60 * NS),
        ("500ms", NS // 2),
        ("1m30s", 90 * NS),
        (90, 90 * NS),
        ("90", 90 * NS),
        (1.5, 3 * NS // 2),
        ("1.5h", 5400 * NS),
        ("0", 0),
        ("250us", 250_000),
    ],
)
def test_durations(text: object, ns: int) -> None:
    assert duration_ns(text) == ns


@pytest.mark.parametrize(("seconds", "text"), [(60, "60s"), (0.5, "500ms"), (0.00025, "250us"), (90, "90s")])
def test_durations_are_written_canonically(seconds: float, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


def test_failure_policy_becomes_the_model_type() -> None:
    doc = headline()
    job(doc)["failure_policy"] = {"constant": {"interval": "1500ms", "max_retries": 2}}
    [plan] = parse_scenario(doc).job_plans()
    assert plan.failure_policy == FailurePolicy("constant", 1_500_000_000, 2)
    job(doc)["failure_policy"] = {"constant": {}}  # as Dapr: interval 0s, retry forever
    [plan] = parse_scenario(doc).job_plans()
    assert plan.failure_policy == FailurePolicy("constant", 0, None)


def test_job_fields_reach_the_plan() -> None:
    doc = headline()
    job(doc).update(due_time="2026-01-02T15:04:05Z", repeats=5, ttl="PT1H", data="hello", overwrite=True)
    sc = parse_scenario(doc)
    assert sc.job_plans() == [JobPlan("tick-job", "@every 1s", "2026-01-02T15:04:05Z", 5, "PT1H", None, "exactly-once")]
    assert (sc.sources.jobs[0].data, sc.sources.jobs[0].overwrite) == ("hello", True)


def test_version_with_a_v_is_the_same_version() -> None:
    doc = headline()
    doc["dapr"] = {"version": "v1.18.2"}
    assert parse_scenario(doc).dapr.version == "1.18.2"


def test_empty_optional_sections_take_their_defaults() -> None:
    doc = headline()
    doc.update(app=None, expect=None, dapr=None, workload=None, faults=None)
    doc["sources"]["bindings"] = None
    sc = parse_scenario(doc)
    assert (sc.expect.jobs, sc.expect.bindings, sc.app.status, sc.binding_plans()) == (
        "exactly-once",
        "contract",
        200,
        [],
    )


# --- the hash and the scenario as run ----------------------------------------------------------------------------


def reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: reordered(v) for k, v in reversed(value.items())}
    return value


def test_hash_ignores_key_order() -> None:
    doc = headline()
    assert list(reordered(doc)) != list(doc)
    assert parse_scenario(reordered(doc)).canonical_hash() == parse_scenario(doc).canonical_hash()


def test_hash_is_short_hex() -> None:
    digest = load_scenario(HEADLINE).canonical_hash()
    assert len(digest) == 12 and int(digest, 16) >= 0


@pytest.mark.parametrize(
    "override",
    ["cluster.replicas=4", "observe.quiesce=6s", "sources.jobs.0.schedule=@every 2s", "seed=1", "app.delay_ms=5"],
)
def test_hash_changes_with_any_value(override: str) -> None:
    assert load_scenario(HEADLINE, [override]).canonical_hash() != load_scenario(HEADLINE).canonical_hash()


def test_hash_is_of_the_meaning_not_the_spelling() -> None:
    spelled = load_scenario(HEADLINE, ["observe.duration=1m", "cluster.schedulers=1", "expect.jobs=exactly-once"])
    assert spelled.canonical_hash() == load_scenario(HEADLINE).canonical_hash()


def test_dump_yaml_loads_back_to_the_same_scenario(tmp_path: Path) -> None:
    sc = load_scenario(HEADLINE, ["sources.jobs.0.failure_policy.constant.interval=250ms", "dapr.version=1.18.2"])
    path = tmp_path / "scenario.yaml"
    path.write_text(sc.dump_yaml())
    again = load_scenario(path)
    assert again == sc
    assert again.canonical_hash() == sc.canonical_hash()
    assert sc.canonical_hash() in sc.dump_yaml().splitlines()[0]


def test_model_is_frozen() -> None:
    sc: Scenario = load_scenario(HEADLINE)
    with pytest.raises(ValueError, match="frozen"):
        sc.cluster.replicas = 9


# --- mid-run job actions and per-job answer bodies -------------------------------------------------------------


def with_actions(actions: list[Doc], **app: object) -> Doc:
    doc = headline()
    doc["actions"] = actions
    if app:
        doc["app"] = app
    return doc


def test_actions_load_with_their_merged_plans(tmp_path: Path) -> None:
    doc = with_actions(
        [
            {"at": "4s", "op": "schedule", "job": "tick-job", "schedule": "@every 3s", "overwrite": True},
            {"at": "5s", "op": "get", "job": "tick-job", "expect_status": 200},
            {"at": "6s", "op": "delete", "job": "tick-job", "expect_status": 204},
        ],
        bodies={"tick-job": {"status": "RETRY"}},
    )
    sc = load_scenario(write(tmp_path, doc))
    assert [(a.op, a.at.total_seconds(), a.expect_status) for a in sc.actions] == [
        ("schedule", 4.0, None),
        ("get", 5.0, 200),
        ("delete", 6.0, 204),
    ]
    assert sc.action_plan(0) == JobPlan("tick-job", "@every 3s")
    merged = sc.action_job(0)
    assert merged.overwrite is True and merged.data == {"job": "tick-job"}  # the job's data is kept
    assert sc.app.bodies == {"tick-job": {"status": "RETRY"}}
    assert load_scenario(write(tmp_path, yaml.safe_load(sc.dump_yaml()), "again.yaml")).canonical_hash() == (
        sc.canonical_hash()
    )


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (
            [{"at": "4s", "op": "delete", "job": "tick-jb"}],
            "actions.0.job: 'tick-jb' is not a job of sources.jobs (did you mean 'tick-job'?); jobs: tick-job",
        ),
        ([{"at": "60s", "op": "get", "job": "tick-job"}], "actions.0.at: at 60s is not within observe.duration"),
        (
            [{"at": "4s", "op": "delete", "job": "tick-job", "schedule": "@every 2s"}],
            "actions.0.schedule: is only valid for op schedule, not delete",
        ),
        (
            [{"at": "4s", "op": "get", "job": "tick-job"}, {"at": "3s", "op": "get", "job": "tick-job"}],
            "actions.1.at: at 3s is before the action above it: list them in time order",
        ),
        (
            [{"at": "4s", "op": "delete", "job": "tick-job"}, {"at": "5s", "op": "schedule", "job": "tick-job"}],
            "actions.1.op: a schedule after a delete of the same job re-creates it, which the oracle does not model",
        ),
        ([{"at": "4s", "op": "post", "job": "tick-job"}], "actions.0.op: 'post' is not valid: must be one of"),
        (
            [{"at": "4s", "op": "get", "job": "tick-job", "colour": 1}],
            "unknown key 'colour' in actions.0; valid keys: at, op, job, schedule,",
        ),
        ([{"at": "4s", "op": "get", "job": "tick-job", "expect_status": 99}], "actions.0.expect_status: 99 is not"),
    ],
    ids=["unknown job", "after the end", "field of another op", "out of order", "re-create", "bad op", "extra", "99"],
)
def test_bad_actions_are_refused_with_the_path(tmp_path: Path, actions: list[Doc], message: str) -> None:
    path = write(tmp_path, with_actions(actions))
    assert refused(path).startswith(f"{path}: {message}")


def test_an_action_plan_dapr_would_refuse_is_refused(tmp_path: Path) -> None:
    doc = with_actions([{"at": "4s", "op": "schedule", "job": "one", "repeats": 3}])
    doc["sources"]["jobs"] = [{"name": "one", "due_time": "2s"}]
    path = write(tmp_path, doc)
    assert refused(path) == f"{path}: actions.0: repeats > 1 needs a schedule"


def test_faults_and_actions_together_are_refused(tmp_path: Path) -> None:
    doc = with_actions([{"at": "4s", "op": "get", "job": "tick-job"}])
    doc["faults"] = [{"at": "5s", "kind": "pause", "target": 0}]
    path = write(tmp_path, doc)
    assert (
        refused(path)
        == f"{path}: actions: faults and actions in one scenario are not supported yet: use one or the other"
    )


def test_a_body_for_an_unknown_job_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, with_actions([], bodies={"nope": {"status": "DROPPED"}}))
    assert refused(path) == f"{path}: app.bodies.nope: 'nope' is not a job of sources.jobs: bodies are per job name"


@pytest.mark.parametrize("name", ["seed-claims.yaml", "overwrite.yaml", "delete-stops.yaml"])
def test_the_action_scenarios_validate(name: str) -> None:
    sc = load_scenario(HEADLINE.parent / name)
    assert sc.actions and all(a.expect_status is not None for a in sc.actions)
