"""The files between stages, typed, each with one writer and one reader.

``history.json`` (stage 1): everything the checker needs, ``History``; the runner writes it (``write_history``),
the judge and report.html read it (``read_history``). The bytes are those ``harness.io.store.write_json`` makes
(sorted keys, indent 1), so a history read and written again is the same file.

``run.json`` (stage 1): what results.json says besides the verdict, ``RunInfo`` (the Dapr versions and where the
binaries came from, the scenario's name and hash, the fault windows, the host, the timings); the runner writes it
(``write_run_info``), the judge reads it (``read_run_info``). Its parts are JSON-shaped ``TypedDict``s kept in the
order the file has them (results.json copies ``host``, ``timings`` and ``faults`` whole).

``results.json`` (stage 2): ``harness.oracle.results.Results``, built by ``results_document``; written by
``write_results`` (indent 2, the builder's key order) and read by ``read_results`` everywhere (the campaign's
comparisons, report.html), which refuses a file that is not a judged run's with a clear ``InputError``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

from harness.errors import InputError
from harness.io import store
from harness.model import Delivery, Operation, ReplicaWindow
from harness.oracle.results import DaprDoc, Results, ScenarioDoc

SideEffects = dict[tuple[str, str], dict[str, int]]  # (source, name) -> {"naive": n, "idempotent": m}


@dataclass(frozen=True, slots=True)
class ActionCall:
    """One of the scenario's job actions as the runner made it (``history.json`` ``actions``): its index in the
    scenario's ``actions:``, its op and job, and the ``op_id`` of the ``JobsClient`` call it was."""

    index: int
    op: str
    job: str
    op_id: str


@dataclass(frozen=True, slots=True)
class History:
    """``history.json``: what the ledger and the runner recorded, as the checker reads it."""

    deliveries: list[Delivery]
    operations: list[Operation]
    windows: list[ReplicaWindow]  # when each replica could receive
    observe_start_ns: int
    observe_end_ns: int
    collect_end_ns: int
    replicas: int
    side_effects: SideEffects
    ledger_stats: dict[str, int]
    down: list[ReplicaWindow] = field(default_factory=list)  # surely down (a delivery then: a zombie)
    actions: list[ActionCall] = field(default_factory=list)  # the scenario's job actions made
    app_operations: list[Operation] = field(default_factory=list)  # a user's own app's Jobs API calls (its hops)


def write_history(run_dir: Path, history: History) -> Path:
    """``<run_dir>/history.json`` (stage 1)."""
    path = run_dir / store.HISTORY
    store.write_json(
        path,
        {
            "deliveries": [asdict(d) for d in history.deliveries],
            "operations": [asdict(o) for o in history.operations],
            "windows": [asdict(w) for w in history.windows],
            "down": [asdict(w) for w in history.down],
            "observe_start_ns": history.observe_start_ns,
            "observe_end_ns": history.observe_end_ns,
            "collect_end_ns": history.collect_end_ns,
            "replicas": history.replicas,
            "side_effects": [{"source": s, "name": n, **v} for (s, n), v in sorted(history.side_effects.items())],
            "ledger_stats": history.ledger_stats,
            "actions": [asdict(a) for a in history.actions],
        }
        | ({"app_operations": [asdict(o) for o in history.app_operations]} if history.app_operations else {}),
    )
    return path


def read_history(run_dir: Path) -> History:
    """``<run_dir>/history.json``; a run from before ``down`` or ``actions`` were recorded has none of them (nor
    ``app_operations``, which only a run of a user's own app has).
    ``InputError`` when the file is not a onceonly history."""
    path = run_dir / store.HISTORY
    data = _read_object(path)
    try:
        return History(
            deliveries=[Delivery(**{**d, "effects": tuple(d.get("effects", ()))}) for d in data["deliveries"]],
            operations=[Operation(**o) for o in data["operations"]],
            windows=[ReplicaWindow(**w) for w in data["windows"]],
            observe_start_ns=int(data["observe_start_ns"]),
            observe_end_ns=int(data["observe_end_ns"]),
            collect_end_ns=int(data["collect_end_ns"]),
            replicas=int(data["replicas"]),
            side_effects={
                (e["source"], e["name"]): {"naive": e["naive"], "idempotent": e["idempotent"]}
                for e in data["side_effects"]
            },
            ledger_stats=dict(data["ledger_stats"]),
            down=[ReplicaWindow(**w) for w in data.get("down", [])],
            actions=[ActionCall(**a) for a in data.get("actions", [])],
            app_operations=[Operation(**o) for o in data.get("app_operations", [])],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path} is not a onceonly history.json ({type(exc).__name__}: {exc})") from exc


