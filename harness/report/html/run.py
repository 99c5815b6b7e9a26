"""report.html: one self-contained page per run, for people, with interactive charts (plotly, embedded).

It reads only files of the run directory (``results.json``; ``history.json`` for the deliveries of the timeline
and the observation window) and never re-judges: every figure is the checker's. The page works offline: plotly.js
is inlined once, no ``<script src>``, no stylesheet link, no fetch. Same run directory ⇒ same bytes (fixed div
ids, no time of writing), like the other stage-2 files.

Top to bottom: header (scenario, verdict, versions, when, host, fault windows), the verdict table (the columns of
summary.md, a load run's ``load-*`` jobs folded into one row), the timeline (deliveries per replica, fault windows
shaded, witnesses marked, missed occurrences on their own row), deliveries per occurrence, lateness percentiles,
the spread across replicas, the witnesses, the actions and the notes. ``write_comparison_html`` renders
``onceonly compare OLD_RUN NEW_RUN``'s page and ``write_versions_html`` ``onceonly compare TARGET --dapr OLD --dapr
NEW``'s (one section per scenario), both ``report.html`` in the comparison's directory.
"""

from __future__ import annotations

import collections
import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from harness.io import csv_files, store
from harness.model import ALL_MEMBERS, LOAD_PREFIX
from harness.oracle import crosscheck as dm
from harness.oracle import results, upgrade
from harness.report import words

if TYPE_CHECKING:
    from harness.oracle.compare import Comparison, VersionPair

