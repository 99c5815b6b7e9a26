"""summary.md: the page a person reads first (verdict, versions, one row per source, every anomaly's witnesses).

It takes the whole document typed (``harness.oracle.results.Results``); a source row is read as
``Mapping[str, Any]`` where its figures are looked up by a name from a tuple (``ANOMALIES``), which a ``TypedDict``
only allows with literal keys, and because the rows shown include the folded load row, which is not a ``SourceDoc``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.io import store
from harness.oracle import crosscheck, upgrade
from harness.oracle.results import ANOMALIES, Results, shown_sources, source_label, unique_sources
from harness.report.words import (
    COLUMNS,
    DAPR_METRICS_COLUMNS,
    SOURCES_SHOWN,
    WITNESSES_SHOWN,
    anomaly_counts,
    dapr_line,
    dapr_metrics_cells,
    fault_context,
    fault_line,
    startup_lines,
    table_row,
    witness_line,
)

SUMMARY_MD = "summary.md"


def write_summary_md(run_dir: Path, doc: Results) -> Path:
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
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in table_row(s, foreign="app" in doc)) + " |" for s in rows
    ]
    if not doc["sources"]:
        lines.append("| " + " | ".join(["-"] * len(COLUMNS)) + " |")
    if doc.get("upgrade"):
        lines += ["", "## Rolling upgrade", ""] + [f"- {line}" for line in upgrade.lines(doc["upgrade"])]
    if "app" in doc:
        lines += ["", "## Your app's start-up schedule calls", ""] + [f"- {x}" for x in startup_lines(doc["app"])]
    lines += ["", "## Anomalies", ""]
    sources: list[Mapping[str, Any]] = list(doc["sources"])  # read by figure name: as a mapping
    anomalous = [s for s in sources if s["verdict"] == "fail" or s["witnesses"] or any(s[k] for k in ANOMALIES)]
    if not anomalous:
        lines.append("None: no duplicate, missed, early or spurious delivery.")
    for src in anomalous[:SOURCES_SHOWN]:
        lines.append(f"### {source_label(src)} ({src['policy']}, {src['verdict']}): {anomaly_counts(src)}")
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
    store.write_text(path, "\n".join(lines).rstrip("\n") + "\n")
    return path


def _dapr_metrics_md(doc: Results) -> list[str]:
    check = doc.get("dapr_metrics")
    if check is None:
        return []
    lines = [
        "## Dapr's own metrics (cross-check)",
        "",
        f"{check['note']} {crosscheck.counts_line(check)}. The ledger's figure counts what the Dapr counter counts; in "
        f"brackets, the range that agrees when deliveries were in flight at the scrape "
        f"({check['in_flight_margin_ms']} ms before it).",
        "",
        "| " + " | ".join(DAPR_METRICS_COLUMNS) + " |",
        "|" + "---|" * len(DAPR_METRICS_COLUMNS),
    ]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in dapr_metrics_cells(r)) + " |" for r in check["rows"]]
    return [*lines, ""]
