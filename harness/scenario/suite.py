"""A suite: a list of scenarios, each with what its oracle predicts, run one after another.

```yaml
name: regression
cases:
  - scenario: jobs-vs-cron.yaml          # relative to the suite file
    set: [observe.duration=20s]          # optional --set overrides
    predict: pass                        # the verdict the scenario states it should get (default pass)
  - scenario: kill-daprd-mid-handler.yaml
    predict: {verdict: fail, duplicates: ">=1", missed: 0, early: 0, spurious: 0}   # and the anomalies
  - scenario: network-ack-loss.yaml
    predict:
      verdict: fail
      sources: {job-a: {verdict: fail, duplicates: ">=1", missed: 0}, job-fan: {duplicates: ">=1"}}
  - scenario: scheduler-restart.yaml
    repeat: 5                            # five runs (same seed): a race decides whether a duplicate happens
    predict: {verdict: [pass, unknown], missed: 0, duplicates_per_1000: "<=50"}
```

``predict`` (``harness.scenario.prediction``): the verdict, or a mapping with the run's verdict and counts (summed over
sources) and per-source verdicts and counts. A case passes when everything predicted holds: a scenario built to
provoke a duplicate predicts ``fail`` and the duplicate, and the suite checks that the checker flags that anomaly,
not just any. A case whose verdict matches but whose counts do not fails, naming each difference
(``job-a duplicates: predicted >=1, got 0``). Every prediction is checked against its scenario's sources before
anything starts. One JUnit test case per scenario, with the differences and the run's anomalies in the failure
text. The suite's exit code is the worst case outcome.

``repeat`` (or ``onceonly suite --repeat N`` for the cases that do not say) runs a case N times with the same seed:
the verdict and counts are held against every run, rate bounds (``duplicates_per_1000``) against the rates over
all of them (``harness.oracle.rates``), and the case's outcome is the worst of these by the exit-code precedence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from harness.errors import OUTCOME_EXIT, ExitCode, InputError, overall
from harness.model import Verdict, worst
from harness.oracle.baseline import RUN
from harness.oracle.gate import Gate
from harness.oracle.rates import Judged, Rates, rates
from harness.oracle.results import Results, WitnessDeliveryDoc
from harness.oracle.waivers import Waived
from harness.scenario.baseline import waive_differences
from harness.scenario.loader import load_scenario
from harness.scenario.prediction import Prediction, PredictionError, parse
from harness.scenario.schema import Scenario


class SuiteError(InputError):
    pass


class SuiteCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: str
    set: list[str] = Field(default_factory=list)
    predict: JsonValue = "pass"  # harness.scenario.prediction checks it, against the scenario's sources
    repeat: int | None = Field(default=None, ge=1, le=1000)  # runs of this case; None: --repeat's (default 1)


class SuiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    cases: list[SuiteCase] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    path: Path
    scenario: Scenario
    prediction: Prediction
    repeat: int = 1

    @property
    def rated(self) -> bool:
        """Whether the case is judged over a set of runs (repeated, or with a rate bound even on one run)."""
        return self.repeat > 1 or self.prediction.has_rates

    @property
    def predict(self) -> Verdict:
        """The predicted verdict of the run."""
        return self.prediction.verdict


Outcome = Literal["pass", "fail", "unknown", "error"]


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    case: Case
    verdict: Verdict | None  # None: the run did not finish (an environment or internal error, in ``detail``)
    run_dir: Path | None
    seconds: float
    detail: str  # anomalies, or the error
    differences: tuple[str, ...] = ()  # how the run differs from the prediction (verdict and counts)
    dapr: tuple[str, str] | None = None  # (daprd, scheduler) versions the run had, from its results.json
    runs: tuple[CaseOutcome, ...] = ()  # a rated case: each run's own outcome; run_dir is then the set's dir
    rates: Rates | None = None  # a rated case: the rates over its finished runs
    rate_findings: tuple[tuple[Judged, str], ...] = ()  # each rate bound: holds, fails or unknown, and why
    waived: tuple[Waived, ...] = ()  # differences a baseline's waiver accepted, each with its reason and expiry

    @classmethod
    def judged(
        cls, case: Case, results: Results, run_dir: Path, seconds: float, *, gate: Gate | None = None
    ) -> CaseOutcome:
        """The outcome of a case whose run was judged (``results``: its results.json document); with a baseline
        (``gate``), the differences its waivers accept are ``waived``, not ``differences``."""
        found = case.prediction.differing(results)
        differences, waived = waive_differences(gate, case.name, found)
        verdict = cast(Verdict, results["verdict"])  # one of pass, fail, unknown (results_document's)
        dapr = results.get("dapr")
        versions = None if dapr is None else (str(dapr.get("daprd")), str(dapr.get("scheduler")))
        detail = anomalies_text(results)
        return cls(case, verdict, run_dir, seconds, detail, tuple(differences), versions, waived=tuple(waived))

    @property
    def verdict_waived(self) -> bool:
        """A baseline's waiver accepted the run's verdict (``source: run``, or ``*``, ``figure: verdict``)."""
        return any(w.key == RUN and w.figure == "verdict" for w in self.waived)

    @classmethod
    def over_runs(
        cls, case: Case, runs: list[CaseOutcome], docs: list[Results], set_dir: Path, seconds: float
    ) -> CaseOutcome:
        """A rated case's outcome from its runs (``docs``: the results.json of those that finished)."""
        measured = rates(docs) if docs else None
        findings = () if measured is None else tuple(case.prediction.rate_findings(measured))
        finished = [r.verdict for r in runs if r.verdict is not None]
        verdict = worst(finished) if finished else None
        differences = [f"run {i}: {d}" for i, r in enumerate(runs, 1) for d in r.differences]
        differences += [f"{line} ({judged})" for judged, line in findings if judged != "holds"]
        detail = "\n".join(
            ([] if measured is None else [f"{k.describe()}" for k in measured.run.kinds if k.events])
            + [
                f"run {i} ({r.verdict or 'error'}): {r.run_dir}" + (f": {r.detail}" if r.verdict is None else "")
                for i, r in enumerate(runs, 1)
            ]
        )
        dapr = next((r.dapr for r in runs if r.dapr is not None), None)
        waived = tuple(w for r in runs for w in r.waived)
        return cls(
            case, verdict, set_dir, seconds, detail, tuple(differences), dapr, tuple(runs), measured, findings, waived
        )

    @property
    def outcome(self) -> Outcome:
        """pass when everything predicted held (or a baseline waived what did not); error when the run did not
        finish; unknown when the run could not judge (and unknown was neither predicted nor waived); fail otherwise,
        also when the verdict held and a predicted count did not. A rated case: the worst of its runs' outcomes and
        its rate bounds' (a bound whose interval straddles it is unknown) by the exit-code precedence."""
        if self.runs:
            words: list[Outcome] = [r.outcome for r in self.runs]
            words += [_RATE_OUTCOME[judged] for judged, _ in self.rate_findings]
            code = overall(OUTCOME_EXIT[w] for w in words)
            return next(w for w in words if OUTCOME_EXIT[w] == code) if words else "pass"
        if self.verdict is None:
            return "error"
        if self.verdict not in self.case.prediction.run.verdicts and not self.verdict_waived:
            return "unknown" if self.verdict == "unknown" else "fail"
        return "fail" if self.differences else "pass"