REPORT_HTML = "report.html"
NAMED_TRACES = 10  # timeline: at most this many sources get a trace of their own; the rest share one
ANOMALY_MARKERS = 2000  # timeline: witnesses' deliveries marked, at most (results.json has them all)
SVG_POINTS = 5000  # timeline: drawn as SVG up to this many points, with WebGL (scattergl) above
WITNESSES_SHOWN = 20  # per source in the witnesses list
VERDICT_COLOUR = {"pass": "#1a7f37", "fail": "#cf222e", "unknown": "#9a6700"}
CUT_OFF_SYMBOL = "hourglass"  # timeline: a delivery with an arrival and no answer (the app died mid-handler)
KIND_COLOUR = {"retry": "#ff7f0e"}  # every other kind (duplicate, missed, early, spurious) red
PALETTE = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#aec7e8", "#98df8a")
PLOT_CONFIG = {"displaylogo": False, "responsive": True}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1f2328;max-width:1400px}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #d0d7de;padding:.2rem .45rem;text-align:right}
th{background:#f6f8fa}td.l,th.l{text-align:left}.verdict{font-weight:700;text-transform:uppercase}
.pass{color:#1a7f37}.fail{color:#cf222e}.unknown{color:#9a6700}.reg{color:#cf222e;font-weight:700}
.badge{display:inline-block;padding:.1rem .6rem;border-radius:.3rem;color:#fff;font-weight:700}
.meta{font-size:.9rem;line-height:1.5}.muted{color:#656d76;font-size:.85rem}code{font-size:.85rem}
.cols{display:flex;flex-wrap:wrap;gap:1rem}.cols>div{flex:1 1 auto;overflow-x:auto}li{margin:.15rem 0}
"""


# ---------------------------------------------------------------- page parts shared with the comparison page


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _offline_js() -> str:
    """plotly.js, made safe to inline: no ``</script`` inside, and the few attribution links in its strings
    (``href="https://plotly.com/"``, OpenStreetMap, MapLibre; never fetched by our charts) written with
    ``\\u0068`` for their ``h``, the same string at run time, so no ``href="http`` appears in the file."""
    js = str(get_plotlyjs())
    for attr in ("href", "src"):
        js = js.replace(f'{attr}="http', f'{attr}="\\u0068ttp').replace(f"{attr}='http", f"{attr}='\\u0068ttp")
    return js.replace("</script", "<\\/script")


def page(title: str, body: Sequence[str]) -> str:
    """A whole HTML document: the CSS and plotly.js inline, then the body parts."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{esc(title)}</title>'
        f'<style>{CSS}</style>\n<script id="plotlyjs">{_offline_js()}</script>\n</head><body>\n'
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def chart(fig: go.Figure, div_id: str) -> str:
    """One figure as a div + script (plotly.js is in the page head once); a fixed id keeps the bytes stable."""
    return str(fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG))


def verdict_badge(verdict: str) -> str:
    return _badge(verdict, verdict)


def verdict_table_html(doc: Mapping[str, Any]) -> str:
    """summary.md's table: one row per shown source (a load run's jobs folded), the verdict coloured."""
    head = "".join(
        f'<th class="{"l" if c in ("source", "name", "policy", "verdict") else ""}">{esc(c)}</th>'
        for c in words.COLUMNS
    )
    rows = []
    for src in results.shown_sources(doc):
        cells = words.table_row(src)
        tds = [f'<td class="l">{esc(c)}</td>' for c in cells[:2]]
        tds += [f"<td>{esc(c)}</td>" for c in cells[2:-2]]
        tds += [f'<td class="l">{esc(cells[-2])}</td>', f'<td class="l verdict {esc(cells[-1])}">{esc(cells[-1])}</td>']
        rows.append("<tr>" + "".join(tds) + "</tr>")
    if not rows:
        rows.append(f'<tr><td class="l" colspan="{len(words.COLUMNS)}">no source</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def short_label(src: Mapping[str, Any]) -> str:
    """A source's label for chart axes: ``jobs:name``; the load aggregate as ``jobs:load-* (N jobs)``."""
    name = str(src["name"])
    if name.startswith(LOAD_PREFIX + "* ("):
        name = name.split(":", 1)[0] + ")"
    return f"{src['source']}:{name}"


# ---------------------------------------------------------------- report.html


def write_report_html(run_dir: Path) -> Path:
    """Write ``<run_dir>/report.html`` from the run's results.json (and history.json when present)."""
    doc = store.read_json(run_dir / store.RESULTS)
    history_path = run_dir / store.HISTORY
    history: Mapping[str, Any] = store.read_json(history_path) if history_path.is_file() else {}
    path = run_dir / REPORT_HTML
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_report(doc, history, csv_files.read_lateness_csv(run_dir)))
    tmp.replace(path)
    return path


def render_report(
    doc: Mapping[str, Any], history: Mapping[str, Any], lateness: Mapping[str, list[float]] | None = None
) -> str:
    """The page; ``lateness``: lateness.csv's samples per ``source:name`` (None for a run dir without it)."""
    sc = doc["scenario"]
    body = [
        _header(doc, history),
        "<h2>Verdict per source</h2>",
        verdict_table_html(doc),
        *_upgrade(doc),
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


def _header(doc: Mapping[str, Any], history: Mapping[str, Any]) -> str:
    sc, dapr = doc["scenario"], doc["dapr"]
    start, end = history.get("observe_start_ns"), history.get("observe_end_ns")
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


def _ms(ns: int) -> int:
    """ns since the epoch → ms since the epoch: what a plotly date axis takes as a number (and short in JSON)."""
    return ns // 1_000_000


def fault_label(i: int, f: Mapping[str, Any]) -> str:
    """The short label of a shaded fault window: ``fault #0 kill daprd, replica 2``; what the target is, is said
    the way ``words.fault_line`` says it (a network fault on every member's link: ``all schedulers``); a ``busy``
    target's adds the delivery in flight when it struck: ``…, replica 2, in flight: delivery 9f1c… (jobs j)``."""
    held = words.in_flight_words(f)
    return _fault_label(i, f) + (f", in flight: {held}" if held else "")


def _fault_label(i: int, f: Mapping[str, Any]) -> str:
    kind, target = str(f.get("kind", "?")), f.get("target", "?")
    part = f" {f['part']}" if f.get("part") and f["part"] != "-" else ""
    if kind == "scale":
        return f"fault #{i} scale to {target} replicas"
    if kind.startswith("network"):
        where = "all schedulers" if target == ALL_MEMBERS else f"scheduler {target}"
    else:
        where = f"{'scheduler' if kind.startswith('scheduler') else 'replica'} {target}"
    return f"fault #{i} {kind}{part}, {where}"


def _symbol(status: int | None) -> str:
    """A delivery's marker: a circle answered 2xx, a cross answered otherwise, an hourglass cut off (no answer)."""
    if status is None:
        return CUT_OFF_SYMBOL
    return "circle" if 200 <= int(status) < 300 else "x"


def _answer(status: int | None) -> str:
    return " cut off (no answer)" if status is None else f" answered {status}"


def _cut_off_words(ds: Sequence[Mapping[str, Any]]) -> str:
    cut = sum(d["status"] is None for d in ds)
    return f", {cut} cut off" if cut else ""


def witness_legend(kind: str, witnesses: int, marked: int) -> str:
    """A witness trace's legend entry: how many anomalies, and how many deliveries are circled for them (a
    duplicate circles the first delivery and the extra one, so the two counts differ)."""
    if kind == "missed" or marked == witnesses:
        return f"{kind}: {witnesses}"
    return f"{kind}: {witnesses} ({marked} deliveries circled)"


def timeline_figure(doc: Mapping[str, Any], history: Mapping[str, Any]) -> go.Figure:
    deliveries: Sequence[Mapping[str, Any]] = history.get("deliveries", [])
    replicas = max([int(history.get("replicas", 0))] + [int(d["replica"]) + 1 for d in deliveries])
    # One trace per source while there are few; the load's jobs share one, and past NAMED_TRACES the rest too.
    groups: dict[str, list[Mapping[str, Any]]] = collections.defaultdict(list)
    names = [f"{s['source']}:{s['name']}" for s in doc["sources"] if not str(s["name"]).startswith("load-")]
    named = set(names[:NAMED_TRACES])
    owner = results.fanout_owners(doc["sources"])  # a fan-out's members share its trace
    for d in deliveries:
        name = owner.get(d["name"], d["name"]) if d["source"] == "jobs" else d["name"]
        label = f"{d['source']}:{name}"
        if label not in named:
            label = "jobs:load-*" if str(d["name"]).startswith(LOAD_PREFIX) else "other sources"
        groups[label].append(d)
    order = [n for n in names if n in groups] + [n for n in ("jobs:load-*", "other sources") if n in groups]
    fig = go.Figure()
    # SVG while the points are few enough for it: drawn by every browser (WebGL is often refused on machines
    # without a GPU, and the timeline would be empty) and part of the page's DOM; WebGL for a load run's thousands.
    witness_marks = sum(max(len(w["deliveries"]), 1) for s in doc["sources"] for w in s["witnesses"])
    scatter = go.Scatter if len(deliveries) + min(witness_marks, ANOMALY_MARKERS) <= SVG_POINTS else go.Scattergl
    width = 0.5 / max(len(order), 1)  # each source a little apart within its replica's row
    for i, label in enumerate(order):
        ds = groups[label]
        offset = (i - (len(order) - 1) / 2) * width
        fig.add_trace(
            scatter(
                x=[_ms(int(d["received_ns"])) for d in ds],
                y=[int(d["replica"]) + offset for d in ds],
                mode="markers",
                name=f"{label} ({len(ds)} recorded{_cut_off_words(ds)})",
                marker={"size": 6, "color": PALETTE[i % len(PALETTE)], "symbol": [_symbol(d["status"]) for d in ds]},
                text=[f"{d['name']} → replica {d['replica']},{_answer(d['status'])}" for d in ds],
                hovertemplate="%{x}<br>%{text}<extra></extra>",
            )
        )
    marks: dict[str, dict[str, list[Any]]] = collections.defaultdict(lambda: {"x": [], "y": [], "text": []})
    witnesses: collections.Counter[str] = collections.Counter()
    shown = 0
    for src in doc["sources"]:
        for w in src["witnesses"]:
            if shown >= ANOMALY_MARKERS:
                break
            note = f"{w['kind']} — {src['source']}:{src['name']}<br>{esc(w['note'])}"
            kind = w["kind"]
            witnesses[kind] += 1
            if not w["deliveries"] and w.get("due_ns") is not None:
                m = marks["missed"]
                m["x"].append(_ms(int(w["due_ns"])))
                m["y"].append(-1)
                m["text"].append(note + f"<br>due {words.utc(int(w['due_ns']))}")
                shown += 1
            for d in w["deliveries"]:
                m = marks[kind]
                m["x"].append(_ms(int(d["received_ns"])))
                m["y"].append(int(d["replica"]))
                late = "" if d.get("late_ms") is None else f", {d['late_ms']:+.1f} ms late"
                m["text"].append(f"{note}<br>replica {d['replica']}{late},{_answer(d['status'])}")
                shown += 1
    for kind, m in marks.items():
        fig.add_trace(
            scatter(
                x=m["x"],
                y=m["y"],
                mode="markers",
                name=witness_legend(kind, witnesses[kind], len(m["x"])),
                marker={
                    "size": 16,
                    "color": KIND_COLOUR.get(kind, "#d62728"),
                    "line": {"width": 3, "color": KIND_COLOUR.get(kind, "#d62728")},
                    "symbol": "diamond-open" if kind == "missed" else "circle-open",
                },
                text=m["text"],
                hovertemplate="%{x}<br>%{text}<extra></extra>",
            )
        )
    for i, f in enumerate(doc["faults"]):
        injected, healed = f.get("injected_ns"), f.get("healed_ns")
        if injected is None:
            continue
        end = healed if healed is not None else history.get("observe_end_ns", injected)
        fig.add_shape(
            type="rect",
            xref="x",
            yref="paper",
            x0=_ms(int(injected)),
            x1=_ms(int(end)),
            y0=0,
            y1=1,
            fillcolor="#ffa657",
            opacity=0.25,
            line_width=0,
            layer="below",
            label={"text": fault_label(i, f), "textposition": "top center", "font": {"size": 11}},
        )
    start, end = history.get("observe_start_ns"), history.get("observe_end_ns")
    if start is not None and end is not None:
        for at, what in ((start, "observe start"), (end, "jobs deleted")):
            fig.add_vline(x=_ms(int(at)), line_dash="dot", line_color="#8c959f", opacity=0.7)
            fig.add_annotation(x=_ms(int(at)), y=1, yref="paper", text=what, showarrow=False, yanchor="bottom")
    rows = list(range(-1, replicas))
    fig.update_layout(
        height=260 + 40 * replicas,
        margin={"l": 70, "r": 20, "t": 40, "b": 40},
        xaxis={"type": "date", "title": "UTC (the apps' clock)"},
        yaxis={
            "tickvals": rows,
            "ticktext": ["missed"] + [f"replica {r}" for r in rows[1:]],
            "range": [-1.6, replicas - 0.4],
            "zeroline": False,
        },
        legend={"orientation": "h", "y": -0.25},
        hovermode="closest",
    )
    return fig


def _bar_colours(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return [VERDICT_COLOUR.get(str(s["verdict"]), "#57606a") for s in rows]


def per_occurrence_figure(doc: Mapping[str, Any]) -> go.Figure:
    rows = results.unique_sources(results.shown_sources(doc))
    fig = go.Figure(
        go.Bar(
            x=[short_label(s) for s in rows],
            y=[s["deliveries_per_occurrence"] for s in rows],
            marker_color=_bar_colours(rows),
            text=[words.table_row(s)[5] for s in rows],
            customdata=[[s["deliveries"], s["occurrences"], s["verdict"]] for s in rows],
            hovertemplate="%{x}<br>%{customdata[0]} deliveries / %{customdata[1]} occurrences = %{y}"
            "<br>verdict %{customdata[2]}<extra></extra>",
            name="deliveries per occurrence",
        )
    )
    replicas = max((int(s["replicas"]) for s in rows), default=1)
    fig.add_hline(y=1.0, line_dash="dash", line_color="#1a7f37", annotation_text="1.0: once")
    if replicas > 1:
        fig.add_hline(
            y=replicas, line_dash="dot", line_color="#9a6700", annotation_text=f"{replicas}: every replica fires"
        )
    fig.update_layout(height=360, margin={"t": 30, "b": 80}, yaxis_title="deliveries / occurrence")
    return fig


PERCENTILES = ("p50", "p95", "p99", "max")


def lateness_figure(doc: Mapping[str, Any]) -> go.Figure:
    rows = results.unique_sources(results.shown_sources(doc))
    fig = go.Figure()
    values = []
    for i, p in enumerate(PERCENTILES):
        ys = [s["lateness_ms"][p] for s in rows]
        values += [y for y in ys if y is not None]
        fig.add_trace(
            go.Bar(
                x=[short_label(s) for s in rows],
                y=ys,
                name=p,
                marker_color=PALETTE[i],
                text=[bar_value(y) for y in ys],
                textposition="outside",
                cliponaxis=False,
                hovertemplate=f"%{{x}}<br>{p} %{{y:.1f}} ms<extra></extra>",
            )
        )
    log = bool(values) and min(values) > 0
    decades = log and max(values) / min(values) >= 100  # else a decade per tick leaves one labelled tick, or none
    fig.update_layout(
        barmode="group",
        height=400,
        margin={"t": 60, "b": 80},
        uniformtext={"minsize": 9, "mode": "hide"},  # a value that does not fit its bar is left to the hover
        yaxis={
            "title": "ms (log scale)" if log else "ms",
            "type": "log" if log else "linear",
            "dtick": 1 if decades else None,
        },
        updatemenus=scale_buttons("yaxis", "ms"),
    )
    return fig


def scale_buttons(axis: str, title: str) -> list[dict[str, Any]]:
    """log / linear buttons for ``axis`` (its title follows), top left: the top right is plotly's toolbar."""
    return [
        {
            "type": "buttons",
            "direction": "right",
            "x": 0,
            "xanchor": "left",
            "y": 1.04,
            "yanchor": "bottom",
            "pad": {"t": 0, "b": 0},
            "buttons": [
                {
                    "label": "log",
                    "method": "relayout",
                    "args": [{f"{axis}.type": "log", f"{axis}.title.text": f"{title} (log scale)"}],
                },
                {
                    "label": "linear",
                    "method": "relayout",
                    "args": [{f"{axis}.type": "linear", f"{axis}.title.text": title}],
                },
            ],
        }
    ]


def bar_value(ms: float | None) -> str:
    """A lateness bar's label: one decimal below 100 ms, whole ms with thousands separators above."""
    if ms is None:
        return ""
    return f"{ms:.1f}" if ms < 100 else f"{ms:,.0f}"


def _load_lateness(doc: Mapping[str, Any]) -> list[str]:
    """For a load run: how the jobs' own p50 and p99 are distributed (an ECDF over jobs, from results.json)."""
    load = [s for s in doc["sources"] if str(s["name"]).startswith(LOAD_PREFIX)]
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


def lateness_curves(doc: Mapping[str, Any], lateness: Mapping[str, list[float]]) -> dict[str, list[float]]:
    """``source:name`` -> its sorted lateness samples (ms) for every shown source; the load's jobs as one key."""
    curves: dict[str, list[float]] = {}
    for src in results.unique_sources(results.shown_sources(doc)):
        if str(src["name"]).startswith(LOAD_PREFIX):
            key = f"jobs:{LOAD_PREFIX}*"
            values = [v for k, vs in lateness.items() if k.startswith(f"jobs:{LOAD_PREFIX}") for v in vs]
        else:
            key = results.source_label(src)
            values = list(lateness.get(key, []))
        if values and key not in curves:
            curves[key] = sorted(values)
    return curves


def ecdf_figure(sides: Sequence[tuple[str, Mapping[str, list[float]]]]) -> go.Figure:
    """Cumulative curves of lateness samples: one colour per source; with two sides (old, new) old is dashed."""
    fig = go.Figure()
    keys = list(dict.fromkeys(k for _, curves in sides for k in curves))
    everything = [v for _, curves in sides for vs in curves.values() for v in vs]
    for label, curves in sides:
        for key, xs in curves.items():
            step = max(1, len(xs) // 500)  # ≤ ~500 points per curve, the last always kept
            idx = sorted({*range(0, len(xs), step), len(xs) - 1})
            name = f"{key} ({len(xs)})" if not label else f"{label} {key} ({len(xs)})"
            fig.add_trace(
                go.Scatter(
                    x=[xs[k] for k in idx],
                    y=[(k + 1) / len(xs) for k in idx],
                    mode="lines+markers" if len(xs) <= 60 else "lines",
                    marker={"size": 4},
                    line={"color": PALETTE[keys.index(key) % len(PALETTE)], "dash": "dot" if label == "old" else None},
                    line_shape="hv",
                    name=name,
                    hovertemplate=f"{name}<br>%{{y:.1%}} of occurrences ≤ %{{x:.1f}} ms late<extra></extra>",
                )
            )
    log = bool(everything) and min(everything) > 0 and max(everything) / min(everything) >= 100
    fig.update_layout(
        height=380,
        margin={"t": 40},
        xaxis={"title": "ms late (log scale)" if log else "ms late", "type": "log" if log else "linear"},
        yaxis={"title": "share of occurrences", "range": [0, 1.02]},
        updatemenus=scale_buttons("xaxis", "ms late"),
    )
    return fig


def _lateness_distribution(doc: Mapping[str, Any], lateness: Mapping[str, list[float]]) -> list[str]:
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


def spread_figure(doc: Mapping[str, Any]) -> go.Figure:
    rows = results.unique_sources(results.shown_sources(doc))
    load = [s for s in doc["sources"] if str(s["name"]).startswith(LOAD_PREFIX)]
    load_spread: collections.Counter[str] = collections.Counter()
    for s in load:
        load_spread.update({k: int(v) for k, v in s["per_replica"].items()})

    def spread(s: Mapping[str, Any]) -> Mapping[str, int]:
        return s["per_replica"] or (load_spread if str(s["name"]).startswith(LOAD_PREFIX + "* (") else {})

    replicas = sorted({k for s in rows for k in spread(s)}, key=int)
    fig = go.Figure()
    for r in replicas:
        fig.add_trace(
            go.Bar(
                x=[short_label(s) for s in rows],
                y=[spread(s).get(r, 0) for s in rows],
                name=f"replica {r}",
                marker_color=PALETTE[int(r) % len(PALETTE)],
                hovertemplate=f"%{{x}}<br>replica {r}: %{{y}} deliveries<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack", height=360, margin={"t": 30, "b": 80}, yaxis_title="deliveries")
    return fig


def _witnesses(doc: Mapping[str, Any]) -> str:
    anomalous = [
        s for s in doc["sources"] if s["verdict"] == "fail" or s["witnesses"] or any(s[k] for k in results.ANOMALIES)
    ]
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


def _upgrade(doc: Mapping[str, Any]) -> list[str]:
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


def _actions(doc: Mapping[str, Any]) -> list[str]:
    actions = doc.get("actions", [])
    if not actions:
        return []
    items = "".join(
        f'<li><span class="{esc(a["verdict"])}">{esc(a["verdict"])}</span>: {esc(a["note"])}</li>' for a in actions
    )
    return ["<h2>Actions</h2>", f"<ul>{items}</ul>"]


def _dapr_metrics(doc: Mapping[str, Any]) -> list[str]:
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
        f'<p class="muted">{esc(check["note"])} {esc(dm.counts_line(check))}. In brackets: the ledger range that '
        f"agrees with deliveries in flight at the scrape ({esc(check['in_flight_margin_ms'])} ms before it).</p>",
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>",
    ]


def _notes(doc: Mapping[str, Any]) -> str:
    rows = results.unique_sources(results.shown_sources(doc))
    notes = list(doc["notes"]) + [f"{results.source_label(s)}: {n}" for s in rows for n in s["notes"]]
    return "<ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>" if notes else "<p>None.</p>"


# ---------------------------------------------------------------- comparisons


def write_comparison_html(
    out_dir: Path, comparison: Comparison, old_doc: Mapping[str, Any], new_doc: Mapping[str, Any]
) -> Path:
    """``onceonly compare OLD_RUN NEW_RUN``'s page (``report.html``): the regressions, both verdict tables side by
    side, key figures old vs new, every figure."""
    regs = comparison.regressions
    body = [
        f"<h1>onceonly compare {verdict_badge('fail' if regs else 'pass')}</h1>",
        _threshold_line(comparison),
        *comparison_sections(comparison, old_doc, new_doc, "key-figures"),
    ]
    path = out_dir / REPORT_HTML
    path.write_text(page("onceonly compare", body))
    return path


def write_versions_html(out_dir: Path, title: str, old: str, new: str, pairs: Sequence[VersionPair]) -> Path:
    """``onceonly compare TARGET --dapr OLD --dapr NEW``'s page (``report.html``): an overview row per scenario
    (verdicts, duplicates, missed, worst lateness p99, old → new, and the regressions), then each scenario's
    comparison, old and new side by side."""
    regressions = sum(len(p.comparison.regressions) for p in pairs if p.comparison is not None)
    failed = sum(p.comparison is None for p in pairs)
    if regressions:
        badge = _badge(f"{regressions} regression{'s' if regressions > 1 else ''}", "fail")
    else:
        badge = _badge(f"{failed} run(s) failed", "unknown") if failed else _badge("no regression", "pass")
    columns = ("scenario", "verdict", "duplicates", "missed", "worst lateness p99 ms", "regressions")
    head = "".join(f'<th class="l">{esc(c)}</th>' for c in columns)
    rows = []
    for i, p in enumerate(pairs):
        if p.comparison is None:
            cells = f'<td class="l unknown" colspan="{len(columns) - 1}">run failed: {esc(p.error)}</td>'
        else:
            c = p.comparison
            regs = "<br>".join(esc(r) for r in c.regressions) or "none"
            cells = (
                f'<td class="l"><span class="{esc(c.old_verdict)}">{esc(c.old_verdict)}</span> → '
                f'<span class="{esc(c.new_verdict)}">{esc(c.new_verdict)}</span></td>'
                + "".join(f'<td class="l">{esc(_old_new(c, key))}</td>' for key in _OVERVIEW_FIGURES)
                + f'<td class="l{" reg" if c.regressions else ""}">{regs}</td>'
            )
        rows.append(f'<tr><td class="l"><a href="#s{i}">{esc(p.name)}</a></td>{cells}</tr>')
    body = [
        f"<h1>onceonly compare {esc(title)}: Dapr {esc(old)} → {esc(new)} {badge}</h1>",
        _threshold_line(pairs[0].comparison) if pairs and pairs[0].comparison else "",
        '<p class="muted">One row per scenario, old → new: duplicates and missed summed over its sources, the '
        "worst lateness p99 of its sources. Each scenario's whole comparison follows.</p>",
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>",
    ]
    for i, p in enumerate(pairs):
        body.append(f'<h1 id="s{i}">{esc(p.name)}</h1>')
        if p.comparison is None or p.old_doc is None or p.new_doc is None:
            body.append(f'<p class="unknown">run failed: {esc(p.error)}</p>')
            continue
        body += comparison_sections(p.comparison, p.old_doc, p.new_doc, f"key-figures-{i}")
    path = out_dir / REPORT_HTML
    path.write_text(page(f"onceonly compare {title}", body))
    return path


_OVERVIEW_FIGURES = ("duplicates", "missed", "lateness_p99_ms")


def _old_new(c: Comparison, key: str) -> str:
    """A figure over a comparison's sources, old → new: a sum for counts, the worst for lateness."""

    def agg(side: str) -> float | None:
        values = [getattr(row.figure(key), side) for row in c.rows]
        present = [float(v) for v in values if v is not None]
        if not present:
            return None
        return max(present) if key.startswith("lateness") else sum(present)

    return f"{_fmt(agg('old'))} → {_fmt(agg('new'))}"


def _badge(text: str, verdict: str) -> str:
    colour = VERDICT_COLOUR.get(verdict, "#57606a")
    return f'<span class="badge" style="background:{colour}">{esc(text.upper())}</span>'


def _threshold_line(comparison: Comparison) -> str:
    from harness.oracle.compare import LATENESS_CAVEAT

    return (
        f'<div class="meta">lateness threshold: p99 worse by more than {comparison.lateness_threshold_pct:g}% '
        f"and {comparison.lateness_floor_ms:g} ms. {esc(LATENESS_CAVEAT)}</div>"
    )


def comparison_sections(
    comparison: Comparison, old_doc: Mapping[str, Any], new_doc: Mapping[str, Any], chart_id: str
) -> list[str]:
    """One comparison's parts: regressions, both verdict tables side by side, key-figure bars, every figure."""
    from harness.oracle.compare import KEY_FIGURES

    def side(title: str, doc: Mapping[str, Any], where: str) -> str:
        sc, dapr = doc["scenario"], doc["dapr"]
        return (
            f"<div><h2>{esc(title)}: {esc(sc['name'])} {verdict_badge(doc['verdict'])}</h2>"
            f'<div class="meta">{esc(where)}<br>{esc(words.dapr_line(dapr))}, '
            f"hash <code>{esc(sc['hash'])}</code></div>{verdict_table_html(doc)}</div>"
        )

    regs = comparison.regressions
    reg_html = (
        "<ul>" + "".join(f'<li class="reg">{esc(r)}</li>' for r in regs) + "</ul>"
        if regs
        else '<p class="pass">No regression.</p>'
    )
    warn_html = "".join(f'<p class="unknown">{esc(w)}</p>' for w in comparison.warnings)
    rows = comparison.rows
    fig = make_subplots(rows=2, cols=4, subplot_titles=[label for _, label in KEY_FIGURES])
    for k, (key, _) in enumerate(KEY_FIGURES):
        r, c = divmod(k, 4)
        for which, colour in (("old", "#8c959f"), ("new", "#1f77b4")):
            fig.add_trace(
                go.Bar(
                    x=[row.key for row in rows],
                    y=[row.figure(key).old if which == "old" else row.figure(key).new for row in rows],
                    name=which,
                    marker_color=colour,
                    showlegend=k == 0,
                    legendgroup=which,
                    hovertemplate=f"%{{x}}<br>{which} %{{y}}<extra></extra>",
                ),
                row=r + 1,
                col=c + 1,
            )
    fig.update_layout(barmode="group", height=650, margin={"t": 50})
    return [
        warn_html,
        "<h2>Regressions</h2>",
        reg_html,
        '<div class="cols">',
        side("old", old_doc, comparison.old_dir),
        side("new", new_doc, comparison.new_dir),
        "</div>",
        "<h2>Key figures, old vs new</h2>",
        chart(fig, chart_id),
        *_lateness_old_new(comparison, old_doc, new_doc, f"{chart_id}-lateness"),
        "<h2>Every figure</h2>",
        _comparison_table(comparison),
    ]


def _lateness_old_new(
    comparison: Comparison, old_doc: Mapping[str, Any], new_doc: Mapping[str, Any], chart_id: str
) -> list[str]:
    """Both runs' whole lateness distributions on one chart (old dotted), when both run dirs have lateness.csv."""
    found = [csv_files.read_lateness_csv(Path(d)) if d else None for d in (comparison.old_dir, comparison.new_dir)]
    if found[0] is None or found[1] is None:
        return []
    sides = [("old", lateness_curves(old_doc, found[0])), ("new", lateness_curves(new_doc, found[1]))]
    if not any(curves for _, curves in sides):
        return []
    return [
        "<h2>Lateness distribution, old vs new</h2>",
        '<p class="muted">Every counted occurrence by how late it was delivered (each run\'s lateness.csv); old '
        "dotted, new solid, one colour per source. A curve further right is later; a new tail is a new stall.</p>",
        chart(ecdf_figure(sides), chart_id),
    ]


def _comparison_table(comparison: Comparison) -> str:
    out = ['<table><thead><tr><th class="l">source</th><th class="l">figure</th><th>old</th><th>new</th></tr></thead>']
    for row in comparison.rows:
        for f in row.figures:
            cls = ' class="reg"' if f.regression else ""
            out.append(
                f'<tr{cls}><td class="l">{esc(row.key)}</td><td class="l">{esc(f.name)}</td>'
                f"<td>{esc(_fmt(f.old))}</td><td>{esc(_fmt(f.new))}</td></tr>"
            )
    return "".join(out) + "</table>"


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)
