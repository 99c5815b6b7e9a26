"""A scenario run N times with the same seed (``onceonly run --repeat N``, a suite case's ``repeat:``), its runs'
anomalies as rates (``harness.oracle.rates``).

The set's directory is ``<reports>/<scenario>/<UTC start>-<hash>-x<N>/``: ``run-1/`` ... ``run-N/``, each an
ordinary run dir (``onceonly check`` re-judges it), and ``rates.json`` (rewritten after every run, so an
interrupted set keeps what it has). One run that could not finish is an error of that run, not the end of the set:
the rates are over the runs that finished, and say how many. ``attempt`` is one run whose failure is an outcome,
shared with the suite.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Unpack

from harness.about import onceonly_version
from harness.campaign import experiment
from harness.cluster.local.processes import Interrupted, exit_on_signals
from harness.errors import HarnessError
from harness.io import store
from harness.oracle.rates import Rates, rates
from harness.oracle.results import Results
from harness.scenario.schema import Scenario
from toolchain.binaries import Binaries
from toolchain.selection import SelectionDisplay

RATES_JSON = "rates.json"


class CaseDisplay(SelectionDisplay, Protocol):
    """Shows a campaign's cases (and a set's runs) as they run."""

    def step(self, message: str) -> None: ...

    def running(self, label: str) -> AbstractContextManager[Callable[[str], None]]: ...


@dataclass(frozen=True, slots=True)
class Attempt:
    """One run: judged (``results``) or not finished (``error`` says why; its traceback is in the run dir when
    it was onceonly's own error)."""

    run_dir: Path
    results: Results | None
    error: str = ""
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class RepeatRun:
    set_dir: Path
    attempts: list[Attempt]
    rates: Rates | None  # None when no run finished
    interrupted: bool = False


def attempt(
    sc: Scenario,
    bins: Binaries,
    run_dir: Path,
    seconds: Callable[[], float] = lambda: 0.0,
    **options: Unpack[experiment.RunOptions],
) -> Attempt:
    """Run and judge once; an environment error or onceonly's own is this run's outcome, not the caller's end
    (Ctrl-C and SIGTERM still end it). ``seconds``: the time since the caller's start, read when it ends."""
    try:
        outcome = experiment.run(sc, bins, run_dir, **options)
    except HarnessError as exc:
        return Attempt(run_dir, None, f"error: {exc}", seconds())
    except Exception as exc:  # onceonly's own bug: this run is an error, its traceback kept
        where = store.write_traceback(run_dir, exc)
        return Attempt(run_dir, None, f"internal error: {type(exc).__name__}: {exc} (traceback in {where})", seconds())
    return Attempt(run_dir, outcome.results, "", seconds())


def new_set_dir(reports: Path, sc: Scenario, n: int) -> Path:
    """``<reports>/<scenario>/<UTC start>-<hash>-x<N>``, new and empty."""
    return store.new_run_dir(reports, sc.name, f"{sc.canonical_hash()}-x{n}")


def run_dir_of(set_dir: Path, i: int) -> Path:
    """The ``i``-th run's dir of a set (1-based), made empty; an unhandled error's traceback goes there."""
    path = set_dir / f"run-{i}"
    path.mkdir()
    store.working_in(path)
    return path


def measured(attempts: list[Attempt]) -> Rates | None:
    docs = [a.results for a in attempts if a.results is not None]
    return rates(docs) if docs else None


def write_rates(set_dir: Path, sc: Scenario, planned: int, attempts: list[Attempt]) -> Path:
    """rates.json of a set: what ran, each run's verdict or error, and the rates over the finished runs."""
    found = measured(attempts)
    doc = {
        "onceonly": onceonly_version(),
        "scenario": {"name": sc.name, "hash": sc.canonical_hash(), "seed": sc.seed},
        "planned_runs": planned,
        "runs": [
            {
                "run_dir": a.run_dir.name,
                "verdict": None if a.results is None else a.results["verdict"],
                "error": a.error or None,
            }
            for a in attempts
        ],
        "rates": None if found is None else found.to_dict(),
    }
    path = set_dir / RATES_JSON
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def play_set(
    sc: Scenario,
    n: int,
    set_dir: Path,
    label: str,
    once: Callable[[Path, str], Attempt],
    attempts: list[Attempt],
) -> None:
    """The set's loop, shared by ``run --repeat`` and a suite's rated case: run ``i`` of ``n`` into ``run-<i>/``
    (``once(run_dir, "<label> run i/n")``), each attempt appended to ``attempts`` as it ends and rates.json
    rewritten, so whoever stops the loop keeps every finished run."""
    for i in range(len(attempts) + 1, n + 1):
        attempts.append(once(run_dir_of(set_dir, i), f"{label} run {i}/{n}"))
        write_rates(set_dir, sc, n, attempts)


def run(
    sc: Scenario,
    bins: Binaries,
    n: int,
    reports: Path,
    display: CaseDisplay,
    *,
    toxiproxy: Path | None = None,
    upgrade: Binaries | None = None,
) -> RepeatRun:
    """``onceonly run --repeat N``: run ``sc`` ``n`` times into a new set dir. Ctrl-C or SIGTERM ends the set
    (``interrupted``) with rates.json written over the runs that finished."""
    set_dir = new_set_dir(reports, sc, n)
    attempts: list[Attempt] = []

    def once(run_dir: Path, label: str) -> Attempt:
        display.step(f"{label}: {sc.name} into {run_dir}")
        with display.running(label) as update:
            return attempt(sc, bins, run_dir, progress=update, toxiproxy=toxiproxy, upgrade=upgrade)

    try:
        with exit_on_signals():
            play_set(sc, n, set_dir, sc.name, once, attempts)
    except (KeyboardInterrupt, Interrupted):
        write_rates(set_dir, sc, n, attempts)
        return RepeatRun(set_dir, attempts, measured(attempts), interrupted=True)
    return RepeatRun(set_dir, attempts, measured(attempts))
