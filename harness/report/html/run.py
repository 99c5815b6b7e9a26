"""report.html: one self-contained page per run, for people, with interactive charts (plotly, embedded).

It reads only files of the run directory (``results.json``; ``history.json`` for the deliveries of the timeline
and the observation window; ``lateness.csv`` for the whole lateness distribution) and never re-judges: every figure
is the checker's. Same run directory ⇒ same bytes, like the other stage-2 files. Both files are typed
(``harness.io.stage_files.read_results`` → ``harness.oracle.results.Results``, ``read_history`` → ``History``);
source rows are read as ``Mapping[str, Any]`` where a figure is looked up by a name from a tuple (a ``TypedDict``
takes only literal keys).

Top to bottom: header (scenario, verdict, versions, when, host, fault windows), the verdict table (the columns of
summary.md, a load run's ``load-*`` jobs folded into one row), the timeline (deliveries per replica, fault windows
shaded, witnesses marked, missed occurrences on their own row), deliveries per occurrence, lateness percentiles,
the spread across replicas, the witnesses, the actions, Dapr's metrics and the notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from harness.io import csv_files, store
from harness.io.stage_files import History, read_history, read_results
from harness.model import LOAD_PREFIX
from harness.oracle import crosscheck, results, upgrade
from harness.oracle.results import Results
from harness.report import words
from harness.report.html.figures import (
    ecdf_figure,
    lateness_curves,
    lateness_figure,
    per_occurrence_figure,
    spread_figure,
)
from harness.report.html.page import PALETTE, REPORT_HTML, chart, esc, page, verdict_badge, verdict_table_html
from harness.report.html.timeline import timeline_figure

WITNESSES_SHOWN = 20  # per source in the witnesses list


def write_report_html(run_dir: Path) -> Path:
    """Write ``<run_dir>/report.html`` from the run's results.json (and history.json when present)."""
    doc = read_results(run_dir)
    history = read_history(run_dir) if (run_dir / store.HISTORY).is_file() else None
    path = run_dir / REPORT_HTML
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_report(doc, history, csv_files.read_lateness_csv(run_dir)))
    tmp.replace(path)
    return path


def render_report(doc: Results, history: History | None, lateness: Mapping[str, list[float]] | None = None) -> str:
    """The page; ``history``: None for a run dir without history.json; ``lateness``: lateness.csv's samples per
    ``source:name`` (None for a run dir without it)."""
    sc = doc["scenario"]
    body = [
        _header(doc, history),
        "<h2>Verdict per source</h2>",
        verdict_table_html(doc),
        *_upgrade(doc),
        *_own_app(doc),
        "<h2>Timeline</h2>",
        '<p class="muted">Every delivery the apps recorded, by replica (hover for the job and the status; a cross '
        "is a non-2xx answer, an hourglass a delivery cut off mid-handler: it arrived, and its app never answered, "
        "because it died or the run ended). Shaded: fault windows (a <code>busy</code> fault names the delivery "
        "in flight when it struck). Large red markers: the deliveries of a duplicate, early or "
        "spurious witness (orange: a retry), hover for the checker's note; missed occurrences sit at their due "
        "time on the row <i>missed</i>. The legend counts every delivery recorded, also those the checker does "
        "not count (before the observation starts, after the jobs are deleted, a binding's edge ticks: see the "
        "notes), so it can say more than the table.</p>",
        chart(timeline_figure(doc, history), "timeline"),
        "<h2>Deliveries per occurrence</h2>",
        '<p class="muted">1.0 is once per occurrence; the replica count is "every replica fires" (a cron binding '
        "under its contract).</p>",
        chart(per_occurrence_figure(doc), "per-occurrence"),
        "<h2>Lateness (received - due)</h2>",
        '<p class="muted">The checker\'s percentiles per source (results.json <code>lateness_ms</code>). For the '
        "folded load row, p50 is the median of the jobs' p50s and p99 the max of their p99s.</p>",
        chart(lateness_figure(doc), "lateness"),
        *(_load_lateness(doc) if lateness is None else _lateness_distribution(doc, lateness)),
        "<h2>Spread across replicas</h2>",
        '<p class="muted">Deliveries per replica (results.json <code>per_replica</code>; the load row sums its '
        "jobs').</p>",
        chart(spread_figure(doc), "spread"),
        "<h2>Witnesses</h2>",
        _witnesses(doc),
        *_actions(doc),
        *_dapr_metrics(doc),
        "<h2>Notes</h2>",
        _notes(doc),
    ]
    return page(f"onceonly {sc['name']}: {doc['verdict']}", body)


