"""The run and comparison pages' bar and distribution charts: deliveries per occurrence, lateness percentiles,
the spread across replicas, and cumulative lateness curves (lateness.csv).

Each figure takes the whole document typed (``harness.oracle.results.Results``); the rows it draws are read as
``Mapping[str, Any]``: ``shown_sources`` folds a load run's jobs into one row that is not a ``SourceDoc``."""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from harness.model import LOAD_PREFIX
from harness.oracle import results
from harness.oracle.results import Results
from harness.report import words
from harness.report.html.page import PALETTE, VERDICT_COLOUR


def short_label(src: Mapping[str, Any]) -> str:
    """A source's label for chart axes: ``jobs:name``; the load aggregate as ``jobs:load-* (N jobs)``."""
    name = str(src["name"])
    if name.startswith(LOAD_PREFIX + "* ("):
        name = name.split(":", 1)[0] + ")"
    return f"{src['source']}:{name}"


def _bar_colours(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return [VERDICT_COLOUR.get(str(s["verdict"]), "#57606a") for s in rows]


def per_occurrence_figure(doc: Results) -> go.Figure:
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


def lateness_figure(doc: Results) -> go.Figure:
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


def spread_figure(doc: Results) -> go.Figure:
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


def lateness_curves(doc: Results, lateness: Mapping[str, list[float]]) -> dict[str, list[float]]:
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
