"""A comparison on the terminal, with rich: every figure old vs new with its change, then the regressions that gate,
the ones a baseline waived (with the reason), the improvements and the lateness that got worse without gating, each
with its size; and a version comparison's overview, one row per scenario."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.oracle.changes import Change, show
from harness.oracle.compare import LATENESS_CAVEAT, Figure
from harness.oracle.waivers import merged

if TYPE_CHECKING:
    from harness.oracle.compare import Comparison
    from harness.oracle.version_comparison import VersionPair

STYLE = {"regression": "bold red", "waived": "magenta", "improvement": "green", "worse": "yellow", "changed": "yellow"}
MOST_LINES = 6  # per cell of the overview; the rest is counted (each scenario's lines were printed as it finished)


def _state(f: Figure, waived: set[str]) -> str:
    if f.regression:
        return "waived" if f.name in waived else "regression"
    if f.kind:
        return f.kind
    return "changed" if f.changed else ""


def comparison_table(result: Comparison, title: str) -> Table:
    table = Table(title=title)
    for col in ("source", "figure", "old", "new", "change"):
        table.add_column(col, justify="left" if col in ("source", "figure", "change") else "right")
    for row in result.rows:
        waived = {w.figure for w in result.waived if w.key == row.key}
        for f in row.figures:
            state = _state(f, waived)
            size = Change(row.key, f.name, f.old, f.new).size if f.changed else ""
            cells = (row.key, f.name, show(f.old), show(f.new), " ".join(x for x in (size, state) if x))
            table.add_row(*(Text(c, style=STYLE.get(state, "")) for c in cells))
    return table


def comparison_lines(result: Comparison) -> list[Text]:
    """The comparison's findings, one line each: warnings, regressions, waived, improvements, worse; the baseline's
    waivers exceeded, expired or unused; a count of each."""
    lines = [Text(f"warning: {w}", style="yellow") for w in result.warnings]
    lines += [Text(f"regression: {r}", style=STYLE["regression"]) for r in result.regressions]
    lines += [Text(f"waived: {w}", style=STYLE["waived"]) for w in result.waived]
    lines += [Text(f"improvement: {i}", style=STYLE["improvement"]) for i in result.improvements]
    lines += [Text(f"worse, not gating: {w}", style=STYLE["worse"]) for w in result.worse]
    if result.baseline is not None:
        lines += [Text(line, style="yellow") for line in result.baseline.lines() if not line.startswith("waived: ")]
    if any(c.figure.startswith("lateness_") for c in (*result.regressions, *(w for w in result.worse))):
        lines.append(Text(f"note: {LATENESS_CAVEAT}", style="yellow"))
    lines.append(
        Text(
            f"{len(result.regressions)} regression(s) that gate, {len(result.waived)} waived, "
            f"{len(result.improvements)} improvement(s)",
            style="bold",
        )
    )
    return lines


def print_comparison(out: Console, result: Comparison, title: str) -> None:
    out.print(comparison_table(result, title))
    for line in comparison_lines(result):
        out.print(line)


def _cell(items: list[str]) -> str:
    if not items:
        return "none"
    shown = items[:MOST_LINES] if len(items) <= MOST_LINES else items[: MOST_LINES - 1]
    more = len(items) - len(shown)
    return "\n".join(shown + [f"... {more} more"] * bool(more))


def versions_table(title: str, pairs: list[VersionPair]) -> Table:
    """One row per scenario: verdicts old and new, its regressions that gate, those waived, its improvements (each
    with its size); the caption counts the baseline's waivers used, exceeded, expired and unused."""
    done = [p.comparison for p in pairs if p.comparison is not None]
    settlement = merged(c.baseline for c in done if c.baseline is not None)
    caption = None
    if settlement is not None:
        caption = (
            f"baseline {settlement.name} ({settlement.path}): waivers used {len(settlement.used)}, exceeded "
            f"{len(settlement.exceeded)}, expired {len(settlement.expired)}, unused {len(settlement.unused)}"
        )
    overview = Table(title=title, caption=caption)
    for col in ("scenario", "old verdict", "new verdict", "regressions", "waived", "improvements"):
        overview.add_column(col, overflow="fold")
    for pair in pairs:
        if pair.comparison is None:
            overview.add_row(pair.name, "-", "-", Text(f"error: {pair.error}", style="red"), "", "")
            continue
        c = pair.comparison
        overview.add_row(
            pair.name,
            c.old_verdict,
            c.new_verdict,
            Text(_cell([str(r) for r in c.regressions]), style=STYLE["regression"] if c.regressions else ""),
            Text(_cell([w.line for w in c.waived]), style=STYLE["waived"] if c.waived else ""),
            Text(_cell([str(i) for i in c.improvements]), style=STYLE["improvement"] if c.improvements else ""),
        )
    return overview
