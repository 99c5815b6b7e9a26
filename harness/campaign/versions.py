"""A version comparison (``onceonly compare TARGET --dapr OLD --dapr NEW``): every scenario of TARGET (a suite's
cases, or one scenario) run on the old Dapr then on the new one (same seed), each pair compared figure by figure
(``harness.oracle.compare``) under the gate (lateness rule, and a baseline's thresholds and waivers:
``harness.oracle.gate``); comparison.json and report.html rewritten after every scenario (an interrupted
comparison keeps what it has). Progress goes to a ``VersionsDisplay``; nothing here draws or exits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from harness.campaign import binaries, experiment
from harness.campaign import gate as gates
from harness.campaign.repeat import CaseDisplay
from harness.cluster.local.processes import Interrupted, exit_on_signals
from harness.errors import HarnessError, InputError
from harness.io import store
from harness.io.stage_files import read_results
from harness.oracle import compare as comparing
from harness.oracle.gate import Gate
from harness.oracle.results import Results
from harness.oracle.version_comparison import VersionPair, versions_document
from harness.report.html.compare import write_comparison_html, write_versions_html
from harness.scenario import suite as suites
from harness.scenario.loader import load_scenario
from harness.scenario.schema import Scenario
from toolchain.binaries import Binaries
from toolchain.selection import prepare_fault_proxy
from toolchain.versions import UnknownVersionError, lookup


class VersionsDisplay(CaseDisplay, Protocol):
    def compared(self, result: comparing.Comparison, title: str) -> None: ...


@dataclass(frozen=True, slots=True)
class VersionsPlan:
    """A comparison ready to run: its scenarios, validated, and each one's binaries on both sides, all built."""

    target_file: Path
    old: str
    new: str
    cases: list[tuple[str, Scenario]]
    sides: list[list[tuple[Binaries, Binaries | None]]]  # [old, new], each per case
    proxy: Path | None

    @property
    def labels(self) -> list[str]:
        return [f"old-{self.sides[0][0][0].daprd_version}", f"new-{self.sides[1][0][0].daprd_version}"]


@dataclass(frozen=True, slots=True)
class VersionsRun:
    pairs: list[VersionPair]
    page: Path  # the comparison's report.html
    interrupted: bool


def compare_runs(old_run: Path, new_run: Path, gate: Gate) -> tuple[comparing.Comparison, Results, Results]:
    """Two finished runs compared offline (``onceonly compare OLD_RUN NEW_RUN``) under ``gate``: the comparison and
    both results.json documents; ``InputError`` when either is not a judged run."""
    old_doc, new_doc = read_results(old_run), read_results(new_run)
    result = gate.compare(old_doc, new_doc, old_dir=str(old_run), new_dir=str(new_run))
    return result, old_doc, new_doc


def gate_for(target_file: Path, baseline: Path | None, lateness: tuple[float, float]) -> Gate:
    """The gate of a version comparison: ``lateness`` (threshold %, floor ms), and the baseline checked against
    every scenario of TARGET (``BaselineError``, exit 3, before anything is built)."""
    if baseline is None:
        return Gate(*lateness)
    return gates.gate(lateness, baseline, dict(cases_of(target_file)), target_file)


def write_runs_comparison(target: Path, result: comparing.Comparison, old_doc: Results, new_doc: Results) -> Path:
    """comparison.json and report.html of two runs compared, in ``target``; the page's path."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "comparison.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return write_comparison_html(target, result, old_doc, new_doc)


def cases_of(path: Path) -> list[tuple[str, Scenario]]:
    """The scenarios of TARGET: a suite file's cases (with their overrides), or the one scenario."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (TARGET is a scenario or suite file)") from None
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot be read as YAML: {exc}") from None
    if isinstance(raw, dict) and "cases" in raw:
        _, cases = suites.load_suite(path)
        return [(c.name, c.scenario) for c in cases]
    sc = load_scenario(path, ())
    return [(sc.name, sc)]


