"""Accounting across a rolling upgrade: what happened before, during and after the mixed-version window.

A rolling upgrade is a scenario whose faults include ``upgrade`` / ``scheduler-upgrade`` steps (each restarts one
member on the new binaries, ``harness.nemesis``), or on Kubernetes ``chart-upgrade`` then ``sidecar-upgrade`` (the
control plane, then every app pod; a pod's daprd never changes, so each replica index has one version). The oracle
judges the whole run as usual: versions do not change what "once" means. This module only splits the same history by
phase, so an SRE sees *where* an anomaly sits: ``before`` (all members old), ``mixed`` (from the first step's start
to the last step's end: some old, some new, members restarting) and ``after`` (all new). It also attributes each
delivery to the daprd version of the replica that received it at that moment (``restarting`` when it arrived while
its replica's step was under way: the old daprd was stopping or the new one starting).

Anomalies are placed by the occurrence they concern (a witness's due time; a spurious delivery by its arrival).
They are counted from the witnesses results.json keeps (the checker keeps up to ``MAX_WITNESSES`` per source),
so a phase count can be lower than the source's total; ``witnessed`` says how many were placed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from harness.faults.registry import kind_of
from harness.model import Delivery

PHASES = ("before", "mixed", "after")
ANOMALIES = ("duplicate", "missed", "early", "spurious")


def steps(faults: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The upgrade steps among a run's fault windows, in the order they started."""
    return sorted((f for f in faults if kind_of(f.get("kind")).upgrade), key=lambda f: int(f["injected_ns"]))


def accounting(
    faults: Sequence[Mapping[str, Any]],
    deliveries: Sequence[Delivery],
    sources: Sequence[Mapping[str, Any]],
    *,
    observe_start_ns: int,
    collect_end_ns: int,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    daprd_of: Mapping[int, str] | None = None,
) -> dict[str, Any] | None:
    """results.json's ``upgrade`` section, or None when the run upgraded nothing.

    ``faults``: the run's fault windows (run_info.json); ``sources``: results.json's sources (their witnesses);
    ``old`` / ``new``: {"daprd": version, "scheduler": version} before and after; ``daprd_of``: replica index ->
    the daprd version it ran all its life, where known (a Kubernetes pod's; absent: from the steps).
    """
    ups = steps(faults)
    if not ups:
        return None
    start = int(ups[0]["injected_ns"])
    end = max(int(f.get("healed_ns") or f["injected_ns"]) for f in ups)
    bounds = {"before": (observe_start_ns, start), "mixed": (start, end), "after": (end, collect_end_ns)}

    def phase_of(ns: int) -> str:
        return "before" if ns < start else ("mixed" if ns <= end else "after")

    delivered: dict[str, Counter[str]] = {p: Counter() for p in PHASES}
    for d in deliveries:
        delivered[phase_of(d.received_ns)][f"{d.source}:{d.name}"] += 1
    anomalies: dict[str, Counter[str]] = {p: Counter() for p in PHASES}
    witnessed = 0
    for src in sources:
        for w in src.get("witnesses", []):
            if w["kind"] not in ANOMALIES:
                continue
            at = w.get("due_ns")
            if at is None:
                at = min((d["received_ns"] for d in w.get("deliveries", [])), default=None)
            if at is None:
                continue
            anomalies[phase_of(int(at))][w["kind"]] += 1
            witnessed += 1
    return {
        "from": dict(old),
        "to": dict(new),
        "steps": [
            {
                "fault": int(f["index"]),
                "member": _member(f),
                "started_ns": int(f["injected_ns"]),
                "ready_ns": f.get("healed_ns"),
                "seconds": None if not f.get("healed_ns") else round((f["healed_ns"] - f["injected_ns"]) / 1e9, 2),
                "note": f.get("note", ""),
            }
            for f in ups
        ],
        "phases": [
            {
                "phase": p,
                "start_ns": bounds[p][0],
                "end_ns": bounds[p][1],
                "seconds": round(max(0, bounds[p][1] - bounds[p][0]) / 1e9, 2),
                "deliveries": dict(sorted(delivered[p].items())),
                "anomalies": {k: anomalies[p][k] for k in ANOMALIES},
            }
            for p in PHASES
        ],
        "witnessed_anomalies": witnessed,
        "deliveries_by_daprd": dict(
            sorted(_by_daprd(ups, deliveries, old["daprd"], new["daprd"], daprd_of or {}).items())
        ),
    }


def _member(f: Mapping[str, Any]) -> str:
    kind = kind_of(f["kind"])
    if kind.whole:
        return kind.where(f)
    return f"scheduler-{f['target']}" if kind.on_scheduler else f"replica-{f['target']}"


def _by_daprd(
    ups: Sequence[Mapping[str, Any]], deliveries: Sequence[Delivery], old: str, new: str, known: Mapping[int, str]
) -> Counter[str]:
    """Deliveries per daprd version of the receiving replica at that moment (``restarting`` mid-step); a replica
    in ``known`` ran that version all its life."""
    replica_steps = {int(f["target"]): f for f in ups if not kind_of(f["kind"]).on_scheduler}
    counts: Counter[str] = Counter()
    for d in deliveries:
        step = replica_steps.get(d.replica)
        if d.replica in known:
            counts[known[d.replica]] += 1
        elif step is None or d.received_ns < int(step["injected_ns"]):
            counts[old] += 1
        elif step.get("healed_ns") is None or d.received_ns <= int(step["healed_ns"]):
            counts["restarting"] += 1
        else:
            counts[new] += 1
    return counts


def lines(section: Mapping[str, Any]) -> list[str]:
    """The upgrade section for people (summary.md and the terminal)."""
    old, new = section["from"], section["to"]
    out = [
        f"rolling upgrade: daprd {old['daprd']} → {new['daprd']}, scheduler {old['scheduler']} → {new['scheduler']}, "
        f"{len(section['steps'])} step(s)"
    ]
    for s in section["steps"]:
        took = "not ready" if s["seconds"] is None else f"ready after {s['seconds']:.1f} s"
        out.append(f"step (fault #{s['fault']}): {s['member']} {s['note']}, {took}")
    for p in section["phases"]:
        delivered = sum(p["deliveries"].values())
        found = ", ".join(f"{n} {k}" for k, n in p["anomalies"].items() if n) or "no anomaly"
        out.append(f"{p['phase']} ({p['seconds']:.1f} s): {delivered} deliveries, {found}")
    by = ", ".join(f"{v}: {n}" for v, n in section["deliveries_by_daprd"].items())
    out.append(f"deliveries by the receiving replica's daprd version: {by}")
    return out
