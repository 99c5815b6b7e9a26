"""What the CLI draws on the terminal, with rich: a build's progress bars, the spinner and countdown of a run,
the per-case lines of a suite or a version comparison, and the tables (binaries, a cluster kept up, a suite, a
comparison). The consoles are the caller's; progress goes to the one on stderr, never stdout.

``Verbosity`` (``-q`` / ``-v``, ``harness.cli_output``): ``quiet`` draws no progress (a countdown still waits),
``verbose`` prints each progress step as a line instead of a transient spinner."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

from rich.console import Console, Group
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from harness.oracle.results import Results
from harness.report.terminal_compare import print_comparison, versions_table
from harness.report.terminal_results import rates_table

RATE_STYLE = {"holds": "green", "fails": "red", "unknown": "yellow"}

__all__ = [
    "RichDisplay",
    "binaries_table",
    "print_comparison",
    "print_results",
    "suite_evidence",
    "suite_table",
    "versions_table",
]

if TYPE_CHECKING:
    from pathlib import Path

    from harness.cluster.local.cluster import LocalCluster
    from harness.oracle.compare import Comparison
    from harness.scenario.suite import CaseOutcome
    from toolchain.binaries import Candidate

Verbosity = Literal["quiet", "normal", "verbose"]


class RichBuildReporter:
    """Draws a build's progress: one bar per binary, counting packages compiled (cached ones are skipped)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def step(self, message: str) -> None:
        if not self.progress.disable:  # quiet
            self.progress.console.print(f"  {message}")

    def packages(self, binary: str, total: int) -> None:
        self.tasks[binary] = self.progress.add_task(f"compile {binary}", total=total)

    def compiled(self, binary: str, package: str) -> None:
        self.progress.update(self.tasks[binary], advance=1, description=f"compile {binary}: {package[-48:]}")


class RichDisplay:
    """Draws the progress of binary selection, builds and a campaign's cases: messages and spinners on
    ``console`` (stderr), tables on ``out`` (stdout, or stderr when stdout carries JSON); as ``verbosity`` says."""

    def __init__(self, console: Console, out: Console, verbosity: Verbosity = "normal") -> None:
        self.console = console
        self.out = out
        self.verbosity = verbosity

    def say(self, message: str) -> None:
        if self.verbosity != "quiet":
            self.console.print(message)

    def step(self, message: str) -> None:
        if self.verbosity != "quiet":
            self.console.print(message, highlight=False)

    @contextmanager
    def building(self) -> Iterator[RichBuildReporter]:
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        quiet = self.verbosity == "quiet"
        with Progress(*columns, console=self.console, transient=False, disable=quiet) as progress:
            yield RichBuildReporter(progress)

    @contextmanager
    def waiting(self, message: str) -> Iterator[object]:
        if self.verbosity != "normal":
            self.step(message)
            yield None
            return
        with self.console.status(message) as status:
            yield status

    @contextmanager
    def running(self, label: str) -> Iterator[Callable[[str], None]]:
        if self.verbosity != "normal":
            yield lambda message: self.step(f"  {label}: {message}")
            return
        with self.console.status(label) as status:
            yield status.update

    def case_done(self, outcome: CaseOutcome) -> None:
        if self.verbosity == "quiet":
            return
        for line in outcome.differences:
            self.console.print(Text(f"  differs: {line}", style="red"))
        for waived in outcome.waived:
            self.console.print(Text(f"  waived: {waived}", style="cyan"))
        if outcome.rates is not None:
            self.out.print(rates_table(f"{outcome.case.name} ({outcome.outcome})", outcome.rates))
            for judged, line in outcome.rate_findings:
                self.console.print(Text(f"  rate bound {judged}: {line}", style=RATE_STYLE[judged]))
        if self.verbosity == "verbose" and outcome.detail:
            self.console.print(Text("\n".join(f"  {line}" for line in outcome.detail.splitlines())))

    def compared(self, result: Comparison, title: str) -> None:
        if self.verbosity != "quiet":
            print_comparison(self.out, result, title)

    def cluster_ready(self, cluster: LocalCluster, run_dir: Path, env_file: Path, endpoints: dict[str, object]) -> None:
        """``onceonly up``'s table of processes and endpoints, and how to reach them."""
        table = Table(title=f"onceonly cluster ready in {cluster.ready_seconds:.1f} s (app-id {cluster.spec.app_id})")
        for col in ("process", "endpoints"):
            table.add_column(col)
        table.add_row("redis", str(endpoints["redis"]))
        for m in cluster.schedulers:
            table.add_row(m.name, f"grpc {m.address}  healthz :{m.healthz_port}  metrics :{m.metrics_port}")
        for r in cluster.replicas.values():
            table.add_row(f"replica {r.index}", f"dapr {r.dapr_http}  app {r.app_url}  metrics :{r.metrics_port}")
        self.out.print(table)
        self.out.print(
            f"Tokens are in {env_file} (mode 0600). Try:\n"
            f"  set -a; . {env_file}; set +a\n"
            '  curl -H "dapr-api-token: $DAPR_API_TOKEN" $DAPR_HTTP_ENDPOINT/v1.0/metadata\n'
            f"Logs: {run_dir}/logs/. Ctrl-C stops everything.",
            highlight=False,
        )


