"""The results.json document of a judged run, and the readers every output and the comparison share.

``results_document`` builds the one structure the other writers render, so ``onceonly check`` reproduces every
stage-2 file from ``history.json`` + ``run.json`` alone; nothing in it depends on when it was written. The schema is
documented field by field in ``reports/README.md``; bump ``SCHEMA`` when a field changes meaning or goes away.
The document's type is ``Results`` (a ``TypedDict``: the same dicts json reads back, typed key by key; ``NotRequired``
for the sections only some runs have). Its parts every reader touches are typed (``SourceDoc``, ``WitnessDoc``,
``LatenessDoc``, ``ActionDoc``, ``DaprDoc``, ``ScenarioDoc``); ``host``, ``timings`` and ``faults`` are copied whole
from run.json (``harness.io.stage_files.RunInfo`` types them there), ``fanout``, ``dapr_metrics`` and ``upgrade`` are
built by their own modules and stay ``dict[str, Any]``. The readers (``shown_sources``, ``load_aggregate``,
``source_label``, ``unique_sources``, ``fanout_owners``) take sources as ``Mapping[str, Any]``: they also read the
folded load row, which is not a ``SourceDoc`` (no ``received``, ``uncounted``). Pure: no files, no clock.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NotRequired, Protocol, TypedDict

from harness.model import LOAD_PREFIX, SourceResult, Witness, fanout_member_names, worst
from harness.oracle import crosscheck
from harness.oracle.claims import ActionResult

SCHEMA = 1


ANOMALIES = ("duplicates", "missed", "early", "spurious")


class Versions(TypedDict):
    """The Dapr versions of daprd and the scheduler."""

    daprd: str
    scheduler: str


class DaprDoc(Versions):
    """``dapr``: the versions the run started on, and ``upgrade_to`` for a rolling upgrade (run.json adds
    ``source``: where the binaries came from)."""

    upgrade_to: NotRequired[Versions]
    commit: NotRequired[str]  # the commit and the Go version of a build of ours (absent for other binaries and
    go: NotRequired[str]  # for runs made before onceonly recorded them)


class ScenarioDoc(TypedDict):
    """``scenario``: the scenario's name and canonical hash."""

    name: str
    hash: str


class LatenessDoc(TypedDict):
    """A source's ``lateness_ms``: percentiles of received - due, ms (None: nothing measured)."""

    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None


class WitnessDeliveryDoc(TypedDict):
    """One delivery of a witness."""

    replica: int
    received_ns: int
    late_ms: float | None
    status: int | None  # null: cut off (an arrival record and no answer)
    cut_off: bool
    delivery_id: str


class WitnessDoc(TypedDict):
    """One anomaly's evidence (``harness.model.Witness``)."""

    kind: str
    due_ns: int | None
    note: str
    replicas: list[int]
    spread_ms: float | None
    deliveries: list[WitnessDeliveryDoc]


class SourceDoc(TypedDict):
    """One row of ``sources``: a job, a binding or a fan-out (``harness.model.SourceResult``)."""

    source: str
    name: str
    policy: str
    verdict: str
    replicas: int
    occurrences: int
    received: int
    deliveries: int
    uncounted: dict[str, int]
    deliveries_per_occurrence: float | None
    duplicates: int
    retries: int
    missed: int
    early: int
    spurious: int
    lateness_ms: LatenessDoc
    per_replica: dict[str, int]  # replica index (a string, as JSON keys are) -> deliveries
    side_effects: dict[str, int]
    witnesses: list[WitnessDoc]
    notes: list[str]
    fanout: NotRequired[dict[str, Any]]  # a fan-out source: what it was (``harness.run.fanout.describe``)


class ActionDoc(TypedDict):
    """One of the scenario's actions as judged (``harness.oracle.claims.ActionResult``)."""

    index: int
    at_s: float
    op: str
    job: str
    op_id: str | None
    phase: str | None
    status: int | None
    error_code: str | None
    not_found: bool
    expect_status: int | None
    verdict: str
    note: str


class Results(TypedDict):
    """results.json (schema ``SCHEMA``), as ``results_document`` builds it and ``harness.io.stage_files.read_results``
    reads it back."""

    schema: int
    verdict: str
    dapr: DaprDoc
    scenario: ScenarioDoc
    host: dict[str, Any]
    timings: dict[str, float]
    faults: list[dict[str, Any]]  # the fault windows as run.json has them
    notes: list[str]
    sources: list[SourceDoc]
    actions: list[ActionDoc]
    dapr_metrics: NotRequired[dict[str, Any]]  # the cross-check with Dapr's counters (harness.oracle.crosscheck)
    upgrade: NotRequired[dict[str, Any]]  # a rolling upgrade's accounting (harness.oracle.upgrade)
    onceonly: NotRequired[str]  # the onceonly that ran it (absent for runs made before it was recorded)
    app: NotRequired[dict[str, Any]]  # a user's own app: its command, start-up calls, side effects (oracle.startup)


