"""The run's CSV files, written and read back: deliveries.csv and operations.csv (stage 1, the ledger export) and
lateness.csv (stage 2, the samples behind the lateness percentiles).

Each is read back after it is written (the ledger export by tests and tools, lateness.csv by report.html and the
comparison page), and a writer and its reader share the columns, so both live here, with the run directory's other
files, rather than among the outputs.
"""

from __future__ import annotations

import collections
import csv
import json
from collections.abc import Sequence
from dataclasses import astuple, fields
from pathlib import Path

from harness.model import Delivery, Operation, SourceResult

DELIVERIES_CSV = "deliveries.csv"


OPERATIONS_CSV = "operations.csv"


_DELIVERY_COLUMNS = [f.name for f in fields(Delivery)]


_OPERATION_COLUMNS = [f.name for f in fields(Operation)]


def write_ledger_csv(run_dir: Path, deliveries: Sequence[Delivery], operations: Sequence[Operation]) -> None:
    """deliveries.csv and operations.csv: one row per delivery (its arrival joined with its answer) and per
    operation, columns as in ``harness.model``; ``headers`` and ``detail`` are JSON objects (keys sorted),
    ``effects`` a JSON list. A delivery **cut off** mid-handler (an arrival, no answer) has ``status`` and
    ``answered_ns`` empty and ``effects`` ``[]``."""
    for filename, columns, rows in (
        (DELIVERIES_CSV, _DELIVERY_COLUMNS, deliveries),
        (OPERATIONS_CSV, _OPERATION_COLUMNS, operations),
    ):
        tmp = run_dir / (filename + ".tmp")
        with tmp.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for row in rows:
                writer.writerow(
                    json.dumps(v, sort_keys=True, default=str) if isinstance(v, dict | tuple) else v
                    for v in astuple(row)
                )
        tmp.replace(run_dir / filename)


def read_ledger_csv(run_dir: Path) -> tuple[list[Delivery], list[Operation]]:
    """The rows ``write_ledger_csv`` wrote, as model objects again."""
    with (run_dir / DELIVERIES_CSV).open(newline="") as fh:
        deliveries = [
            Delivery(
                delivery_id=r["delivery_id"],
                source=r["source"],  # type: ignore[arg-type]  # written from a SourceKind
                name=r["name"],
                replica=int(r["replica"]),
                received_ns=int(r["received_ns"]),
                status=int(r["status"]) if r["status"] else None,  # empty: cut off (no answer)
                headers=json.loads(r["headers"]),
                answered_ns=int(r["answered_ns"]) if r["answered_ns"] else None,
                effects=tuple(json.loads(r["effects"])),
            )
            for r in csv.DictReader(fh)
        ]
    with (run_dir / OPERATIONS_CSV).open(newline="") as fh:
        operations = [
            Operation(
                op_id=r["op_id"],
                kind=r["kind"],  # type: ignore[arg-type]  # written from an Operation kind
                name=r["name"],
                phase=r["phase"],  # type: ignore[arg-type]  # written from an OpPhase
                at_ns=int(r["at_ns"]),
                detail=json.loads(r["detail"]),
            )
            for r in csv.DictReader(fh)
        ]
    return deliveries, operations


LATENESS_CSV = "lateness.csv"


LATENESS_COLUMNS = ("source", "name", "due_ns", "delivery_id", "replica", "received_ns", "late_ms")


def write_lateness_csv(run_dir: Path, sources: Sequence[SourceResult]) -> Path:
    """lateness.csv: the samples behind every source's lateness percentiles, one row per counted occurrence that
    was delivered (its due time and the delivery that answered it first; the checker's matching, stage 2)."""
    path = run_dir / LATENESS_CSV
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(LATENESS_COLUMNS)
        for s in sources:
            for due, d in s.lateness_samples:
                late = f"{(d.received_ns - due) / 1e6:.3f}"
                writer.writerow((s.source, s.name, due, d.delivery_id, d.replica, d.received_ns, late))
    tmp.replace(path)
    return path


def read_lateness_csv(run_dir: Path) -> dict[str, list[float]] | None:
    """``source:name`` -> its lateness samples in ms (sorted), or None when the run dir has no lateness.csv."""
    path = run_dir / LATENESS_CSV
    if not path.is_file():
        return None
    out: dict[str, list[float]] = collections.defaultdict(list)
    with path.open(newline="") as fh:
        for r in csv.DictReader(fh):
            out[f"{r['source']}:{r['name']}"].append(float(r["late_ms"]))
    return {k: sorted(v) for k, v in out.items()}
