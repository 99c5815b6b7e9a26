"""What a finished run writes for people and machines: results.json, summary.md, junit.xml, the ledger CSVs, and
the terminal verdict table.

Everything here works on plain data (the checker's result, dicts read from the run directory) and reads nothing
live. ``results_document`` builds the one structure the other writers render, so ``onceonly check`` reproduces
every file from ``history.json`` + ``run.json`` alone; nothing in it depends on when it was written. The schema is
documented field by field in ``reports/README.md``; bump ``SCHEMA`` when a field changes meaning or goes away.
"""

from __future__ import annotations

import collections
import csv
import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import astuple, fields
from pathlib import Path
from typing import Any, Protocol

from rich import box
from rich.table import Table
from rich.text import Text

from harness.model import LOAD_PREFIX, Delivery, Operation, SourceResult, Witness, rank, worst
from harness.oracle import crosscheck as dm
from harness.oracle import upgrade
from harness.oracle.claims import ActionResult

__all__ = [
    "COLUMNS",
    "DELIVERIES_CSV",
    "JUNIT_XML",
    "LOAD_PREFIX",
    "OPERATIONS_CSV",
    "RESULTS_JSON",
    "SCHEMA",
    "SUMMARY_MD",
    "VERDICT_STYLE",
    "CheckOutcome",
    "action_lines",
    "answer_words",
    "dapr_metrics_lines",
    "fault_context",
    "fault_line",
    "in_flight_words",
    "load_aggregate",
    "read_ledger_csv",
    "results_document",
    "shown_sources",
    "source_label",
    "table_row",
    "unique_sources",
    "utc",
    "verdict_table",
    "witness_line",
    "write_junit",
    "write_ledger_csv",
    "write_results",
    "write_summary_md",
]

SCHEMA = 1
RESULTS_JSON = "results.json"
SUMMARY_MD = "summary.md"
JUNIT_XML = "junit.xml"
DELIVERIES_CSV = "deliveries.csv"
OPERATIONS_CSV = "operations.csv"
WITNESSES_SHOWN = 5  # per source, in summary.md and junit.xml (results.json keeps every witness)
VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "unknown": "bold yellow"}
ANOMALIES = ("duplicates", "missed", "early", "spurious")


class CheckOutcome(Protocol):
    """What the report needs of the checker's result (``harness.oracle.check.CheckResult`` satisfies it)."""

    @property
    def sources(self) -> Sequence[SourceResult]: ...
    @property
    def verdict(self) -> str: ...
    @property
    def notes(self) -> Sequence[str]: ...


# ---------------------------------------------------------------- results.json


def _witness(w: Witness) -> dict[str, Any]:
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