def dapr_arg(value: str) -> tuple[str | None, Path | None]:
    """--dapr's value: a binaries directory when one exists at that path, else a version."""
    path = Path(value).expanduser()
    if path.is_dir():
        return None, path
    try:
        return lookup(value).version, None
    except UnknownVersionError as exc:
        raise InputError(f"--dapr {value}: neither a directory nor a known version ({exc})") from None


def prepare(target_file: Path, old: str, new: str, display: VersionsDisplay) -> VersionsPlan:
    """Validate every scenario, then find or build both sides' binaries, before anything is started."""
    cases = []
    for name, sc in cases_of(target_file):
        if sc.dapr.upgrades:  # never silently run as a 1.x -> 1.x "upgrade" on one side
            display.step(f"{name}: left out: it upgrades Dapr itself, and a comparison runs each scenario on one Dapr")
        else:
            cases.append((name, sc))
    if not cases:
        raise InputError(f"{target_file}: no scenario to compare (a rolling upgrade compares versions by itself)")
    (old_v, old_dir), (new_v, new_dir) = dapr_arg(old), dapr_arg(new)
    # the two --dapr are an explicit override of every scenario's own version
    sides = [
        [binaries.case_binaries(sc, old_v, old_dir, display, override=True) for _, sc in cases],
        [binaries.case_binaries(sc, new_v, new_dir, display, override=True) for _, sc in cases],
    ]
    proxy = prepare_fault_proxy(display) if any(sc.needs_fault_proxy for _, sc in cases) else None
    return VersionsPlan(target_file, old, new, cases, sides, proxy)


def run(plan: VersionsPlan, gate: Gate, target: Path, display: VersionsDisplay) -> VersionsRun:
    """Run every scenario on both sides into ``target/<label>/``, each pair compared under ``gate``."""
    pairs: list[VersionPair] = []
    cases, labels = plan.cases, plan.labels

    def write() -> Path:
        target.mkdir(parents=True, exist_ok=True)
        doc = versions_document(str(plan.target_file), plan.old, plan.new, gate, pairs)
        (target / "comparison.json").write_text(json.dumps(doc, indent=2) + "\n")
        return write_versions_html(target, plan.target_file.name, plan.old, plan.new, pairs)

    try:
        with exit_on_signals():
            for i, (name, sc) in enumerate(cases):
                docs: list[Results] = []
                dirs: list[Path] = []
                error = ""
                for side, label in enumerate(labels):
                    bins, upgrade = plan.sides[side][i]
                    run_dir = store.new_run_dir(target / label, sc.name, sc.canonical_hash())
                    dirs.append(run_dir)
                    display.step(f"[{i + 1}/{len(cases)}] {name} on daprd {bins.daprd_version} ({label})")
                    try:
                        with display.running(f"{name} on {bins.daprd_version}") as update:
                            outcome = experiment.run(
                                sc, bins, run_dir, progress=update, toxiproxy=plan.proxy, upgrade=upgrade
                            )
                        docs.append(outcome.results)
                    except HarnessError as exc:
                        error = f"{label}: {exc}"
                        break
                    except Exception as exc:  # onceonly's own bug: this scenario is an error, traceback kept
                        where = store.write_traceback(run_dir, exc)
                        error = f"{label}: internal error: {type(exc).__name__}: {exc} (traceback in {where})"
                        break
                if error:
                    pairs.append(VersionPair(name, None, error=error))
                else:
                    result = gate.compare(docs[0], docs[1], old_dir=str(dirs[0]), new_dir=str(dirs[1]))
                    pairs.append(VersionPair(name, result, docs[0], docs[1]))
                    display.compared(result, f"{name}: {result.old_verdict} → {result.new_verdict}")
                write()  # after every scenario: an interrupted comparison keeps what it has
    except (KeyboardInterrupt, Interrupted):
        return VersionsRun(pairs, write(), interrupted=True)
    return VersionsRun(pairs, write(), interrupted=False)


def read_comparison(target: Path) -> dict[str, Any]:
    """The comparison.json ``run`` (re)wrote into ``target``, as a document (what ``--json`` prints)."""
    doc: dict[str, Any] = json.loads((target / "comparison.json").read_text())
    return doc