class CheckOutcome(Protocol):
    """What the report needs of the checker's result (``harness.oracle.check.CheckResult`` satisfies it)."""

    @property
    def sources(self) -> Sequence[SourceResult]: ...
    @property
    def verdict(self) -> str: ...
    @property
    def notes(self) -> Sequence[str]: ...


def _witness(w: Witness) -> WitnessDoc:
    times = [d.received_ns for d in w.deliveries]
    return {
        "kind": w.kind,
        "due_ns": w.due_ns,
        "note": w.note,
        "replicas": sorted({d.replica for d in w.deliveries}),
        "spread_ms": (max(times) - min(times)) / 1e6 if len(times) > 1 else None,
        "deliveries": [
            {
                "replica": d.replica,
                "received_ns": d.received_ns,
                "late_ms": None if w.due_ns is None else (d.received_ns - w.due_ns) / 1e6,
                "status": d.status,  # null: cut off (an arrival record and no answer)
                "cut_off": d.cut_off,
                "delivery_id": d.delivery_id,
            }
            for d in w.deliveries
        ],
    }


def _source(s: SourceResult, fanout: Mapping[str, Any] | None = None) -> SourceDoc:
    per_occurrence = s.deliveries_per_occurrence
    row: SourceDoc = {
        "source": s.source,
        "name": s.name,
        "policy": s.policy,
        "verdict": s.verdict,
        "replicas": s.replicas,
        "occurrences": s.occurrences,
        "received": s.received,
        "deliveries": s.deliveries,
        "uncounted": dict(sorted(s.uncounted.items())),
        "deliveries_per_occurrence": None if per_occurrence is None else round(per_occurrence, 4),
        "duplicates": s.duplicates,
        "retries": s.retries,
        "missed": s.missed,
        "early": s.early,
        "spurious": s.spurious,
        "lateness_ms": {
            "p50": s.lateness_ms.p50,
            "p95": s.lateness_ms.p95,
            "p99": s.lateness_ms.p99,
            "max": s.lateness_ms.max,
        },
        "per_replica": {str(r): n for r, n in sorted(s.per_replica.items())},
        "side_effects": {"naive": s.side_effects.get("naive", 0), "idempotent": s.side_effects.get("idempotent", 0)},
        "witnesses": [_witness(w) for w in s.witnesses],
        "notes": list(s.notes),
    }
    if fanout is not None:
        row["fanout"] = dict(fanout)
    return row


def results_document(
    result: CheckOutcome,
    *,
    dapr: DaprDoc,
    scenario: ScenarioDoc,
    host: Mapping[str, object],
    timings: Mapping[str, float],
    faults: Sequence[Mapping[str, object]] = (),
    dapr_metrics: Mapping[str, Any] | None = None,
    fanouts: Mapping[str, Mapping[str, Any]] | None = None,
    onceonly: str | None = None,
) -> Results:
    """The results.json structure (schema ``SCHEMA``) of one judged run; deterministic for the same inputs.
    ``onceonly``: the version that ran it (run.json's; None for a run made before it was recorded: then the key is
    absent, so such a run re-judges to the same bytes), and ``dapr`` may carry the build's ``commit`` and ``go``.

    ``dapr``: the versions the run started on, and ``upgrade_to`` when it was a rolling upgrade (the runner adds
    ``upgrade``, ``harness.oracle.upgrade.accounting``, to a rolling upgrade's document).
    ``dapr_metrics``: the cross-check with Dapr's own counters (``harness.oracle.crosscheck.cross_check``), None for
    a run dir without ``dapr_metrics.json`` (then the key is absent). A disagreement adds a note; it never
    changes the verdict. ``fanouts``: source name -> what the fan-out was (``harness.run.fanout.describe``), added to
    that source's row as ``fanout``.
    """
    versions: DaprDoc = {"daprd": dapr["daprd"], "scheduler": dapr["scheduler"]}
    if dapr.get("upgrade_to"):
        versions["upgrade_to"] = dapr["upgrade_to"].copy()
    if "commit" in dapr:
        versions["commit"] = dapr["commit"]
    if "go" in dapr:
        versions["go"] = dapr["go"]
    doc: Results = {
        "schema": SCHEMA,
        "verdict": result.verdict,
        "dapr": versions,
        "scenario": {"name": scenario["name"], "hash": scenario["hash"]},
        "host": dict(host),
        "timings": dict(timings),
        "faults": [dict(f) for f in faults],
        "notes": list(result.notes),
        "sources": [_source(s, (fanouts or {}).get(s.name) if s.source == "jobs" else None) for s in result.sources],
        "actions": [_action(a) for a in getattr(result, "actions", ())],
    }
    if dapr_metrics is not None:
        doc["notes"] = [*doc["notes"], *crosscheck.disagreement_notes(dapr_metrics)]
        doc["dapr_metrics"] = dict(dapr_metrics)
    if onceonly is not None:
        doc["onceonly"] = onceonly
    return doc


