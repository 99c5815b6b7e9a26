"""The words every output shares: a fault window, a witness, a table row, the Dapr versions, a UTC time.

summary.md, junit.xml, the terminal and report.html say things the same way because they say them through here.
Its functions take the parts of a results.json (a source row, a witness, a fault window, a cross-check row) as
``Mapping[str, Any]``: they also read the folded load row (not a ``SourceDoc``) and fault windows from runs and
tests that lack the keys added later (read with ``.get``); the whole document is ``harness.oracle.results.Results``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from harness.faults.registry import kind_of
from harness.oracle.results import ANOMALIES

WITNESSES_SHOWN = 5  # per source, in summary.md and junit.xml (results.json keeps every witness)


SOURCES_SHOWN = 20  # sources with anomalies given a section each in summary.md


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
    return kind_of(kind).line(f, how, span, note)


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


def anomaly_counts(src: Mapping[str, Any]) -> str:
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


def startup_lines(app: Mapping[str, Any]) -> list[str]:
    """A user's own app's start-up race: one line per schedule call (time, replica, job, answer, effect)."""
    lines = [f"app: `{app['command']}`; side effects: {app['side_effects']}"]
    for c in app["startup"]:
        who = "replica ?" if c["replica"] is None else f"replica {c['replica']}"
        answer = c["answer"] if c["answer"] is not None else "no answer"
        lines.append(f"{c['at']} {who} scheduled {c['job']}: {answer} ({c['outcome']}) — {c['effect']}")
    return lines


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


FOREIGN_EFFECTS = "unknown (your own app)"


def table_row(src: Mapping[str, Any], *, foreign: bool = False) -> list[str]:
    """One source's cells (``COLUMNS``); ``foreign``: a user's own app ran, whose side effects onceonly cannot see
    (said so, never shown as 0 / 0)."""
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
        FOREIGN_EFFECTS if foreign else f"{effects['naive']} / {effects['idempotent']}",
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
