"""The terminal's verdict: the rich table of sources, the job actions and the metrics cross-check under it, and
(``-v``) every witness."""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text

from harness.oracle import crosscheck
from harness.oracle.rates import KINDS, Rates, figure
from harness.oracle.results import Results, shown_sources, source_label
from harness.report.words import anomaly_counts, fault_context, startup_lines, table_row, witness_line

VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "unknown": "bold yellow"}


# The same columns for a terminal, abbreviated so the table fits about 120 columns (see reports/README.md).
TABLE_HEADERS = (
    "source",
    "name",
    "repl.",
    "occur.",
    "deliv.",
    "deliv./\noccur.",
    "dup.",
    "retries",
    "missed",
    "early",
    "spur.",
    "late ms\np50 / p99",
    "effects\nnaive/idem.",
    "policy",
    "verdict",
)


def verdict_table(doc: Results) -> Table:
    """The terminal verdict: one row per source, the verdict coloured."""
    verdict = doc["verdict"]
    title = Text.assemble(
        f"onceonly {doc['scenario']['name']} on daprd {doc['dapr']['daprd']}: ",
        (verdict.upper(), VERDICT_STYLE.get(verdict, "bold")),
    )
    table = Table(title=title, box=box.SIMPLE_HEAVY, show_edge=False, padding=(0, 0))  # one space between columns
    for col in TABLE_HEADERS:
        table.add_column(col, justify="left" if col in ("source", "name", "policy", "verdict") else "right")
    for src in shown_sources(doc):
        *cells, last = table_row(src, foreign="app" in doc)
        table.add_row(*cells, Text(last, style=VERDICT_STYLE.get(last, "")))
    return table


def action_lines(doc: Results) -> list[Text]:
    """One line per mid-run job action under the table: its verdict (coloured) and what Dapr answered."""
    return [
        Text.assemble((f"{a['verdict']:>7} ", VERDICT_STYLE.get(a["verdict"], "")), a["note"])
        for a in doc.get("actions", [])
    ]


def own_app_lines(doc: Results) -> list[Text]:
    """A user's own app: each replica's start-up schedule call and what it did to the plan."""
    app = doc.get("app")
    return [Text(f"start-up: {line}") for line in startup_lines(app)[1:]] if app else []


def dapr_metrics_lines(doc: Results) -> list[Text]:
    """Under the verdict table: the cross-check in one line, then each disagreement (a warning, not a verdict)."""
    check = doc.get("dapr_metrics")
    if check is None:
        return []
    counts = check["counts"]
    style = "yellow" if counts["disagree"] else ""
    lines = [Text(f"Dapr's own metrics vs the ledger: {crosscheck.counts_line(check)}", style=style)]
    lines += [
        Text(f"  warning: disagree: {crosscheck.row_line(r)}", style="yellow")
        for r in check["rows"]
        if r["status"] == "disagree"
    ]
    return lines


def rates_table(title: str, measured: Rates) -> Table:
    """Repeated runs as rates: per row (the run, then each source), each anomaly kind per 1,000 occurrences with
    its 95% interval, and in how many runs it happened."""
    verdicts = ", ".join(f"{n} {v}" for v, n in measured.verdicts)
    table = Table(title=f"{title}: {measured.runs} run(s) ({verdicts}); per 1,000 occurrences [95% interval]")
    table.add_column("source", overflow="fold")
    table.add_column("occur.", justify="right")
    for kind in KINDS:
        table.add_column(kind, justify="right")
    for row in (measured.run, *measured.sources):
        cells = []
        for k in row.kinds:
            rate = "-" if k.per_1000 is None else f"{figure(k.per_1000)} {k.interval}"
            cells.append(Text(f"{rate}\n{k.runs_with}/{k.runs} runs", style="red" if k.events else ""))
        table.add_row(row.name, str(row.occurrences), *cells)
    return table


def witness_lines(doc: Results) -> list[Text]:
    """Every witness results.json holds, source by source (``-v``; summary.md shows the first few of each)."""
    lines = []
    for src in doc["sources"]:
        if not src["witnesses"]:
            continue
        head = f"{source_label(src)} ({src['policy']}, {src['verdict']}): {anomaly_counts(src)}"
        lines.append(Text(head, style=VERDICT_STYLE.get(src["verdict"], "")))
        lines += [Text(f"  {witness_line(w)}{fault_context(w, doc['faults'])}") for w in src["witnesses"]]
    return lines