def _source(s: SourceResult, fanout: Mapping[str, Any] | None = None) -> dict[str, Any]:
    per_occurrence = s.deliveries_per_occurrence
    row = {
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
    return row if fanout is None else row | {"fanout": dict(fanout)}


def results_document(
    result: CheckOutcome,
    *,
    dapr: Mapping[str, Any],
    scenario: Mapping[str, str],
    host: Mapping[str, object],
    timings: Mapping[str, float],
    faults: Sequence[Mapping[str, object]] = (),
    dapr_metrics: Mapping[str, Any] | None = None,
    fanouts: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The results.json structure (schema ``SCHEMA``) of one judged run; deterministic for the same inputs.

    ``dapr``: the versions the run started on, and ``upgrade_to`` when it was a rolling upgrade (the runner adds
    ``upgrade``, ``harness.oracle.upgrade.accounting``, to a rolling upgrade's document).
    ``dapr_metrics``: the cross-check with Dapr's own counters (``harness.oracle.crosscheck.cross_check``), None for
    a run dir without ``dapr_metrics.json`` (then the key is absent). A disagreement adds a note; it never
    changes the verdict. ``fanouts``: source name -> what the fan-out was (``harness.run.fanout.describe``), added to
    that source's row as ``fanout``.
    """
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "verdict": result.verdict,
        "dapr": {"daprd": dapr["daprd"], "scheduler": dapr["scheduler"]}
        | ({"upgrade_to": dict(dapr["upgrade_to"])} if dapr.get("upgrade_to") else {}),
        "scenario": {"name": scenario["name"], "hash": scenario["hash"]},
        "host": dict(host),
        "timings": dict(timings),
        "faults": [dict(f) for f in faults],
        "notes": list(result.notes),
        "sources": [_source(s, (fanouts or {}).get(s.name) if s.source == "jobs" else None) for s in result.sources],
        "actions": [_action(a) for a in getattr(result, "actions", ())],
    }
    if dapr_metrics is not None:
        doc["notes"] = [*doc["notes"], *dm.disagreement_notes(dapr_metrics)]
        doc["dapr_metrics"] = dict(dapr_metrics)
    return doc


def _action(a: ActionResult) -> dict[str, Any]:
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


def _action_label(a: Mapping[str, Any]) -> str:
    return f"action:{a['index']}:{a['op']}:{a['job']}"


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def write_results(run_dir: Path, doc: Mapping[str, Any]) -> Path:
    path = run_dir / RESULTS_JSON
    _write_text(path, json.dumps(doc, indent=2) + "\n")
    return path


# ---------------------------------------------------------------- shared formatting


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def in_flight_words(f: Mapping[str, Any]) -> str:
    """The delivery a ``busy`` fault's replica held when it struck: "delivery 9f1c… (jobs tick-job)"; "" if none."""
    d = f.get("in_flight")
    if not isinstance(d, Mapping):
        return ""
    return f"delivery {d.get('delivery_id', '?')} ({d.get('source', '?')} {d.get('name', '?')})"


def fault_line(f: Mapping[str, Any]) -> str:
    """One fault window for people: what, on which target, from when to when (and, for a ``busy`` target, which
    delivery was in flight when it struck)."""
    kind = str(f.get("kind", "?"))
    injected = f.get("injected_ns")
    healed = f.get("healed_ns")
    span = f"{utc(int(injected)) if injected else '-'} → {utc(int(healed)) if healed else 'no heal'}"
    how = ", ".join(str(f[k]) for k in ("part", "signal") if f.get(k) and f[k] != "-")
    held = in_flight_words(f)
    note = "; ".join(filter(None, [str(f.get("note") or ""), f"in flight: {held}" if held else ""]))
    note = f" — {note}" if note else ""
    if kind == "scale":
        return f"scale to {f.get('target', '?')} replicas: {span}{note}"
    if kind.startswith("network"):
        members = "every scheduler member" if f.get("target") == -1 else f"scheduler {f.get('target', '?')}"
        return f"{kind} on the link daprd ↔ {members} ({how} direction(s)): {span}{note}"
    where = "scheduler" if kind.startswith("scheduler") else "replica"
    return f"{kind} on {where} {f.get('target', '?')}{f' ({how})' if how else ''}: {span}{note}"


def dapr_line(dapr: Mapping[str, Any]) -> str:
    """The Dapr versions of a run for people: "daprd X, scheduler Y" (+ the rolling upgrade's target)."""
    line = f"daprd {dapr['daprd']}, scheduler {dapr['scheduler']}"
    to = dapr.get("upgrade_to")
    if to:
        line += f", rolling upgrade to daprd {to['daprd']}, scheduler {to['scheduler']}"
    return line


def utc(ns: int | None) -> str:
    if ns is None:
        return "-"
    seconds, rest = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest // 1_000_000:03d}Z"


COLLAPSE_OVER = 10  # more load jobs than this: one aggregate row, anomalous ones still listed
SOURCES_SHOWN = 20  # sources with anomalies given a section each in summary.md


def shown_sources(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
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
        "verdict": _worst([str(s["verdict"]) for s in load]),
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


def _anomaly_counts(src: Mapping[str, Any]) -> str:
    """ "duplicates=1, retries=2", or the source's first note (a threshold breach has no count), or a fallback."""
    counts = [f"{key}={src[key]}" for key in (*ANOMALIES, "retries") if src[key]]
    return ", ".join(counts) or next(iter(src["notes"]), "no anomaly counted")


def fault_context(w: Mapping[str, Any], faults: Sequence[Mapping[str, Any]], after_s: float = 15.0) -> str:
    """Where a witness falls against the fault windows: during one (the latest injected, if several), or shortly
    after one was healed (the latest heal). A witness's time is its last delivery (for a duplicate, the second
    delivery is the one a fault provoked), or its due time when nothing was delivered."""
    times = [int(d["received_ns"]) for d in w["deliveries"]] or ([int(w["due_ns"])] if w.get("due_ns") else [])
    if not times:
        return ""
    t = max(times)
    during: tuple[int, int] | None = None  # (injected, fault index)
    after: tuple[int, int] | None = None  # (healed, fault index)
    for i, f in enumerate(faults):
        injected, healed = f.get("injected_ns"), f.get("healed_ns")
        if injected is None or t < int(injected):
            continue
        if healed is None or t <= int(healed):
            during = max(during or (int(injected), i), (int(injected), i))
        elif t - int(healed) <= after_s * 1e9:
            after = max(after or (int(healed), i), (int(healed), i))
    if during is not None:
        start, i = during
        return f" [during fault #{i} {faults[i].get('kind', '?')}, {(t - start) / 1e9:.1f} s in]"
    if after is not None:
        end, i = after
        return f" [{(t - end) / 1e9:.1f} s after fault #{i} {faults[i].get('kind', '?')} was healed]"
    return ""


def answer_words(status: int | None) -> str:
    """How a witness delivery's answer reads: "" for 2xx, "answered 503", "cut off (no answer)" for None."""
    if status is None:
        return " cut off (no answer)"
    return "" if 200 <= status < 300 else f" answered {status}"


def witness_line(w: Mapping[str, Any]) -> str:
    hits = ", ".join(
        f"replica {d['replica']} at {utc(d['received_ns'])}"
        + ("" if d["late_ms"] is None else f" ({d['late_ms']:+.1f} ms)")
        + answer_words(d["status"])
        for d in w["deliveries"]
    )
    apart = "" if w["spread_ms"] is None else f"; {w['spread_ms']:.1f} ms apart"
    note = f" — {w['note']}" if w["note"] else ""
    return f"{w['kind']}, due {utc(w['due_ns'])}: {hits or 'no delivery'}{apart}{note}"


def table_row(src: Mapping[str, Any]) -> list[str]:
    late, effects = src["lateness_ms"], src["side_effects"]
    return [
        src["source"],
        src["name"],
        str(src["replicas"]),
        str(src["occurrences"]),
        str(src["deliveries"]),
        _num(src["deliveries_per_occurrence"], 2),
        str(src["duplicates"]),
        str(src["retries"]),
        str(src["missed"]),
        str(src["early"]),
        str(src["spurious"]),
        f"{_num(late['p50'])} / {_num(late['p99'])}",
        f"{effects['naive']} / {effects['idempotent']}",
        src["policy"],
        src["verdict"],
    ]


COLUMNS = (
    "source",
    "name",
    "replicas",
    "occurrences",
    "deliveries",
    "deliveries/occurrence",
    "duplicates",
    "retries",
    "missed",
    "early",
    "spurious",
    "lateness p50/p99 ms",
    "side effects naive/idempotent",
    "policy",
    "verdict",
)

# The same columns for a terminal, abbreviated so the table fits about 120 columns (see reports/README.md).
TABLE_HEADERS = (
    "source",
    "name",
    "repl.",
    "occur.",
    "deliv.",
    "deliv./\noccur.",
    "dup.",
    "retries",
    "missed",
    "early",
    "spur.",
    "late ms\np50 / p99",
    "effects\nnaive/idem.",
    "policy",
    "verdict",
)


# ---------------------------------------------------------------- summary.md, terminal table


def write_summary_md(run_dir: Path, doc: Mapping[str, Any]) -> Path:
    """A page a person reads first: verdict, versions, one table row per source, then every anomaly's witnesses."""
    sc, dapr = doc["scenario"], doc["dapr"]
    lines = [
        f"# onceonly: {sc['name']} — {doc['verdict'].upper()}",
        "",
        f"- verdict: **{doc['verdict']}**",
        f"- Dapr: {dapr_line(dapr)}",
        f"- scenario: {sc['name']} (hash {sc['hash']})",
        "- host: " + (", ".join(f"{k} {v}" for k, v in doc["host"].items()) or "-"),
        "- timings: " + (", ".join(f"{k} {v}" for k, v in doc["timings"].items()) or "-"),
    ]
    for f in doc["faults"]:
        lines.append("- fault " + fault_line(f))
    lines += ["", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    rows = shown_sources(doc)
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in table_row(s)) + " |" for s in rows]
    if not doc["sources"]:
        lines.append("| " + " | ".join(["-"] * len(COLUMNS)) + " |")
    if doc.get("upgrade"):
        lines += ["", "## Rolling upgrade", ""] + [f"- {line}" for line in upgrade.lines(doc["upgrade"])]
    lines += ["", "## Anomalies", ""]
    anomalous = [s for s in doc["sources"] if s["verdict"] == "fail" or s["witnesses"] or any(s[k] for k in ANOMALIES)]
    if not anomalous:
        lines.append("None: no duplicate, missed, early or spurious delivery.")
    for src in anomalous[:SOURCES_SHOWN]:
        lines.append(f"### {source_label(src)} ({src['policy']}, {src['verdict']}): {_anomaly_counts(src)}")
        lines.append("")
        shown = src["witnesses"][:WITNESSES_SHOWN]
        lines += [f"- {witness_line(w)}{fault_context(w, doc['faults'])}" for w in shown]
        if len(src["witnesses"]) > len(shown):
            lines.append(f"- … and {len(src['witnesses']) - len(shown)} more witness(es) in results.json")
        lines.append("")
    if len(anomalous) > SOURCES_SHOWN:
        lines += [f"… and {len(anomalous) - SOURCES_SHOWN} more source(s) with anomalies in results.json", ""]
    actions = doc.get("actions", [])
    if actions:
        lines += ["## Actions", ""]
        lines += [f"- {a['verdict']}: {a['note']}" for a in actions]
        lines.append("")
    lines += _dapr_metrics_md(doc)
    notes = list(doc["notes"]) + [f"{source_label(s)}: {n}" for s in unique_sources(rows) for n in s["notes"]]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    path = run_dir / SUMMARY_MD
    _write_text(path, "\n".join(lines).rstrip("\n") + "\n")
    return path


DAPR_METRICS_COLUMNS = ("process", "figure", "Dapr", "ledger", "status", "why / metric")


def dapr_metrics_cells(row: Mapping[str, Any]) -> list[str]:
    """One cross-check row as table cells: Dapr's figure, the ledger's (with the in-flight range), the status,
    and the reason (or the metric, when there is nothing to explain)."""
    lo, hi = row["ledger_range"]
    ledger = str(row["ledger"]) if lo == hi else f"{row['ledger']} ({lo}-{hi})"
    return [
        row["process"],
        row["figure"],
        "-" if row["dapr"] is None else str(row["dapr"]),
        ledger,
        row["status"],
        row["reason"] or row["metric"],
    ]


def _dapr_metrics_md(doc: Mapping[str, Any]) -> list[str]:
    check = doc.get("dapr_metrics")
    if check is None:
        return []
    lines = [
        "## Dapr's own metrics (cross-check)",
        "",
        f"{check['note']} {dm.counts_line(check)}. The ledger's figure counts what the Dapr counter counts; in "
        f"brackets, the range that agrees when deliveries were in flight at the scrape "
        f"({check['in_flight_margin_ms']} ms before it).",
        "",
        "| " + " | ".join(DAPR_METRICS_COLUMNS) + " |",
        "|" + "---|" * len(DAPR_METRICS_COLUMNS),
    ]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in dapr_metrics_cells(r)) + " |" for r in check["rows"]]
    return [*lines, ""]


def dapr_metrics_lines(doc: Mapping[str, Any]) -> list[Text]:
    """Under the verdict table: the cross-check in one line, then each disagreement (a warning, not a verdict)."""
    check = doc.get("dapr_metrics")
    if check is None:
        return []
    counts = check["counts"]
    style = "yellow" if counts["disagree"] else ""
    lines = [Text(f"Dapr's own metrics vs the ledger: {dm.counts_line(check)}", style=style)]
    lines += [
        Text(f"  warning: disagree: {dm.row_line(r)}", style="yellow")
        for r in check["rows"]
        if r["status"] == "disagree"
    ]
    return lines


def verdict_table(doc: Mapping[str, Any]) -> Table:
    """The terminal verdict: one row per source, the verdict coloured."""
    verdict = doc["verdict"]
    title = Text.assemble(
        f"onceonly {doc['scenario']['name']} on daprd {doc['dapr']['daprd']}: ",
        (verdict.upper(), VERDICT_STYLE.get(verdict, "bold")),
    )
    table = Table(title=title, box=box.SIMPLE_HEAVY, show_edge=False, padding=(0, 0))  # one space between columns
    for col in TABLE_HEADERS:
        table.add_column(col, justify="left" if col in ("source", "name", "policy", "verdict") else "right")
    for src in shown_sources(doc):
        *cells, last = table_row(src)
        table.add_row(*cells, Text(last, style=VERDICT_STYLE.get(last, "")))
    return table


def action_lines(doc: Mapping[str, Any]) -> list[Text]:
    """One line per mid-run job action under the table: its verdict (coloured) and what Dapr answered."""
    return [
        Text.assemble((f"{a['verdict']:>7} ", VERDICT_STYLE.get(a["verdict"], "")), a["note"])
        for a in doc.get("actions", [])
    ]


# ---------------------------------------------------------------- junit.xml


def _worst(verdicts: Sequence[str]) -> str:
    return worst(verdicts)


def write_junit(run_dir: Path, doc: Mapping[str, Any], suite_name: str) -> Path:
    """One testcase per source ("jobs:name"): <failure> for fail, <skipped> for unknown, nothing for pass.

    A testcase "run" is added when there is no source, or when the run's verdict is worse than every source's
    (for example the checker said "unknown" for the run as a whole), so CI never shows green for a run that was not.
    """
    cases: list[tuple[str, str, str, str]] = []  # (name, verdict, message, text)
    for src in unique_sources(shown_sources(doc)):
        shown = [witness_line(w) for w in src["witnesses"][:WITNESSES_SHOWN]]
        figures = "  ".join(f"{c}={v}" for c, v in zip(COLUMNS[2:-1], table_row(src)[2:-1], strict=True))
        text = "\n".join([figures, *shown, *src["notes"]])
        message = f"{_anomaly_counts(src)} (policy {src['policy']})"
        if src["verdict"] == "unknown":
            message = "; ".join(src["notes"]) or "evidence incomplete"
        cases.append((source_label(src), src["verdict"], message, text))
    for a in doc.get("actions", []):
        if a["expect_status"] is not None:
            cases.append((_action_label(a), a["verdict"], a["note"], a["note"]))
    if not cases or rank(doc["verdict"]) > rank(_worst([c[1] for c in cases])):
        cases.append(("run", doc["verdict"], "; ".join(doc["notes"]) or f"run verdict {doc['verdict']}", ""))
    root = ET.Element("testsuites", name="onceonly")
    suite = ET.SubElement(root, "testsuite", name=suite_name, errors="0")
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("verdict", doc["verdict"]),
        ("daprd", doc["dapr"]["daprd"]),
        ("scheduler", doc["dapr"]["scheduler"]),
        ("scenario", doc["scenario"]["name"]),
        ("scenario_hash", doc["scenario"]["hash"]),
    ):
        ET.SubElement(props, "property", name=key, value=str(value))
    for name, verdict, message, text in cases:
        case = ET.SubElement(suite, "testcase", classname=f"onceonly.{suite_name}", name=name)
        if verdict == "fail":
            ET.SubElement(case, "failure", message=message, type="anomaly").text = text
        elif verdict != "pass":
            ET.SubElement(case, "skipped", message=message)
        if text and verdict != "fail":  # a failure already carries the figures
            ET.SubElement(case, "system-out").text = text
    counts = {
        "tests": len(cases),
        "failures": sum(c[1] == "fail" for c in cases),
        "skipped": sum(c[1] not in ("pass", "fail") for c in cases),
    }
    for element in (root, suite):
        for key, n in counts.items():
            element.set(key, str(n))
    ET.indent(root)
    path = run_dir / JUNIT_XML
    _write_text(path, ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")
    return path


# ---------------------------------------------------------------- ledger CSVs

_DELIVERY_COLUMNS = [f.name for f in fields(Delivery)]
_OPERATION_COLUMNS = [f.name for f in fields(Operation)]


def write_ledger_csv(run_dir: Path, deliveries: Sequence[Delivery], operations: Sequence[Operation]) -> None:
    """deliveries.csv and operations.csv: one row per delivery (its arrival joined with its answer) and per
    operation, columns as in ``harness.model``; ``headers`` and ``detail`` are JSON objects (keys sorted),
    ``effects`` a JSON list. A delivery **cut off** mid-handler (an arrival, no answer) has ``status`` and
    ``answered_ns`` empty and ``effects`` ``[]``."""
    for filename, columns, rows in (
        (DELIVERIES_CSV, _DELIVERY_COLUMNS, deliveries),
        (OPERATIONS_CSV, _OPERATION_COLUMNS, operations),
    ):
        tmp = run_dir / (filename + ".tmp")
        with tmp.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for row in rows:
                writer.writerow(
                    json.dumps(v, sort_keys=True, default=str) if isinstance(v, dict | tuple) else v
                    for v in astuple(row)
                )
        tmp.replace(run_dir / filename)


LATENESS_CSV = "lateness.csv"
LATENESS_COLUMNS = ("source", "name", "due_ns", "delivery_id", "replica", "received_ns", "late_ms")


def write_lateness_csv(run_dir: Path, sources: Sequence[SourceResult]) -> Path:
    """lateness.csv: the samples behind every source's lateness percentiles, one row per counted occurrence that
    was delivered (its due time and the delivery that answered it first; the checker's matching, stage 2)."""
    path = run_dir / LATENESS_CSV
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(LATENESS_COLUMNS)
        for s in sources:
            for due, d in s.lateness_samples:
                late = f"{(d.received_ns - due) / 1e6:.3f}"
                writer.writerow((s.source, s.name, due, d.delivery_id, d.replica, d.received_ns, late))
    tmp.replace(path)
    return path


def read_lateness_csv(run_dir: Path) -> dict[str, list[float]] | None:
    """``source:name`` -> its lateness samples in ms (sorted), or None when the run dir has no lateness.csv."""
    path = run_dir / LATENESS_CSV
    if not path.is_file():
        return None
    out: dict[str, list[float]] = collections.defaultdict(list)
    with path.open(newline="") as fh:
        for r in csv.DictReader(fh):
            out[f"{r['source']}:{r['name']}"].append(float(r["late_ms"]))
    return {k: sorted(v) for k, v in out.items()}


def read_ledger_csv(run_dir: Path) -> tuple[list[Delivery], list[Operation]]:
    """The rows ``write_ledger_csv`` wrote, as model objects again."""
    with (run_dir / DELIVERIES_CSV).open(newline="") as fh:
        deliveries = [
            Delivery(
                delivery_id=r["delivery_id"],
                source=r["source"],  # type: ignore[arg-type]  # written from a SourceKind
                name=r["name"],
                replica=int(r["replica"]),
                received_ns=int(r["received_ns"]),
                status=int(r["status"]) if r["status"] else None,  # empty: cut off (no answer)
                headers=json.loads(r["headers"]),
                answered_ns=int(r["answered_ns"]) if r["answered_ns"] else None,
                effects=tuple(json.loads(r["effects"])),
            )
            for r in csv.DictReader(fh)
        ]
    with (run_dir / OPERATIONS_CSV).open(newline="") as fh:
        operations = [
            Operation(
                op_id=r["op_id"],
                kind=r["kind"],  # type: ignore[arg-type]  # written from an Operation kind
                name=r["name"],
                phase=r["phase"],  # type: ignore[arg-type]  # written from an OpPhase
                at_ns=int(r["at_ns"]),
                detail=json.loads(r["detail"]),
            )
            for r in csv.DictReader(fh)
        ]
    return deliveries, operations
