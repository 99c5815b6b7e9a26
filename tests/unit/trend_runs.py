"""Run folders for the trend tests: a real results.json (tests/unit/fixtures/runs/byo-app-1.18.2 judged again by the
real judge: 6 occurrences, 1 duplicate, lateness p99 12.7 ms, verdict fail), planted as several run dirs over
days with figures changed where a test says so."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness.campaign import experiment

RUN = Path(__file__).resolve().parent / "fixtures" / "runs" / "byo-app-1.18.2"
DAY_ONE = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def judged_byo(tmp: Path) -> dict[str, Any]:
    """byo-app's results.json as the judge writes it today."""
    run_dir = tmp / "byo-judged"
    shutil.copytree(RUN, run_dir)
    experiment.rejudge(run_dir, experiment.finished_scenario(run_dir))
    doc = json.loads((run_dir / "results.json").read_text())
    assert isinstance(doc, dict)
    return doc


def stamp(when: datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%SZ")


def plant(folder: Path, doc: dict[str, Any], when: datetime, **figures: Any) -> Path:
    """``folder/<scenario>/<UTC stamp>-<hash>/results.json``: ``doc`` with its (one) source's ``figures`` set
    (``lateness_p99``: the p99; a figure given as ``None`` is removed, as an older results.json lacks it)."""
    doc = copy.deepcopy(doc)
    source = doc["sources"][0]
    for key, value in figures.items():
        if key == "lateness_p99":
            source["lateness_ms"]["p99"] = value
        elif key == "verdict":
            source["verdict"] = doc["verdict"] = value
        elif key == "daprd":
            doc["dapr"]["daprd"] = doc["dapr"]["scheduler"] = value
        elif value is None:
            del source[key]
        else:
            source[key] = value
    run_dir: Path = folder / str(doc["scenario"]["name"]) / f"{stamp(when)}-{doc['scenario']['hash']}"
    run_dir.mkdir(parents=True)
    (run_dir / "results.json").write_text(json.dumps(doc, indent=2))
    return run_dir


def days(folder: Path, doc: dict[str, Any], duplicates: Sequence[int], **figures: Any) -> list[Path]:
    """One run a day from ``DAY_ONE``, the n-th with ``duplicates[n]`` (and ``figures`` on every run)."""
    return [plant(folder, doc, DAY_ONE + timedelta(days=i), duplicates=d, **figures) for i, d in enumerate(duplicates)]
