"""The comparison pages (``report.html`` in a comparison's directory): ``onceonly compare OLD_RUN NEW_RUN``'s
(``write_comparison_html``) and ``onceonly compare TARGET --dapr OLD --dapr NEW``'s (``write_versions_html``, one
section per scenario): regressions (those that gate, and those a baseline waived, with the reason), improvements,
lateness worse without gating, each with its size; both verdict tables side by side, key figures and lateness old vs
new."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from harness.io import csv_files
from harness.oracle.changes import Change
from harness.oracle.compare import KEY_FIGURES, LATENESS_CAVEAT, Comparison
from harness.oracle.results import Results
from harness.oracle.version_comparison import VersionPair
from harness.report import words
from harness.report.html.compare_findings import figures_table, findings_html, fmt
from harness.report.html.figures import ecdf_figure, lateness_curves
from harness.report.html.page import REPORT_HTML, badge, chart, esc, page, verdict_badge, verdict_table_html


def write_comparison_html(out_dir: Path, comparison: Comparison, old_doc: Results, new_doc: Results) -> Path:
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
    (verdicts, duplicates, missed, worst lateness p99, old → new; the regressions that gate, those waived, the
    improvements), then each scenario's comparison, old and new side by side."""
    regressions = sum(len(p.comparison.regressions) for p in pairs if p.comparison is not None)
    failed = sum(p.comparison is None for p in pairs)
    if regressions:
        headline = badge(f"{regressions} regression{'s' if regressions > 1 else ''}", "fail")
    else:
        waived = sum(len(p.comparison.waived) for p in pairs if p.comparison is not None)
        calm = f"no regression ({waived} waived)" if waived else "no regression"
        headline = badge(f"{failed} run(s) failed", "unknown") if failed else badge(calm, "pass")
    columns = (
        "scenario",
        "verdict",
        "duplicates",
        "missed",
        "worst lateness p99 ms",
        "regressions",
        "waived",
        "improvements",
    )
    head = "".join(f'<th class="l">{esc(c)}</th>' for c in columns)
    rows = []
    for i, p in enumerate(pairs):
        if p.comparison is None:
            cells = f'<td class="l unknown" colspan="{len(columns) - 1}">run failed: {esc(p.error)}</td>'
        else:
            c = p.comparison
            cells = (
                f'<td class="l"><span class="{esc(c.old_verdict)}">{esc(c.old_verdict)}</span> → '
                f'<span class="{esc(c.new_verdict)}">{esc(c.new_verdict)}</span></td>'
                + "".join(f'<td class="l">{esc(_old_new(c, key))}</td>' for key in _OVERVIEW_FIGURES)
                + _lines_cell(c.regressions, "reg")
                + _lines_cell([w.line for w in c.waived], "waived")
                + _lines_cell(c.improvements, "pass")
            )
        rows.append(f'<tr><td class="l"><a href="#s{i}">{esc(p.name)}</a></td>{cells}</tr>')
    body = [
        f"<h1>onceonly compare {esc(title)}: Dapr {esc(old)} → {esc(new)} {headline}</h1>",
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


def _lines_cell(items: Sequence[Change | str], cls: str) -> str:
    if not items:
        return '<td class="l">none</td>'
    return f'<td class="l {cls}">' + "<br>".join(esc(i) for i in items) + "</td>"


def _old_new(c: Comparison, key: str) -> str:
    """A figure over a comparison's sources, old → new: a sum for counts, the worst for lateness."""

    def agg(side: str) -> float | None:
        values = [getattr(row.figure(key), side) for row in c.rows]
        present = [float(v) for v in values if v is not None]
        if not present:
            return None
        return max(present) if key.startswith("lateness") else sum(present)

    return f"{fmt(agg('old'))} → {fmt(agg('new'))}"


def _threshold_line(comparison: Comparison) -> str:
    return (
        f'<div class="meta">lateness threshold: p99 worse by more than {comparison.lateness_threshold_pct:g}% '
        f"and {comparison.lateness_floor_ms:g} ms. {esc(LATENESS_CAVEAT)}</div>"
    )


def comparison_sections(comparison: Comparison, old_doc: Results, new_doc: Results, chart_id: str) -> list[str]:
    """One comparison's parts: its findings (regressions, waived, improvements, worse), both verdict tables side by
    side, key-figure bars, every figure."""

    def side(title: str, doc: Results, where: str) -> str:
        sc, dapr = doc["scenario"], doc["dapr"]
        return (
            f"<div><h2>{esc(title)}: {esc(sc['name'])} {verdict_badge(doc['verdict'])}</h2>"
            f'<div class="meta">{esc(where)}<br>{esc(words.dapr_line(dapr))}, '
            f"hash <code>{esc(sc['hash'])}</code></div>{verdict_table_html(doc)}</div>"
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
        *findings_html(comparison),
        '<div class="cols">',
        side("old", old_doc, comparison.old_dir),
        side("new", new_doc, comparison.new_dir),
        "</div>",
        "<h2>Key figures, old vs new</h2>",
        chart(fig, chart_id),
        *_lateness_old_new(comparison, old_doc, new_doc, f"{chart_id}-lateness"),
        "<h2>Every figure</h2>",
        figures_table(comparison),
    ]


def _lateness_old_new(comparison: Comparison, old_doc: Results, new_doc: Results, chart_id: str) -> list[str]:
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
