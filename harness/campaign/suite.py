"""A suite run: every case's binaries found or built first, then each case run and judged in turn
(``harness.campaign.experiment``), its outcome against the case's prediction, the suite's JUnit XML rewritten
after every case (an interrupted suite keeps its results). Progress goes to a ``SuiteDisplay``; nothing here
draws or exits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.campaign import binaries, repeat
from harness.campaign import gate as gates
from harness.campaign.repeat import CaseDisplay
from harness.cluster.local.processes import Interrupted, exit_on_signals
from harness.io import store
from harness.oracle.gate import Gate
from harness.report.junit import JUNIT_XML
from harness.report.suite_junit import write_suite_junit
from harness.scenario import suite as suites
from toolchain.binaries import Binaries
from toolchain.selection import prepare_fault_proxy


class SuiteDisplay(CaseDisplay, Protocol):
    def case_done(self, outcome: suites.CaseOutcome) -> None: ...


@dataclass(frozen=True, slots=True)
class SuitePlan:
    """A suite ready to run: its cases, validated, and each case's binaries (and its upgrade's), all built."""

    name: str
    cases: list[suites.Case]
    binaries: list[tuple[Binaries, Binaries | None]]
    proxy: Path | None  # toxiproxy-server, when a case has network faults
    gate: Gate | None = None  # --baseline: its waivers accept prediction differences

    @property
    def daprds(self) -> list[str]:
        return sorted({b.daprd_version for b, _ in self.binaries})


@dataclass(frozen=True, slots=True)
class SuiteRun:
    outcomes: list[suites.CaseOutcome]
    interrupted: bool  # Ctrl-C or SIGTERM: the cases run so far are kept (and in the JUnit XML)


def prepare(
    suite_file: Path,
    only: list[str] | None,
    skip: list[str] | None,
    version: str | None,
    bin_dir: Path | None,
    display: CaseDisplay,
    *,
    override: bool = False,
    repeat: int = 1,
    baseline: Path | None = None,
) -> SuitePlan:
    """Load the suite (every scenario validated before anything starts) and the baseline, then find or build every
    case's binaries before the first case; ``repeat``: runs of each case that does not say. Raises the errors of
    ``load_suite``, ``gate.gate`` and ``binaries.case_binaries``."""
    name, cases = suites.load_suite(suite_file, only, skip, repeat)
    gate = baseline_gate(suite_file, baseline)
    for c in cases:
        note = binaries.override_note(c.scenario, version, bin_dir)
        if note is not None and override:
            display.step(f"note: {note}; running it on that anyway ({binaries.OVERRIDE_FLAG})")
    plans = [binaries.case_binaries(c.scenario, version, bin_dir, display, override=override) for c in cases]
    proxy = prepare_fault_proxy(display) if any(c.scenario.needs_fault_proxy for c in cases) else None
    return SuitePlan(name, cases, plans, proxy, gate)


def baseline_gate(suite_file: Path, baseline: Path | None) -> Gate | None:
    """The ``--baseline`` file, checked against every case of the suite (not only those --only / --skip keep)."""
    if baseline is None:
        return None
    _, every = suites.load_suite(suite_file)
    return gates.gate(gates.DEFAULT_LATENESS, baseline, {c.name: c.scenario for c in every}, suite_file)


def run(plan: SuitePlan, reports: Path, junit: Path, display: SuiteDisplay) -> SuiteRun:
    """Run every case in turn into ``reports``; a case whose run fails (an environment error, or onceonly's own:
    its traceback goes to the case's run dir) is an ``error`` outcome, not the end. A rated case (repeated, or with a
    rate bound) runs as a set (``harness.campaign.repeat``): its runs and rates.json in one set dir."""
    outcomes: list[suites.CaseOutcome] = []
    cases = plan.cases
    try:
        with exit_on_signals():
            for i, (case, (bins, upgrade)) in enumerate(zip(cases, plan.binaries, strict=True), 1):
                runs = f", {case.repeat} runs" if case.repeat > 1 else ""
                display.step(f"[{i}/{len(cases)}] {case.name} (predicts {case.prediction.describe()}{runs})")
                outcome = _case(case, bins, upgrade, plan, reports, display)
                outcomes.append(outcome)
                display.case_done(outcome)
                if outcome.run_dir is not None and not case.rated:  # the run dir's JUnit: the suite's view
                    write_suite_junit(outcome.run_dir / JUNIT_XML, plan.name, [outcome])
                write_suite_junit(junit, plan.name, outcomes)  # after every case: an interrupted suite keeps them
    except (KeyboardInterrupt, Interrupted):
        write_suite_junit(junit, plan.name, outcomes)
        return SuiteRun(outcomes, interrupted=True)
    return SuiteRun(outcomes, interrupted=False)


def _case(
    case: suites.Case,
    bins: Binaries,
    upgrade: Binaries | None,
    plan: SuitePlan,
    reports: Path,
    display: SuiteDisplay,
) -> suites.CaseOutcome:
    t0 = time.monotonic()

    def once(run_dir: Path, label: str) -> tuple[suites.CaseOutcome, repeat.Attempt]:
        with display.running(label) as update:
            done = repeat.attempt(
                case.scenario,
                bins,
                run_dir,
                progress=update,
                toxiproxy=plan.proxy,
                upgrade=upgrade,
                seconds=lambda: time.monotonic() - t0,
            )
        if done.results is None:
            return suites.CaseOutcome(case, None, run_dir, done.seconds, done.error), done
        return suites.CaseOutcome.judged(case, done.results, run_dir, done.seconds, gate=plan.gate), done

    if not case.rated:
        return once(store.new_run_dir(reports, case.scenario.name, case.scenario.canonical_hash()), case.name)[0]
    set_dir = repeat.new_set_dir(reports, case.scenario, case.repeat)
    runs: list[suites.CaseOutcome] = []
    attempts: list[repeat.Attempt] = []

    def each(run_dir: Path, label: str) -> repeat.Attempt:
        run_outcome, done = once(run_dir, label)
        runs.append(run_outcome)
        write_suite_junit(run_dir / JUNIT_XML, f"{case.name} run {len(runs)}", [run_outcome])
        return done

    repeat.play_set(case.scenario, case.repeat, set_dir, case.name, each, attempts)
    docs = [a.results for a in attempts if a.results is not None]
    return suites.CaseOutcome.over_runs(case, runs, docs, set_dir, time.monotonic() - t0)
