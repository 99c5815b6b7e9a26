"""junit.xml: one testcase per source (and per checked job action) for CI.

It takes the whole document typed (``harness.oracle.results.Results``); ``_action_label`` reads an action as
``Mapping[str, Any]`` (an ``ActionDoc`` is one).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.io import store
from harness.model import rank, worst
from harness.oracle.results import Results, shown_sources, source_label, unique_sources
from harness.report.words import COLUMNS, WITNESSES_SHOWN, anomaly_counts, table_row, witness_line

JUNIT_XML = "junit.xml"


def _action_label(a: Mapping[str, Any]) -> str:
    return f"action:{a['index']}:{a['op']}:{a['job']}"


def write_junit(run_dir: Path, doc: Results, suite_name: str) -> Path:
    """One testcase per source ("jobs:name"): <failure> for fail, <skipped> for unknown, nothing for pass.

    A testcase "run" is added when there is no source, or when the run's verdict is worse than every source's
    (for example the checker said "unknown" for the run as a whole), so CI never shows green for a run that was not.
    """
    cases: list[tuple[str, str, str, str]] = []  # (name, verdict, message, text)
    for src in unique_sources(shown_sources(doc)):
        shown = [witness_line(w) for w in src["witnesses"][:WITNESSES_SHOWN]]
        figures = "  ".join(f"{c}={v}" for c, v in zip(COLUMNS[2:-1], table_row(src)[2:-1], strict=True))
        text = "\n".join([figures, *shown, *src["notes"]])
        message = f"{anomaly_counts(src)} (policy {src['policy']})"
        if src["verdict"] == "unknown":
            message = "; ".join(src["notes"]) or "evidence incomplete"
        cases.append((source_label(src), src["verdict"], message, text))
    for a in doc.get("actions", []):
        if a["expect_status"] is not None:
            cases.append((_action_label(a), a["verdict"], a["note"], a["note"]))
    if not cases or rank(doc["verdict"]) > rank(worst([c[1] for c in cases])):
        cases.append(("run", doc["verdict"], "; ".join(doc["notes"]) or f"run verdict {doc['verdict']}", ""))
    root = ET.Element("testsuites", name="onceonly")
    suite = ET.SubElement(root, "testsuite", name=suite_name, errors="0")
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("verdict", doc["verdict"]),
        ("daprd", doc["dapr"]["daprd"]),
        ("scheduler", doc["dapr"]["scheduler"]),
        ("scenario", doc["scenario"]["name"]),
        ("scenario_hash", doc["scenario"]["hash"]),
    ):
        ET.SubElement(props, "property", name=key, value=str(value))
    for name, verdict, message, text in cases:
        case = ET.SubElement(suite, "testcase", classname=f"onceonly.{suite_name}", name=name)
        if verdict == "fail":
            ET.SubElement(case, "failure", message=message, type="anomaly").text = text
        elif verdict != "pass":
            ET.SubElement(case, "skipped", message=message)
        if text and verdict != "fail":  # a failure already carries the figures
            ET.SubElement(case, "system-out").text = text
    counts = {
        "tests": len(cases),
        "failures": sum(c[1] == "fail" for c in cases),
        "skipped": sum(c[1] not in ("pass", "fail") for c in cases),
    }
    for element in (root, suite):
        for key, n in counts.items():
            element.set(key, str(n))
    ET.indent(root)
    path = run_dir / JUNIT_XML
    store.write_text(path, ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")
    return path