@contextmanager
def run_progress(
    console: Console, verbosity: Verbosity = "normal"
) -> Iterator[tuple[Callable[[str], None], Callable[[str, float], None]]]:
    """One run's progress line: ``say(message)``, and ``countdown(label, seconds)`` that waits with a bar (verbose:
    each a line; quiet: nothing shown, the countdown still waits)."""
    if verbosity != "normal":

        def line(message: str) -> None:
            if verbosity == "verbose":
                console.print(message, highlight=False)

        def wait(label: str, seconds: float) -> None:
            line(f"{label} ({seconds:.0f} s)")
            time.sleep(seconds)

        yield line, wait
        return
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("starting", total=None)

        def say(message: str) -> None:
            progress.update(task, description=message)

        def countdown(label: str, seconds: float) -> None:
            progress.update(task, description=f"{label} ({seconds:.0f} s)", total=seconds, completed=0)
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                time.sleep(min(0.25, left))
                progress.update(task, completed=seconds - max(0.0, end - time.monotonic()))
            progress.update(task, total=None)

        yield say, countdown


def print_results(out: Console, results: Results, verbose: bool = False) -> None:
    """A judged run's verdict table, its actions' and Dapr's counters' lines; ``verbose``: every witness too."""
    from harness.report.terminal_results import (
        action_lines,
        dapr_metrics_lines,
        own_app_lines,
        verdict_table,
        witness_lines,
    )

    out.print(verdict_table(results))
    for line in [
        *own_app_lines(results),
        *action_lines(results),
        *dapr_metrics_lines(results),
        *(witness_lines(results) if verbose else []),
    ]:
        out.print(line)


def binaries_table(version: str, rows: list[Candidate]) -> Table:
    """``onceonly dapr which``: every candidate directory, its versions, and the one a run would use."""
    table = Table(title=f"Dapr binaries for {version}")
    for col in ("use", "source", "directory", "daprd --version", "scheduler (start-up log)", "note"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(
            "→" if row.used else "",
            row.source,
            str(row.directory),
            row.versions["daprd"] or "-",
            row.versions["scheduler"] or "-",
            row.note,
        )
    return table


def suite_table(name: str, daprds: list[str], outcomes: list[CaseOutcome]) -> Table:
    table = Table(title=f"suite {name} on daprd {', '.join(daprds)}")
    for col in ("scenario", "predicted", "verdict", "outcome", "differences", "seconds", "run dir"):
        table.add_column(col, overflow="fold")
    for outcome in outcomes:
        runs = f"\n{len(outcome.runs)} runs: " + ", ".join(str(r.verdict) for r in outcome.runs) if outcome.runs else ""
        table.add_row(
            outcome.case.name,
            outcome.case.prediction.describe(),
            f"{outcome.verdict}{runs}",
            outcome.outcome,
            "\n".join(outcome.differences),
            f"{outcome.seconds:.0f}",
            str(outcome.run_dir),
        )
    return table


def suite_evidence(outcomes: list[CaseOutcome]) -> Text | None:
    """Each case that did not hold, after the table: its run dir, how it differs and the anomalies' witnesses. The
    last lines of a CI log may be all a reader gets of a failed suite (its run dirs gone with the clone)."""
    lines: list[str] = []
    for o in outcomes:
        if o.outcome == "pass":
            continue
        lines.append(f"{o.case.name}: {o.outcome} ({o.run_dir})")
        lines += [f"  differs: {d}" for d in o.differences]
        lines += [f"  {line}" for line in o.detail.splitlines()]
    return Text("\n".join(["evidence of the cases that did not hold:", *lines])) if lines else None


def suite_view(name: str, daprds: list[str], outcomes: list[CaseOutcome]) -> Group:
    """What a suite prints at its end: the table, then the evidence of each case that did not hold."""
    evidence = suite_evidence(outcomes)
    return Group(suite_table(name, daprds, outcomes), *([] if evidence is None else [evidence]))
