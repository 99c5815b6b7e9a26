"""``onceonly trend``'s page (``trend.html``): on report.html's shell (plotly.js inline, offline), the latest run of
each scenario and Dapr version against the runs before it (status, flags), then each figure over time, one line per
scenario and Dapr version, a flagged latest run ringed in red. A missing figure is a gap in its line, never 0."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from harness.io.run_index import RunIndex
from harness.report import trend_table as tt
from harness.report.html.page import PALETTE, badge, chart, esc, page

TREND_HTML = "trend.html"
STATUS_COLOUR = {tt.WORSE: "fail", tt.OK: "pass", tt.TOO_FEW: "none"}
FLAG_TRACE = "flagged: worse than the median of the runs before it"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "missing" if math.isnan(value) else f"{value:.1f}".removesuffix(".0")
    return str(value)


def _latest_html(latest: pd.DataFrame) -> str:
    head = ["scenario", "Dapr", "runs", "latest run (UTC)", "verdict"] + [label for _, label in tt.FIGURES]
    rows = []
    for _, g in latest.iterrows():
        verdict = f"{g['verdict']} <span class=muted>({esc(g['verdict_median'] or '-')})</span>"
        figures = [
            f"{esc(_cell(g[c]))} <span class=muted>({esc(_cell(g[c + '_median']))})</span>" for c, _ in tt.FIGURES
        ]
        words = esc(g["flags"] or g["notes"])
        cells = [
            f'<td class="l">{esc(g["scenario"])}</td>',
            f'<td class="l">{esc(g["dapr"])}</td>',
            f"<td>{g['runs']}</td>",
            f'<td class="l">{esc(g["latest_started"].strftime("%Y-%m-%d %H:%M:%S"))}<br>'
            f"<span class=muted>{esc(g['latest_run'])}</span></td>",
            f'<td class="l verdict {esc(g["verdict"])}">{verdict}</td>',
            *[f"<td>{f}</td>" for f in figures],
            f'<td class="l status">{badge(str(g["status"]), STATUS_COLOUR[str(g["status"])])}</td>',
            f'<td class="l">{words}</td>',
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    ths = "".join(f'<th class="l">{esc(h)}</th>' for h in [*head, "status", "flags / notes"])
    return f'<table id="latest"><thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _y(values: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in values]


def figure(runs: pd.DataFrame, latest: pd.DataFrame, column: str, label: str) -> go.Figure:
    """One figure over time: a line per scenario and Dapr version (gaps where missing), flagged latest runs ringed."""
    fig = go.Figure()
    verdict = column == "verdict"
    ringed_x, ringed_y, ringed_text = [], [], []
    for i, ((scenario, dapr), group) in enumerate(runs.groupby(["scenario", "dapr"], sort=True)):
        ys = _y(group["verdict"].map(tt.RANK)) if verdict else _y(group[column])
        x = group["started"].dt.strftime("%Y-%m-%d %H:%M:%S").tolist()
        fig.add_trace(
            go.Scatter(
                x=x,
                y=ys,
                mode="lines+markers",
                name=f"{scenario} · Dapr {dapr}",
                line={"color": PALETTE[i % len(PALETTE)]},
                customdata=[[r, v] for r, v in zip(group["run"], group["verdict"], strict=True)],
                hovertemplate=f"%{{x}}<br>{esc(label)} %{{y}}<br>%{{customdata[0]}} (%{{customdata[1]}})"
                "<extra></extra>",
                connectgaps=False,
            )
        )
        row = latest[(latest["scenario"] == scenario) & (latest["dapr"] == dapr)].iloc[0]
        if column in str(row["flagged"]).split(",") and ys[-1] is not None:
            ringed_x.append(x[-1])
            ringed_y.append(ys[-1])
            ringed_text.append(f"{scenario} · Dapr {dapr}: {row['flags']}")
    if ringed_x:
        fig.add_trace(
            go.Scatter(
                x=ringed_x,
                y=ringed_y,
                mode="markers",
                name=FLAG_TRACE,
                marker={"symbol": "circle-open", "size": 18, "color": "#cf222e", "line": {"width": 3}},
                text=ringed_text,
                hovertemplate="%{text}<extra></extra>",
            )
        )
    layout: dict[str, Any] = {"height": 340, "margin": {"t": 30, "b": 60}, "yaxis_title": label}
    if verdict:
        layout["yaxis"] = {"tickvals": list(tt.VERDICTS), "ticktext": list(tt.VERDICTS.values()), "range": [-0.3, 2.3]}
    fig.update_layout(**layout, legend={"orientation": "h", "y": -0.25}, xaxis_title="run started (UTC)")
    return fig


def _missing_note(runs: pd.DataFrame, column: str) -> str:
    n = int(runs[column].isna().sum()) if column != "verdict" else 0
    return f'<p class="muted">{n} run(s) without this figure (older results.json, or none measured): gaps.</p>' * (
        n > 0
    )


def render(index: RunIndex, runs: pd.DataFrame, latest: pd.DataFrame, rule: tt.Rule) -> str:
    flagged = int((latest["status"] == tt.WORSE).sum())
    headline = badge(f"{flagged} flagged", "fail") if flagged else badge("nothing flagged", "pass")
    span = f"{runs['started'].min():%Y-%m-%d %H:%M} to {runs['started'].max():%Y-%m-%d %H:%M} UTC"
    skipped = "".join(f"<li><code>{esc(s.path)}</code>: {esc(s.reason)}</li>" for s in index.skipped)
    body = [
        f"<h1>onceonly trend {headline}</h1>",
        f'<div class="meta"><b>{len(runs)}</b> run(s) of <b>{len(latest)}</b> scenario and Dapr version(s) under '
        f"<code>{esc(index.folder)}</code>, {esc(span)}<br>{esc(rule.words())}.</div>",
        *([f"<h2>Skipped ({len(index.skipped)})</h2><ul>{skipped}</ul>"] if index.skipped else []),
        "<h2>Latest run against the runs before it</h2>",
        '<p class="muted">each figure: the latest run, the median of the runs before it in brackets.</p>',
        _latest_html(latest),
    ]
    for column, label in [*tt.FIGURES, ("verdict", "verdict")]:
        body += [
            f"<h2>{esc(label)}</h2>",
            chart(figure(runs, latest, column, label), f"trend-{column}"),
            _missing_note(runs, column),
        ]
    return page("onceonly trend", body)


def write_trend_html(out_dir: Path, index: RunIndex, runs: pd.DataFrame, latest: pd.DataFrame, rule: tt.Rule) -> Path:
    path = out_dir / TREND_HTML
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render(index, runs, latest, rule))
    tmp.replace(path)
    return path