def _action(a: ActionResult) -> ActionDoc:
    return {
        "index": a.index,
        "at_s": a.at_s,
        "op": a.op,
        "job": a.job,
        "op_id": a.op_id,
        "phase": a.phase,
        "status": a.status,
        "error_code": a.error_code,
        "not_found": a.not_found,
        "expect_status": a.expect_status,
        "verdict": a.verdict,
        "note": a.note,
    }


COLLAPSE_OVER = 10  # more load jobs than this: one aggregate row, anomalous ones still listed


def shown_sources(doc: Results) -> list[Mapping[str, Any]]:
    """The sources a person reads: the load's jobs folded into one aggregate row when there are many.

    The aggregate sums the counts; its lateness is the median of the jobs' p50s and the max of their p99s (the
    exact per-job figures stay in results.json). Anomalous load jobs keep their own rows after it.
    """
    load = [s for s in doc["sources"] if s["source"] == "jobs" and str(s["name"]).startswith(LOAD_PREFIX)]
    if len(load) <= COLLAPSE_OVER:
        return list(doc["sources"])
    others = [s for s in doc["sources"] if s not in load]
    return [*others, load_aggregate(load), *[s for s in load if s["verdict"] != "pass"]]


def load_aggregate(load: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    def total(key: str) -> int:
        return sum(int(s[key]) for s in load)

    p50s = sorted(s["lateness_ms"]["p50"] for s in load if s["lateness_ms"]["p50"] is not None)
    p99s = [s["lateness_ms"]["p99"] for s in load if s["lateness_ms"]["p99"] is not None]
    occurrences, deliveries = total("occurrences"), total("deliveries")
    verdicts = collections.Counter(s["verdict"] for s in load)
    return {
        "source": "jobs",
        "name": f"{LOAD_PREFIX}* ({len(load)} jobs: "
        + ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items()))
        + ")",
        "replicas": max(int(s["replicas"]) for s in load),
        "occurrences": occurrences,
        "deliveries": deliveries,
        "deliveries_per_occurrence": round(deliveries / occurrences, 3) if occurrences else None,
        **{k: total(k) for k in ("duplicates", "retries", "missed", "early", "spurious")},
        "lateness_ms": {
            "p50": p50s[len(p50s) // 2] if p50s else None,
            "p95": None,
            "p99": max(p99s) if p99s else None,
            "max": max((s["lateness_ms"]["max"] for s in load if s["lateness_ms"]["max"] is not None), default=None),
        },
        "per_replica": {},
        "side_effects": {
            "naive": sum(int(s["side_effects"].get("naive", 0)) for s in load),
            "idempotent": sum(int(s["side_effects"].get("idempotent", 0)) for s in load),
        },
        "policy": load[0]["policy"],
        "verdict": worst([str(s["verdict"]) for s in load]),
        "witnesses": [],
        "notes": _note_kinds(load),
    }


def _note_kinds(load: Sequence[Mapping[str, Any]]) -> list[str]:
    """The load jobs' notes, counted by kind (the text before the first digit), so 2,000 notes read as a few."""
    kinds: collections.Counter[str] = collections.Counter()
    for s in load:
        for note in s["notes"]:
            kinds[re.split(r"\d", note, maxsplit=1)[0].strip() or note] += 1
    return [f"{n} job(s): {kind} …" for kind, n in kinds.most_common()]


def source_label(src: Mapping[str, Any]) -> str:
    return f"{src['source']}:{src['name']}"


def unique_sources(sources: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Each source once, in order (an anomalous load job is in the aggregate's counts and in its own row)."""
    seen: set[str] = set()
    result = []
    for src in sources:
        if source_label(src) not in seen:
            seen.add(source_label(src))
            result.append(src)
    return result


def fanout_owners(sources: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """member job name -> its fan-out source's name, from results.json sources (their ``fanout`` fields)."""
    out = {}
    for src in sources:
        fan = src.get("fanout")
        if src.get("source") == "jobs" and isinstance(fan, Mapping):
            out.update(dict.fromkeys(fanout_member_names(str(src["name"]), int(fan["count"])), str(src["name"])))
    return out
