"""``onceonly run --repeat N`` on the command line: the set run, each run's verdict, the rates table, the final
line and, with ``--json``, the set's summary (its rates.json with the exit code). The exit code is the worst of the
runs by the exit-code precedence (an anomaly 1, a run that could not finish 4, an undecided run 2), 130 when
interrupted."""

from __future__ import annotations

import json
from pathlib import Path

from rich.text import Text

from harness.campaign import repeat
from harness.cli_output import Output
from harness.errors import OUTCOME_EXIT, ExitCode, overall
from harness.report import json_summary
from harness.report.terminal_results import rates_table
from harness.scenario.schema import Scenario
from toolchain.binaries import Binaries


def run_set(
    mode: Output, sc: Scenario, bins: Binaries, upgrade: Binaries | None, proxy: Path | None, n: int, reports: Path
) -> ExitCode:
    mode.info(f"scenario {sc.name} ({sc.canonical_hash()}), {n} runs (seed {sc.seed}) on daprd {bins.daprd_version}")
    done = repeat.run(sc, bins, n, reports, mode.display(), toxiproxy=proxy, upgrade=upgrade)
    for i, a in enumerate(done.attempts, 1):
        said = a.error if a.results is None else f"verdict {a.results['verdict']}"
        mode.show(Text(f"run {i}: {said}  ({a.run_dir})"))
    if done.rates is not None:
        mode.show(rates_table(sc.name, done.rates))
    rates_json = done.set_dir / repeat.RATES_JSON
    if done.interrupted:
        mode.console.print(f"interrupted; the cluster was stopped. Runs so far in {done.set_dir}", highlight=False)
        code = ExitCode.INTERRUPTED
    else:
        runs = [
            ExitCode.ENVIRONMENT if a.results is None else OUTCOME_EXIT[a.results["verdict"]] for a in done.attempts
        ]
        code = overall(runs)
    verdicts = ", ".join("error" if a.results is None else a.results["verdict"] for a in done.attempts)
    mode.final(f"{len(done.attempts)} of {n} run(s): {verdicts}; rates in {rates_json}")
    mode.emit(lambda: json_summary.set_summary(json.loads(rates_json.read_text()), done.set_dir, code))
    return code
