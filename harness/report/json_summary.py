"""The machine-readable summaries ``--json`` prints on stdout, documented key by key in ``reports/README.md``.

* a judged run's (``run``, ``demo``, ``load``, ``check``): ``run_summary`` of its results.json document;
* a suite's: ``suite_summary`` of its cases' outcomes;
* a comparison's: its comparison.json document with the exit code (``comparison_summary``);
* a set of repeated runs' (``run --repeat N``): its rates.json document with the set dir and exit code
  (``set_summary``); a suite's repeated case adds its ``rates`` and rate bounds to its entry.

Each carries ``exit_code``, the code the command exits with. Pure: documents in, JSON-ready dicts out; the same
document gives the same summary. Bump ``SCHEMA`` when a key changes meaning or goes away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import OUTCOME_EXIT, ExitCode
from harness.oracle.results import Results, SourceDoc
from harness.scenario.suite import CaseOutcome

SCHEMA = 1


def source_summary(src: SourceDoc) -> dict[str, Any]:
    """One source: what it is, its verdict, its counts, lateness p50/p99 and how many witnesses results.json has."""
    return {
        "source": src["source"],
        "name": src["name"],
        "policy": src["policy"],
        "verdict": src["verdict"],
        "occurrences": src["occurrences"],
        "deliveries": src["deliveries"],
        "duplicates": src["duplicates"],
        "missed": src["missed"],
        "early": src["early"],
        "spurious": src["spurious"],
        "retries": src["retries"],
        "lateness_ms": {"p50": src["lateness_ms"]["p50"], "p99": src["lateness_ms"]["p99"]},
        "witnesses": len(src["witnesses"]),
    }


def run_summary(doc: Results, run_dir: Path | str) -> dict[str, Any]:
    """A judged run: its verdict and exit code, where it is, what ran it, and every source (load jobs included)."""
    verdict = doc["verdict"]
    return {
        "schema": SCHEMA,
        "verdict": verdict,
        "exit_code": int(OUTCOME_EXIT[verdict]),
        "run_dir": str(run_dir),
        "scenario": {"name": doc["scenario"]["name"], "hash": doc["scenario"]["hash"]},
        "dapr": dict(doc["dapr"]),
        "onceonly": doc.get("onceonly"),
        "sources": [source_summary(s) for s in doc["sources"]],
    }


def outcome_word(code: ExitCode) -> str:
    """A campaign's outcome in one word, from its exit code: pass, fail, unknown, error, interrupted."""
    if code == ExitCode.INTERRUPTED:
        return "interrupted"
    return next(word for word, exit in OUTCOME_EXIT.items() if exit == code)


def suite_summary(name: str, outcomes: Sequence[CaseOutcome], junit: Path | str, code: ExitCode) -> dict[str, Any]:
    """A suite: its outcome and exit code, and each case that ran (an interrupted suite: the cases so far)."""
    return {
        "schema": SCHEMA,
        "suite": name,
        "outcome": outcome_word(code),
        "exit_code": int(code),
        "junit": str(junit),
        "cases": [
            {
                "name": o.case.name,
                "outcome": o.outcome,
                "verdict": o.verdict,
                "differences": list(o.differences),
                "run_dir": None if o.run_dir is None else str(o.run_dir),
                "error": o.detail if o.verdict is None else None,
                **(
                    {}
                    if o.rates is None
                    else {
                        "runs": [None if r.run_dir is None else str(r.run_dir) for r in o.runs],
                        "rates": o.rates.to_dict(),
                        "rate_bounds": [{"judged": judged, "line": line} for judged, line in o.rate_findings],
                    }
                ),
            }
            for o in outcomes
        ],
    }


def comparison_summary(comparison: Mapping[str, Any], code: ExitCode) -> dict[str, Any]:
    """A comparison: comparison.json's document as written, and the exit code."""
    return {**comparison, "exit_code": int(code)}


def set_summary(rates_doc: Mapping[str, Any], set_dir: Path | str, code: ExitCode) -> dict[str, Any]:
    """A set of repeated runs: rates.json's document as written, its directory and the exit code."""
    return {"schema": SCHEMA, "set_dir": str(set_dir), **rates_doc, "exit_code": int(code)}
