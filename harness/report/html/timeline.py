"""The run page's timeline: every delivery by replica, fault windows shaded and labelled, witnesses marked.

The deliveries are history.json's, typed (``harness.io.stage_files.History``), and the document results.json's
(``harness.oracle.results.Results``); a fault window is read as ``Mapping[str, Any]`` (with ``.get``: old runs lack
keys added later).
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from harness.faults.registry import kind_of
from harness.io.stage_files import History
from harness.model import LOAD_PREFIX, Delivery
from harness.oracle import results
from harness.oracle.results import Results
from harness.report import words
from harness.report.html.page import PALETTE, esc

NAMED_TRACES = 10  # timeline: at most this many sources get a trace of their own; the rest share one


ANOMALY_MARKERS = 2000  # timeline: witnesses' deliveries marked, at most (results.json has them all)


SVG_POINTS = 5000  # timeline: drawn as SVG up to this many points, with WebGL (scattergl) above


CUT_OFF_SYMBOL = "hourglass"  # timeline: a delivery with an arrival and no answer (the app died mid-handler)


KIND_COLOUR = {"retry": "#ff7f0e"}  # every other kind (duplicate, missed, early, spurious) red


def _ms(ns: int) -> int:
    """ns since the epoch → ms since the epoch: what a plotly date axis takes as a number (and short in JSON)."""
    return ns // 1_000_000


def fault_label(i: int, f: Mapping[str, Any]) -> str:
    """The short label of a shaded fault window: ``fault #0 kill daprd, replica 2``; what the target is, is said
    the way ``words.fault_line`` says it (a network fault on every member's link: ``all schedulers``); a ``busy``
    target's adds the delivery in flight when it struck: ``…, replica 2, in flight: delivery 9f1c… (jobs j)``."""
    held = words.in_flight_words(f)
    return kind_of(f.get("kind")).label(i, f) + (f", in flight: {held}" if held else "")


def _symbol(status: int | None) -> str:
    """A delivery's marker: a circle answered 2xx, a cross answered otherwise, an hourglass cut off (no answer)."""
    if status is None:
        return CUT_OFF_SYMBOL
    return "circle" if 200 <= int(status) < 300 else "x"


def _answer(status: int | None) -> str:
    return " cut off (no answer)" if status is None else f" answered {status}"


def _cut_off_words(ds: Sequence[Delivery]) -> str:
    cut = sum(d.status is None for d in ds)
    return f", {cut} cut off" if cut else ""


def witness_legend(kind: str, witnesses: int, marked: int) -> str:
    """A witness trace's legend entry: how many anomalies, and how many deliveries are circled for them (a
    duplicate circles the first delivery and the extra one, so the two counts differ)."""
    if kind == "missed" or marked == witnesses:
        return f"{kind}: {witnesses}"
    return f"{kind}: {witnesses} ({marked} deliveries circled)"


def timeline_figure(doc: Results, history: History | None) -> go.Figure:
    """``history``: None for a run dir without history.json (no deliveries drawn, no observation window)."""
    deliveries: Sequence[Delivery] = [] if history is None else history.deliveries
    replicas = max([0 if history is None else history.replicas] + [d.replica + 1 for d in deliveries])
    # One trace per source while there are few; the load's jobs share one, and past NAMED_TRACES the rest too.
    groups: dict[str, list[Delivery]] = collections.defaultdict(list)
    names = [f"{s['source']}:{s['name']}" for s in doc["sources"] if not str(s["name"]).startswith("load-")]
    named = set(names[:NAMED_TRACES])
    owner = results.fanout_owners(doc["sources"])  # a fan-out's members share its trace
    for d in deliveries:
        name = owner.get(d.name, d.name) if d.source == "jobs" else d.name
        label = f"{d.source}:{name}"
        if label not in named:
            label = "jobs:load-*" if d.name.startswith(LOAD_PREFIX) else "other sources"
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
                x=[_ms(d.received_ns) for d in ds],
                y=[d.replica + offset for d in ds],
                mode="markers",
                name=f"{label} ({len(ds)} recorded{_cut_off_words(ds)})",
                marker={"size": 6, "color": PALETTE[i % len(PALETTE)], "symbol": [_symbol(d.status) for d in ds]},
                text=[f"{d.name} → replica {d.replica},{_answer(d.status)}" for d in ds],
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
            due = w.get("due_ns")
            if not w["deliveries"] and due is not None:
                m = marks["missed"]
                m["x"].append(_ms(int(due)))
                m["y"].append(-1)
                m["text"].append(note + f"<br>due {words.utc(int(due))}")
                shown += 1
            for wd in w["deliveries"]:
                m = marks[kind]
                m["x"].append(_ms(int(wd["received_ns"])))
                m["y"].append(int(wd["replica"]))
                late = "" if wd.get("late_ms") is None else f", {wd['late_ms']:+.1f} ms late"
                m["text"].append(f"{note}<br>replica {wd['replica']}{late},{_answer(wd['status'])}")
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
        end = healed if healed is not None else injected if history is None else history.observe_end_ns
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
    if history is not None:
        for at, what in ((history.observe_start_ns, "observe start"), (history.observe_end_ns, "jobs deleted")):
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
