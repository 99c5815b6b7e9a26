"""The run directory: its layout, the staged saves of a run, and the event journal.

``reports/<scenario>/<UTC start>-<scenario hash>/``::

    scenario.yaml     the scenario as run (after --set overrides)           stage 0
    plan.json         jobs, bindings, actions as scheduled, cluster, behaviour  stage 0
    events.jsonl      one JSON line per event (phases, operations' outcomes) during the run
    logs/             one log per process; journal/ the apps' fallback journals
    history.json      everything the checker needs (deliveries, operations, windows, times)   stage 1
    deliveries.csv    operations.csv: the ledger export, for people and pandas                  stage 1
    run.json          versions, host, timings: what results.json says besides the verdict       stage 1
    dapr_metrics.json Dapr's counters scraped at the end, and their cross-check with the ledger   stage 1
    results.json      summary.md  junit.xml                                                     stage 2

``onceonly check RUN_DIR`` re-judges from stage 1 alone and reproduces stage 2. The typed files between stages
(history.json, run.json, results.json) are read and written by ``harness.io.stage_files``.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

HISTORY = "history.json"
RUN_INFO = "run.json"
RESULTS = "results.json"
DAPR_METRICS = "dapr_metrics.json"
TRACEBACK = "traceback.txt"


_MADE: list[Path] = []  # the run dirs this process made, in order


def new_run_dir(root: Path, scenario_name: str, scenario_hash: str) -> Path:
    """A new, empty ``<root>/<scenario>/<UTC start>-<hash>``; a second run of the same scenario in the same second
    (a suite with a case twice, two commands at once) gets ``-2``, ``-3`` ... rather than an error."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = root / scenario_name / f"{stamp}-{scenario_hash}"
    base.parent.mkdir(parents=True, exist_ok=True)
    path, n = base, 1
    while True:
        try:
            path.mkdir(exist_ok=False)
            break
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}-{n}")
    _MADE.append(path)
    return path


def working_in(run_dir: Path) -> None:
    """Say that this process works in an existing run dir (``onceonly check``): an unhandled error's traceback
    goes there."""
    _MADE.append(run_dir)


def last_run_dir() -> Path | None:
    """The run dir this process made last (where an unhandled error's traceback goes), or None."""
    return _MADE[-1] if _MADE else None


def write_traceback(directory: Path, exc: BaseException) -> Path:
    """``traceback.txt`` in ``directory``: an unhandled error, whole, for whoever debugs it."""
    path = directory / TRACEBACK
    path.write_text("".join(traceback.format_exception(exc)))
    return path


class EventLog:
    """Appends events to ``events.jsonl`` (one JSON object per line, with a wall-clock ``at_ns``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def emit(self, event: str, **fields: Any) -> None:
        line = {"at_ns": time.time_ns(), "event": event, **fields}
        with self.path.open("a") as fh:
            fh.write(json.dumps(line, sort_keys=True, default=str) + "\n")


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")
    tmp.replace(path)


def write_text(path: Path, text: str) -> None:
    """Writes ``path`` whole or not at all (a temporary file, then a rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def write_dapr_metrics(run_dir: Path, processes: Sequence[Mapping[str, Any]], comparison: Mapping[str, Any]) -> Path:
    """``dapr_metrics.json``: the scraped samples per process, and the comparison as made when the run ended."""
    path = run_dir / DAPR_METRICS
    write_json(path, {"processes": list(processes), "comparison": dict(comparison)})
    return path


def load_dapr_metrics(run_dir: Path) -> list[dict[str, Any]] | None:
    """The scraped processes of a run dir, or None for a run made before the cross-check existed."""
    path = run_dir / DAPR_METRICS
    if not path.is_file():
        return None
    data: dict[str, Any] = read_json(path)
    return list(data["processes"])
