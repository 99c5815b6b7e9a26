"""Every judged run under a folder, for ``onceonly trend``: each ``results.json`` found (recursively: run dirs,
repeated-run sets' ``run-N/``, a suite's or a version comparison's runs), read with ``read_results``, and when
its run started.

When a run started comes from, in order: its ``events.jsonl`` first line (the ``run_started`` event's ``at_ns``,
the wall clock when the runner began), else the UTC stamp of its run dir's name or the nearest parent's within the
folder (``20261201T144149Z-<hash>``, as ``store.new_run_dir`` names them), else the file's modification time.
``started_from`` says which (``events``, ``dir name``, ``mtime``).

A results.json that cannot be read (not JSON, not a onceonly results.json, unreadable) is skipped with the file and
why; a folder that is not a directory, or holds no readable results.json, is an ``InputError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import InputError
from harness.io import store
from harness.io.stage_files import read_results
from harness.oracle.results import Results

EVENTS = "events.jsonl"
STAMP = re.compile(r"^(\d{8}T\d{6}Z)(?:-|$)")


@dataclass(frozen=True, slots=True)
class FoundRun:
    """One judged run: its results.json (the path as found), the document, and when the run started (UTC)."""

    path: Path
    doc: Results
    started: datetime
    started_from: str  # "events", "dir name" or "mtime"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A results.json left out, and why."""

    path: Path
    reason: str


@dataclass(frozen=True, slots=True)
class RunIndex:
    folder: Path
    runs: list[FoundRun]
    skipped: list[Skipped]


Progress = Callable[[int, int, Path], None]  # (files done, files in all, the file just read)


def results_files(folder: Path) -> list[Path]:
    """Every results.json under ``folder`` (itself included), sorted by path; ``InputError`` when ``folder`` is not
    a directory."""
    if not folder.exists():
        raise InputError(f"{folder} does not exist: give the folder that holds the run directories (e.g. reports/)")
    if not folder.is_dir():
        raise InputError(f"{folder} is not a directory: give the folder that holds the run directories")
    return sorted(p for p in folder.rglob(store.RESULTS) if p.is_file())


def read_runs(folder: Path, progress: Progress | None = None, files: list[Path] | None = None) -> RunIndex:
    """Every readable results.json under ``folder`` (``files``: those ``results_files`` found, when asked already);
    the unreadable ones in ``skipped``. ``InputError`` (exit 3) when none can be read."""
    files = results_files(folder) if files is None else files
    runs: list[FoundRun] = []
    skipped: list[Skipped] = []
    for i, path in enumerate(files, 1):
        try:
            doc = read_results(path.parent)
            _check_shape(doc)
            started, started_from = run_started(path, folder)
            runs.append(FoundRun(path, doc, started, started_from))
        except InputError as exc:
            skipped.append(Skipped(path, str(exc).removeprefix(f"{path} ")))  # the path is said beside it
        except OSError as exc:
            skipped.append(Skipped(path, f"cannot be read: {exc}"))
        if progress is not None:
            progress(i, len(files), path)
    if not runs:
        found = f"{len(files)} results.json, none readable" if files else "no results.json"
        raise InputError(
            f"{folder} holds {found}: give a folder of judged runs (each run dir has results.json; "
            "`onceonly check RUN_DIR` writes it again)"
        )
    return RunIndex(folder, runs, skipped)


def _check_shape(doc: Results) -> None:
    """``InputError`` unless the parts the trend reads have their types (read_results checks only the keys)."""
    parts: dict[str, object] = {"scenario": doc["scenario"], "dapr": doc["dapr"]}
    if not all(isinstance(part, dict) for part in parts.values()) or not isinstance(doc["sources"], list):
        raise InputError("is not a onceonly results.json (scenario and dapr must be objects, sources a list)")
    if not all(isinstance(source, dict) for source in doc["sources"]):
        raise InputError("is not a onceonly results.json (a source is not an object)")


def run_started(results_path: Path, folder: Path) -> tuple[datetime, str]:
    """When the run of ``results_path`` started (UTC), and where that came from (module docstring)."""
    run_dir = results_path.parent
    at = _events_start(run_dir / EVENTS)
    if at is not None:
        return at, "events"
    for directory in (run_dir, *run_dir.parents):
        match = STAMP.match(directory.name)
        if match:
            return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC), "dir name"
        if directory == folder or directory == directory.parent:
            break
    return datetime.fromtimestamp(results_path.stat().st_mtime, tz=UTC), "mtime"


def _events_start(path: Path) -> datetime | None:
    """The ``run_started`` event's time, from the journal's first line; None when there is none."""
    try:
        with path.open() as fh:
            first = json.loads(fh.readline())
    except (OSError, ValueError):
        return None
    if not isinstance(first, dict) or first.get("event") != "run_started" or not isinstance(first.get("at_ns"), int):
        return None
    return datetime.fromtimestamp(first["at_ns"] / 1e9, tz=UTC)
