"""The suite's JUnit XML, for CI: one testcase per case, judged against what the case predicts.

- a case whose prediction held is a pass, also when it predicted ``fail`` (a scenario built to provoke a
  duplicate passes when the duplicate is found);
- a prediction that did not hold is a ``<failure>``, with each difference and the run's anomalies;
- a case that could not run (an environment or internal error) is an ``<error>``, never a skip;
- a case whose evidence could not decide (``unknown`` and not predicted) is ``<skipped>`` with the reason;
- a difference a baseline waived (``onceonly suite --baseline``) is a ``waived:`` line with its reason and expiry,
  in the ``<system-out>`` of a case that passed because of it (or in its failure text, beside what still differs).

Properties say what was tested: the suite's onceonly version and Dapr versions, each case's scenario hash, Dapr
versions and run dir. A repeated case (or one with a rate bound) is one testcase for all its runs: its run dir is
the set's, each run's dir a property, each rate bound judged in the text (holds, fails, unknown). When the suite
runs a case, that run dir's own ``junit.xml`` is this same testcase (written by ``harness.campaign.suite``; each run
of a set: that run alone against the prediction), so a ``reports/**/junit.xml`` glob shows the suite's verdicts,
not the per-source failures of a case that predicted them; ``onceonly check`` on such a run dir writes the
per-source view again.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.about import onceonly_version
from harness.scenario.suite import CaseOutcome


def _properties(parent: ET.Element, pairs: list[tuple[str, str]]) -> None:
    props = ET.SubElement(parent, "properties")
    for name, value in pairs:
        ET.SubElement(props, "property", name=name, value=value)


def _waived(o: CaseOutcome) -> str:
    """The differences a baseline waived (``--baseline``): a case whose differences are all waived passes, and
    says so here."""
    return "".join(f"waived: {w}\n" for w in o.waived)


def write_suite_junit(path: Path, suite_name: str, outcomes: list[CaseOutcome]) -> Path:
    counts = {kind: sum(1 for o in outcomes if o.outcome == kind) for kind in ("fail", "error", "unknown")}
    root = ET.Element(
        "testsuite",
        name=suite_name,
        tests=str(len(outcomes)),
        failures=str(counts["fail"]),
        errors=str(counts["error"]),
        skipped=str(counts["unknown"]),
        time=f"{sum(o.seconds for o in outcomes):.1f}",
    )
    daprs = sorted({o.dapr for o in outcomes if o.dapr is not None})
    _properties(
        root,
        [("onceonly", onceonly_version())]
        + [("daprd", ", ".join(sorted({d for d, _ in daprs})))] * bool(daprs)
        + [("scheduler", ", ".join(sorted({s for _, s in daprs})))] * bool(daprs),
    )
    for o in outcomes:
        case = ET.SubElement(root, "testcase", classname=suite_name, name=o.case.name, time=f"{o.seconds:.1f}")
        pairs = [("scenario hash", o.case.scenario.canonical_hash()), ("run dir", str(o.run_dir))]
        if o.dapr is not None:
            pairs += [("daprd", o.dapr[0]), ("scheduler", o.dapr[1])]
        if o.runs:
            pairs += [("runs", str(len(o.runs)))] + [(f"run {i}", str(r.run_dir)) for i, r in enumerate(o.runs, 1)]
        _properties(case, pairs)
        said = f"predicted {o.case.prediction.describe()}; got {o.verdict or 'no verdict'}; run dir {o.run_dir}"
        said += f" ({len(o.runs)} runs)" if o.runs else ""
        rates = "".join(f"rate bound {judged}: {line}\n" for judged, line in o.rate_findings)
        waived = _waived(o)
        if o.outcome == "fail":
            differs = "".join(f"differs: {d}\n" for d in o.differences)
            ET.SubElement(case, "failure", message=said).text = differs + rates + waived + o.detail
        elif o.outcome == "error":
            ET.SubElement(case, "error", message=f"the run did not finish: {o.detail}").text = f"{said}\n{o.detail}"
        elif o.outcome == "unknown":
            why = "".join(f"{d}\n" for d in o.differences) if o.runs else ""
            skipped = ET.SubElement(case, "skipped", message=f"unknown: the evidence cannot decide; {said}")
            skipped.text = why + rates + o.detail
        else:
            ET.SubElement(case, "system-out").text = f"{said}\n{rates}{waived}{o.detail}"
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path
