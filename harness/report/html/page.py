"""The page every report.html is built on: the shell (CSS and plotly.js inline), escaping, a chart's div, the
verdict badge and the verdict table.

A page works offline: plotly.js is inlined once, no ``<script src>``, no stylesheet link, no fetch; fixed div ids
and no time of writing keep the same run's page the same bytes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from harness.oracle import results
from harness.oracle.results import Results
from harness.report import words

REPORT_HTML = "report.html"


VERDICT_COLOUR = {"pass": "#1a7f37", "fail": "#cf222e", "unknown": "#9a6700"}


PALETTE = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#aec7e8", "#98df8a")


PLOT_CONFIG = {"displaylogo": False, "responsive": True}


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1f2328;max-width:1400px}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #d0d7de;padding:.2rem .45rem;text-align:right}
th{background:#f6f8fa}td.l,th.l{text-align:left}.verdict{font-weight:700;text-transform:uppercase}
.pass{color:#1a7f37}.fail{color:#cf222e}.unknown{color:#9a6700}.reg{color:#cf222e;font-weight:700}
.waived{color:#8250df}
.badge{display:inline-block;padding:.1rem .6rem;border-radius:.3rem;color:#fff;font-weight:700}
.meta{font-size:.9rem;line-height:1.5}.muted{color:#656d76;font-size:.85rem}code{font-size:.85rem}
.cols{display:flex;flex-wrap:wrap;gap:1rem}.cols>div{flex:1 1 auto;overflow-x:auto}li{margin:.15rem 0}
"""


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
    return badge(verdict, verdict)


def badge(text: str, verdict: str) -> str:
    colour = VERDICT_COLOUR.get(verdict, "#57606a")
    return f'<span class="badge" style="background:{colour}">{esc(text.upper())}</span>'


def verdict_table_html(doc: Results) -> str:
    """summary.md's table: one row per shown source (a load run's jobs folded), the verdict coloured."""
    head = "".join(
        f'<th class="{"l" if c in ("source", "name", "policy", "verdict") else ""}">{esc(c)}</th>'
        for c in words.COLUMNS
    )
    rows = []
    for src in results.shown_sources(doc):
        cells = words.table_row(src, foreign="app" in doc)
        tds = [f'<td class="l">{esc(c)}</td>' for c in cells[:2]]
        tds += [f"<td>{esc(c)}</td>" for c in cells[2:-2]]
        tds += [f'<td class="l">{esc(cells[-2])}</td>', f'<td class="l verdict {esc(cells[-1])}">{esc(cells[-1])}</td>']
        rows.append("<tr>" + "".join(tds) + "</tr>")
    if not rows:
        rows.append(f'<tr><td class="l" colspan="{len(words.COLUMNS)}">no source</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