def _header(doc: Results, history: History | None) -> str:
    sc, dapr = doc["scenario"], doc["dapr"]
    start, end = (None, None) if history is None else (history.observe_start_ns, history.observe_end_ns)
    when = f"{words.utc(start)} → {words.utc(end)} (observation)" if start else "-"
    host = ", ".join(f"{k} {v}" for k, v in doc["host"].items()) or "-"
    timings = ", ".join(f"{k} {v}" for k, v in doc["timings"].items()) or "-"
    faults = "".join(f"<li>fault #{i}: {esc(words.fault_line(f))}</li>" for i, f in enumerate(doc["faults"]))
    return (
        f"<h1>onceonly: {esc(sc['name'])} {verdict_badge(doc['verdict'])}</h1>\n"
        '<div class="meta">'
        f"<div>Dapr: <b>{esc(words.dapr_line(dapr))}</b></div>"
        f"<div>scenario: {esc(sc['name'])} (hash <code>{esc(sc['hash'])}</code>)</div>"
        f"<div>when: {esc(when)}</div><div>host: {esc(host)}</div><div>timings: {esc(timings)}</div>"
        f"<div>fault windows: {'none' if not faults else ''}</div>"
        + (f"<ul>{faults}</ul>" if faults else "")
        + "</div>"
    )


