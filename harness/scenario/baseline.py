"""A baseline file (``--baseline FILE`` of ``onceonly compare`` and ``onceonly suite``; the format is in
``harness.oracle.baseline``) read and checked before anything is built or started, and a suite case's prediction
differences held against it.

Problems are ``BaselineError`` (exit 3), one line each naming the file and the field path, as the scenario
loader's: ``b.yaml: waivers.0.figure: 'dupes' is not a figure (did you mean 'duplicates'?); ...``. Against the
scenarios it will be applied to, a waiver or threshold naming a scenario that is not one of them, or a source its
scenario does not have, is refused the same way, naming the ones there are.

In a suite, a waiver accepts a case's prediction difference on a count (``duplicates``, ``missed``, ...) of its
scenario and source when the run's value is at most ``up_to``, and a verdict difference when the waiver names
``figure: verdict`` and the run's verdict is one of ``up_to``. A run-level prediction is a sum over the sources: its
key is ``run`` (a waiver's ``source: run`` or ``*``), and ``up_to`` bounds the sum.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import ValidationError

from harness.errors import InputError
from harness.model import LOAD_PREFIX
from harness.oracle.baseline import RUN, Baseline, Waiver, source_matches
from harness.oracle.gate import Gate
from harness.oracle.waivers import Finding, Waived
from harness.scenario.loader import field_errors, parse_yaml
from harness.scenario.prediction import Difference
from harness.scenario.schema import Scenario, ScenarioError, show


class BaselineError(InputError):
    """A baseline file that cannot be used: one line per problem, each naming the file and the field."""


def load_baseline(path: Path) -> Baseline:
    """Read and validate a baseline file. Raises ``BaselineError``."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(
            f"{where}: no such file (--baseline takes a baseline YAML file, e.g. "
            "scenarios/baselines/dapr-1.16.0-to-1.18.2.yaml)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{where}: cannot read it: {exc}") from None
    try:
        data = parse_yaml(text, where)
    except ScenarioError as exc:
        raise BaselineError(str(exc)) from None
    if data is None:
        raise BaselineError(f"{where}: the file is empty: a baseline needs a name, and waivers or thresholds")
    if not isinstance(data, dict):
        raise BaselineError(f"{where}: expected a mapping with name, waivers and thresholds, got {show(data)}")
    try:
        return Baseline.model_validate(data)
    except ValidationError as exc:
        raise BaselineError(field_errors(exc, where, root=Baseline)) from None


def source_keys(scenario: Scenario) -> list[str]:
    """The keys a comparison gives the scenario's sources (``jobs:job-a``, ``binding:tick``, ``jobs:load-*``)."""
    keys = [f"jobs:{j.name}" for j in scenario.sources.jobs] + [f"binding:{b.name}" for b in scenario.sources.bindings]
    return keys + [f"jobs:{LOAD_PREFIX}*"] * (scenario.workload.load is not None)


def check_scenarios(baseline: Baseline, path: Path, scenarios: Mapping[str, Scenario], target: Path) -> None:
    """Every scenario and source the baseline names is one of ``target``'s (a scenario or suite file)."""
    names = list(scenarios)
    problems = []

    def unknown(here: str, name: str) -> str:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return (
            f"{path}: {here}.scenario: {name!r} is not a scenario of {target}{hint}; its scenarios: {', '.join(names)}"
        )

    for i, w in enumerate(baseline.waivers):
        sc = scenarios.get(w.scenario)
        if sc is None:
            problems.append(unknown(f"waivers.{i}", w.scenario))
            continue
        keys = [RUN, *source_keys(sc)]
        if not any(source_matches(w.source, k) for k in keys):
            problems.append(
                f"{path}: waivers.{i}.source: {w.source!r} is not a source of scenario {w.scenario}; "
                f"give one of {', '.join(keys)}, or *"
            )
    problems += [
        unknown(f"thresholds.{i}", t.scenario) for i, t in enumerate(baseline.thresholds) if t.scenario not in scenarios
    ]
    if problems:
        raise BaselineError("\n".join(problems))


def waive_differences(gate: Gate | None, scenario: str, found: Sequence[Difference]) -> tuple[list[str], list[Waived]]:
    """A suite case's differences held against the baseline, if any: (the ones that stand, each noting a waiver
    exceeded or expired; the ones waived, each with its waiver's reason and expiry)."""
    if gate is None or gate.baseline is None:
        return [d.text for d in found], []
    findings = [Finding(d.source or RUN, d.figure, d.got, d.text) for d in found]
    outcomes, _ = gate.settle(scenario, findings)
    stand = [f"{d.text} [{o}]" if o else d.text for d, o in zip(found, outcomes, strict=True) if isinstance(o, str)]
    waived = [
        Waived(f.line, o, f.key, f.figure) for f, o in zip(findings, outcomes, strict=True) if isinstance(o, Waiver)
    ]
    return stand, waived