_RATE_OUTCOME: dict[Judged, Outcome] = {"holds": "pass", "fails": "fail", "unknown": "unknown"}


def exit_code(outcomes: list[CaseOutcome]) -> ExitCode:
    """The suite's exit code: its cases' outcomes by ``harness.errors.PRECEDENCE`` (an unmet prediction 1, a
    case that could not run 4, an undecided one 2, else 0)."""
    return overall(OUTCOME_EXIT[o.outcome] for o in outcomes)


def load_suite(
    path: Path, only: list[str] | None = None, skip: list[str] | None = None, repeat: int = 1
) -> tuple[str, list[Case]]:
    """Load and validate the suite and every scenario in it (all before anything starts); ``repeat``: the runs of
    each case that does not say (a case's own ``repeat:`` is part of what it predicts, and wins)."""
    try:
        raw = yaml.safe_load(path.read_text())
        suite = SuiteFile.model_validate(raw)
    except FileNotFoundError:
        raise SuiteError(f"{path}: no such suite file") from None
    except (yaml.YAMLError, ValidationError) as exc:
        raise SuiteError(f"{path}: not a valid suite: {exc}") from None
    cases: list[Case] = []
    problems: list[str] = []
    for i, entry in enumerate(suite.cases):
        scenario_path = (path.parent / entry.scenario).resolve()
        scenario = load_scenario(scenario_path, entry.set)
        sources = [j.name for j in scenario.sources.jobs] + [b.name for b in scenario.sources.bindings]
        try:
            prediction = parse(entry.predict, f"cases.{i}.predict", scenario.name, sources)
        except PredictionError as exc:
            problems += [f"{path}: {line}" for line in exc.lines]
            continue
        runs = entry.repeat if entry.repeat is not None else repeat
        cases.append(Case(scenario.name, scenario_path, scenario, prediction, runs))
    if problems:
        raise SuiteError("\n".join(problems))
    names = [c.name for c in cases]
    for wanted in (only or []) + (skip or []):
        if wanted not in names:
            raise SuiteError(f"{path}: no scenario named {wanted!r} in the suite; scenarios: {', '.join(names)}")
    if only:
        cases = [c for c in cases if c.name in only]
    if skip:
        cases = [c for c in cases if c.name not in skip]
    return suite.name, cases


def anomalies_text(results: Results) -> str:
    lines = []
    for src in results.get("sources", []):
        counts = ", ".join(f"{k}={src[k]}" for k in ("duplicates", "missed", "early", "spurious") if src.get(k))
        lines.append(
            f"{src['source']}:{src['name']} ({src['policy']}) {src['verdict']}{': ' + counts if counts else ''}"
        )
        for w in src.get("witnesses", [])[:3]:
            lines.append(f"  {w['kind']}: {w.get('note', '')}")
            lines += [f"    {_delivery_words(d)}" for d in w.get("deliveries", [])[:6]]
    return "\n".join(lines)


def _delivery_words(d: WitnessDeliveryDoc) -> str:
    """One delivery of a witness, as the suite's evidence shows it: enough to tell a re-send from a late first try
    without the run dir (a CI log may be all that is left of a run)."""
    late = d["late_ms"]
    answer = "cut off" if d["cut_off"] else f"answered {d['status']}"
    lateness = "" if late is None else f", {abs(late):.0f} ms {'after' if late >= 0 else 'before'} its due"
    return f"delivery {d['delivery_id']} to replica {d['replica']} at {d['received_ns']} ns{lateness}, {answer}"