def _load_lateness(doc: Results) -> list[str]:
    """For a load run: how the jobs' own p50 and p99 are distributed (an ECDF over jobs, from results.json)."""
    load: list[Mapping[str, Any]] = [s for s in doc["sources"] if str(s["name"]).startswith(LOAD_PREFIX)]
    if len(load) <= 1:
        return []
    fig = go.Figure()
    for i, p in enumerate(("p50", "p99")):
        xs = sorted(float(s["lateness_ms"][p]) for s in load if s["lateness_ms"][p] is not None)
        if not xs:
            continue
        step = max(1, len(xs) // 500)  # ≤ ~500 points per curve, the last always kept
        idx = [*range(0, len(xs), step), len(xs) - 1]
        fig.add_trace(
            go.Scatter(
                x=[xs[k] for k in idx],
                y=[(k + 1) / len(xs) for k in idx],
                mode="lines",
                line_shape="hv",
                name=f"per-job {p}",
                line_color=PALETTE[i * 2],
                hovertemplate=f"{p} ≤ %{{x:.1f}} ms for %{{y:.1%}} of the jobs<extra></extra>",
            )
        )
    fig.update_layout(
        height=340, margin={"t": 30}, xaxis={"title": "ms", "type": "log", "dtick": 1}, yaxis={"title": "share of jobs"}
    )
    return [
        f'<p class="muted">The {len(load)} load jobs\' own lateness percentiles, as a cumulative distribution over '
        "jobs (each job's p50 and p99 from results.json).</p>",
        chart(fig, "load-lateness"),
    ]


def _lateness_distribution(doc: Results, lateness: Mapping[str, list[float]]) -> list[str]:
    """The whole lateness distribution per source (lateness.csv): a cumulative curve of every counted occurrence's
    lateness, the load's jobs as one curve."""
    curves = lateness_curves(doc, lateness)
    if not curves:
        return [
            '<p class="muted">No lateness was measured (nothing delivered, or only <code>@every</code> '
            "bindings, whose phase is inferred).</p>"
        ]
    return [
        "<h3>The whole distribution</h3>",
        '<p class="muted">Every counted occurrence that was delivered, by how late its first delivery came '
        "(lateness.csv: the samples behind the percentiles above; in brackets, how many). A curve that climbs at "
        "once is on time; a long flat tail is a stall (a fault, a catch-up burst). A delivery up to 5 ms early is "
        "on time and shows as a small negative value.</p>",
        chart(ecdf_figure([("", curves)]), "lateness-distribution"),
    ]


def _witnesses(doc: Results) -> str:
    rows: list[Mapping[str, Any]] = list(doc["sources"])  # read by figure name: as a mapping
    anomalous = [s for s in rows if s["verdict"] == "fail" or s["witnesses"] or any(s[k] for k in results.ANOMALIES)]
    if not anomalous:
        return "<p>None: no duplicate, missed, early or spurious delivery.</p>"
    parts = []
    for src in anomalous[: words.SOURCES_SHOWN]:
        counts = ", ".join(f"{k}={src[k]}" for k in (*results.ANOMALIES, "retries") if src[k]) or "no anomaly counted"
        shown = src["witnesses"][:WITNESSES_SHOWN]
        items = "".join(f"<li>{esc(words.witness_line(w) + words.fault_context(w, doc['faults']))}</li>" for w in shown)
        more = len(src["witnesses"]) - len(shown)
        if more:
            items += f"<li>… and {more} more witness(es) in results.json</li>"
        parts.append(
            f"<h3>{esc(results.source_label(src))} ({esc(src['policy'])}, "
            f'<span class="{esc(src["verdict"])}">{esc(src["verdict"])}</span>): {esc(counts)}</h3>'
            f"<ul>{items or '<li>no witness</li>'}</ul>"
        )
    if len(anomalous) > words.SOURCES_SHOWN:
        parts.append(f"<p>… and {len(anomalous) - words.SOURCES_SHOWN} more source(s) with anomalies.</p>")
    return "\n".join(parts)


def _upgrade(doc: Results) -> list[str]:
    section = doc.get("upgrade")
    if not section:
        return []
    items = "".join(f"<li>{esc(line)}</li>" for line in upgrade.lines(section))
    return [
        "<h2>Rolling upgrade</h2>",
        "<p class=\"muted\">The same history split at the first upgrade step's start and the last step's end "
        "(results.json <code>upgrade</code>); anomalies are placed by their occurrence's due time, counted from "
        "the witnesses kept.</p>",
        f"<ul>{items}</ul>",
    ]


def _own_app(doc: Results) -> list[str]:
    """A user's own app (``app.command``): each replica's start-up schedule call, its answer and its effect."""
    app = doc.get("app")
    if not app:
        return []
    items = "".join(f"<li>{esc(line)}</li>" for line in words.startup_lines(app))
    return ["<h2>Your app's start-up schedule calls</h2>", f"<ul>{items}</ul>"]


def _actions(doc: Results) -> list[str]:
    actions = doc.get("actions", [])
    if not actions:
        return []
    items = "".join(
        f'<li><span class="{esc(a["verdict"])}">{esc(a["verdict"])}</span>: {esc(a["note"])}</li>' for a in actions
    )
    return ["<h2>Actions</h2>", f"<ul>{items}</ul>"]


def _dapr_metrics(doc: Results) -> list[str]:
    """Dapr's own counters beside the ledger's (results.json ``dapr_metrics``); nothing for a run without them."""
    check = doc.get("dapr_metrics")
    if check is None:
        return []
    head = "".join(f'<th class="l">{esc(c)}</th>' for c in words.DAPR_METRICS_COLUMNS)
    rows = []
    for r in check["rows"]:
        cells = words.dapr_metrics_cells(r)
        status = {"agree": "pass", "disagree": "fail"}.get(r["status"], "unknown")
        tds = [f'<td class="l">{esc(c)}</td>' for c in cells[:2]]
        tds += [f"<td>{esc(c)}</td>" for c in cells[2:4]]
        tds += [f'<td class="l {status}">{esc(cells[4])}</td>', f'<td class="l muted">{esc(cells[5])}</td>']
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return [
        "<h2>Dapr's own metrics (cross-check)</h2>",
        f'<p class="muted">{esc(check["note"])} {esc(crosscheck.counts_line(check))}. In brackets: the ledger range '
        f"that agrees with deliveries in flight at the scrape ({esc(check['in_flight_margin_ms'])} ms before it).</p>",
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>",
    ]


def _notes(doc: Results) -> str:
    rows = results.unique_sources(results.shown_sources(doc))
    notes = list(doc["notes"]) + [f"{results.source_label(s)}: {n}" for s in rows for n in s["notes"]]
    return "<ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>" if notes else "<p>None.</p>"
