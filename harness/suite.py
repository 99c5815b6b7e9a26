"""A suite: a list of scenarios, each with the verdict its oracle predicts, run one after another.

```yaml
name: regression
cases:
  - scenario: jobs-vs-cron.yaml          # relative to the suite file
    set: [observe.duration=20s]          # optional --set overrides
    predict: pass                        # the verdict the scenario states it should get (default pass)
```

A case passes when the run's verdict is the predicted one: a scenario built to provoke a duplicate predicts
``fail`` under exactly-once, and the suite checks that the checker does flag it. One JUnit test case per
scenario, with the run's anomalies in the failure text. The suite's exit code is the worst case outcome.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import InputError
from harness.model import Verdict
from harness.scenario import Scenario
from harness.scenario_loader import load_scenario


class SuiteError(InputError):
    pass


class SuiteCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: str
    set: list[str] = Field(default_factory=list)
    predict: Literal["pass", "fail", "unknown"] = "pass"


class SuiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    cases: list[SuiteCase] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    path: Path
    scenario: Scenario
    predict: Verdict


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    case: Case
    verdict: Verdict | None  # None: the run crashed (environment error)
    run_dir: Path | None
    seconds: float
    detail: str  # anomalies, or the error

    @property
    def outcome(self) -> Verdict:
        """pass when the prediction held; unknown when the run could not judge; fail otherwise."""
        if self.verdict == self.case.predict:
            return "pass"
        return "unknown" if self.verdict in (None, "unknown") else "fail"


def load_suite(path: Path, only: list[str] | None = None, skip: list[str] | None = None) -> tuple[str, list[Case]]:
    """Load and validate the suite and every scenario in it (all before anything starts)."""
    try:
        raw = yaml.safe_load(path.read_text())
        suite = SuiteFile.model_validate(raw)
    except FileNotFoundError:
        raise SuiteError(f"{path}: no such suite file") from None
    except (yaml.YAMLError, ValidationError) as exc:
        raise SuiteError(f"{path}: not a valid suite: {exc}") from None
    cases: list[Case] = []
    for entry in suite.cases:
        scenario_path = (path.parent / entry.scenario).resolve()
        scenario = load_scenario(scenario_path, entry.set)
        cases.append(Case(scenario.name, scenario_path, scenario, entry.predict))
    names = [c.name for c in cases]
    for wanted in (only or []) + (skip or []):
        if wanted not in names:
            raise SuiteError(f"{path}: no scenario named {wanted!r} in the suite; scenarios: {', '.join(names)}")
    if only:
        cases = [c for c in cases if c.name in only]
    if skip:
        cases = [c for c in cases if c.name not in skip]
    return suite.name, cases


def anomalies_text(results: dict[str, Any]) -> str:
    lines = []
    for src in results.get("sources", []):
        counts = ", ".join(f"{k}={src[k]}" for k in ("duplicates", "missed", "early", "spurious") if src.get(k))
        lines.append(
            f"{src['source']}:{src['name']} ({src['policy']}) {src['verdict']}{': ' + counts if counts else ''}"
        )
        for w in src.get("witnesses", [])[:3]:
            lines.append(f"  {w['kind']}: {w.get('note', '')}")
    return "\n".join(lines)


def write_junit(path: Path, suite_name: str, outcomes: list[CaseOutcome]) -> None:
    failures = sum(1 for o in outcomes if o.outcome == "fail")
    skipped = sum(1 for o in outcomes if o.outcome == "unknown")
    total = sum(o.seconds for o in outcomes)
    root = ET.Element(
        "testsuite",
        name=suite_name,
        tests=str(len(outcomes)),
        failures=str(failures),
        skipped=str(skipped),
        time=f"{total:.1f}",
    )
    for o in outcomes:
        case = ET.SubElement(root, "testcase", classname=suite_name, name=o.case.name, time=f"{o.seconds:.1f}")
        said = f"predicted {o.case.predict}, got {o.verdict or 'no verdict (error)'}; run dir {o.run_dir}"
        if o.outcome == "fail":
            ET.SubElement(case, "failure", message=said).text = o.detail
        elif o.outcome == "unknown":
            ET.SubElement(case, "skipped", message=said).text = o.detail
        else:
            ET.SubElement(case, "system-out").text = f"{said}\n{o.detail}"
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def worst(outcomes: list[CaseOutcome]) -> Verdict:
    kinds = {o.outcome for o in outcomes}
    return "fail" if "fail" in kinds else "unknown" if "unknown" in kinds else "pass"
