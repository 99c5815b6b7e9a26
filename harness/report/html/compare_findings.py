"""A comparison's findings on its page: the regressions that gate, those a baseline waived (each with its reason
and expiry) and how the baseline's waivers fared, the improvements, lateness worse without gating, each with its
size; and the table of every figure with its change."""

from __future__ import annotations

from collections.abc import Sequence

from harness.oracle.changes import Change
from harness.oracle.compare import Comparison, Figure
from harness.report.html.page import esc

_CLASS = {"regression": "reg", "waived": "waived", "improvement": "pass", "worse": "unknown"}


def _list(items: Sequence[object], cls: str) -> str:
    return "<ul>" + "".join(f'<li class="{cls}">{esc(i)}</li>' for i in items) + "</ul>"


def findings_html(comparison: Comparison) -> list[str]:
    c = comparison
    if c.regressions:
        regs = _list(c.regressions, "reg")
    else:
        regs = '<p class="pass">No regression' + (" that gates." if c.waived else ".") + "</p>"
    parts = ["<h2>Regressions</h2>", regs]
    if c.baseline is not None:
        b = c.baseline
        parts += [
            f"<h2>Waived by the baseline {esc(b.name)}</h2>",
            f'<p class="muted">{esc(b.path)}: each regression a waiver accepts, with its reason; it does not fail '
            "the comparison.</p>",
            _list(c.waived, "waived") if c.waived else '<p class="muted">None waived.</p>',
            *(f'<p class="unknown">{esc(line)}</p>' for line in b.lines() if not line.startswith("waived: ")),
        ]
    parts += [
        "<h2>Improvements</h2>",
        _list(c.improvements, "pass") if c.improvements else '<p class="muted">None.</p>',
    ]
    if c.worse:
        parts += [
            "<h2>Worse, not gating</h2>",
            '<p class="muted">Lateness p50 and max worse by the lateness rule: shown, never a regression (one run '
            "each side: a single delivery is the max).</p>",
            _list(c.worse, "unknown"),
        ]
    return parts


def _state(key: str, f: Figure, waived: set[tuple[str, str]]) -> str:
    if f.regression and (key, f.name) in waived:
        return "waived"
    return f.kind


def figures_table(comparison: Comparison) -> str:
    """Every figure of every source, old and new, its change and what the rule made of it."""
    waived = {(w.key, w.figure) for w in comparison.waived}
    head = '<th class="l">source</th><th class="l">figure</th><th>old</th><th>new</th><th class="l">change</th>'
    out = [f"<table><thead><tr>{head}</tr></thead>"]
    for row in comparison.rows:
        for f in row.figures:
            state = _state(row.key, f, waived)
            cls = f' class="{_CLASS[state]}"' if state else ""
            size = Change(row.key, f.name, f.old, f.new).size if f.changed else ""
            change = " ".join(x for x in (size, state) if x)
            out.append(
                f'<tr{cls}><td class="l">{esc(row.key)}</td><td class="l">{esc(f.name)}</td>'
                f'<td>{esc(fmt(f.old))}</td><td>{esc(fmt(f.new))}</td><td class="l">{esc(change)}</td></tr>'
            )
    return "".join(out) + "</table>"


def fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)