class RunDapr(DaprDoc):
    """run.json ``dapr``: the versions (and ``upgrade_to``) and where the binaries came from."""

    source: NotRequired[str]  # e.g. "cache", "--dapr-bin-dir"


class HostDoc(TypedDict):
    """run.json ``host``: the machine the run ran on."""

    node: str
    python: str
    cpus: int


class FaultWindow(TypedDict):
    """One fault as the runner records it (``harness.nemesis.FaultHandle``): what was done, to which target, when
    (ns since the epoch); the last three keys are missing in runs from before they were recorded."""

    index: int  # position in the scenario's fault list
    kind: str
    target: int
    part: str
    signal: str
    injected_ns: int
    heal_due_s: float | None
    healed_ns: int | None
    note: str
    in_flight: NotRequired[dict[str, Any] | None]  # a busy target's delivery: delivery_id, source, name, received_ns
    struck_ns: NotRequired[int | None]
    heal_started_ns: NotRequired[int | None]


@dataclass(frozen=True, slots=True)
class RunInfo:
    """``run.json``: the facts of a run results.json reports beside the verdict."""

    dapr: RunDapr
    scenario: ScenarioDoc
    host: HostDoc
    timings: dict[str, float]  # cluster_ready_s, start_to_ready_s, observe_and_quiesce_s
    faults: list[FaultWindow] = field(default_factory=list)
    onceonly: str | None = None  # the onceonly that ran it (None: a run made before it was recorded)


def write_run_info(run_dir: Path, info: RunInfo) -> Path:
    """``<run_dir>/run.json`` (stage 1)."""
    path = run_dir / store.RUN_INFO
    store.write_json(
        path,
        {
            "dapr": info.dapr,
            "scenario": info.scenario,
            "faults": info.faults,
            "host": info.host,
            "timings": info.timings,
        }
        | ({} if info.onceonly is None else {"onceonly": info.onceonly}),
    )
    return path


def read_run_info(run_dir: Path) -> RunInfo:
    """``<run_dir>/run.json``; a run from before faults were recorded has none. ``InputError`` when the file is not
    a onceonly run.json."""
    path = run_dir / store.RUN_INFO
    data = _read_object(path)
    try:
        dapr, scenario, host, timings = data["dapr"], data["scenario"], data["host"], data["timings"]
        faults = data.get("faults", [])
        missing = (
            [f"dapr.{k}" for k in ("daprd", "scheduler") if k not in dapr]
            + [f"scenario.{k}" for k in ("name", "hash") if k not in scenario]
            + [f"host.{k}" for k in ("node", "python", "cpus") if k not in host]
            + [f"faults[{i}]" for i, f in enumerate(faults) if not isinstance(f, dict)]
        )
    except (KeyError, TypeError) as exc:
        raise InputError(f"{path} is not a onceonly run.json ({type(exc).__name__}: {exc})") from exc
    if missing or not isinstance(timings, dict):
        raise InputError(f"{path} is not a onceonly run.json (missing: {', '.join(missing) or 'timings'})")
    return RunInfo(
        dapr=cast(RunDapr, dapr),
        scenario=cast(ScenarioDoc, scenario),
        host=cast(HostDoc, host),
        timings=timings,
        faults=cast(list[FaultWindow], faults),
        onceonly=None if data.get("onceonly") is None else str(data["onceonly"]),
    )


def write_results(run_dir: Path, doc: Results) -> Path:
    """``<run_dir>/results.json`` (stage 2), whole or not at all."""
    path = run_dir / store.RESULTS
    store.write_text(path, json.dumps(doc, indent=2) + "\n")
    return path


def read_results(run_dir: Path) -> Results:
    """A judged run's results.json; ``InputError`` naming what is missing (the directory, the file, valid JSON, or
    the keys every reader needs)."""
    path = run_dir / store.RESULTS
    if not run_dir.is_dir():
        raise InputError(f"{run_dir} is not a directory")
    if not path.is_file():
        raise InputError(f"{run_dir} is not a judged run: it has no {store.RESULTS} (run `onceonly check` on it?)")
    try:
        doc = store.read_json(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} cannot be read as JSON: {exc}") from exc
    if not isinstance(doc, dict) or not {"verdict", "sources", "scenario", "dapr"} <= set(doc):
        raise InputError(f"{path} is not a onceonly results.json (no verdict, sources, scenario, dapr)")
    return cast(Results, doc)


def _read_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; ``InputError`` when it cannot be read or is not an object."""
    try:
        data = store.read_json(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} cannot be read as JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a JSON object")
    return data
