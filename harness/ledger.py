"""Reads a run's ledger back out of Redis (and the replicas' journals), and records the harness's operations.

Deliveries come from the stream the apps write (``target_app.contract``) merged with every replica's local
journal, de-duplicated by delivery id: a record written twice (a retried XADD) is one delivery, never a
duplicate one. Judging is the checker's job, not this module's.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Literal, cast

import redis

from harness.model import Delivery, Operation, SourceKind
from target_app import contract
from target_app.contract import DeliveryRecord


def ops_key(run_id: str) -> str:
    return f"onceonly:{run_id}:ops"


def to_delivery(rec: DeliveryRecord) -> Delivery:
    return Delivery(
        delivery_id=rec.delivery_id,
        source=cast(SourceKind, rec.source),
        name=rec.name,
        replica=rec.replica,
        received_ns=rec.received_ns,
        status=rec.status,
        headers=dict(rec.headers),
    )


def operation_to_json(op: Operation) -> str:
    return json.dumps(asdict(op), sort_keys=True, default=str)


def operation_from_json(text: str | bytes) -> Operation:
    data = json.loads(text)
    return Operation(**data)


class Ledger:
    """One run's ledger, over an injected redis client."""

    def __init__(self, client: redis.Redis, run_id: str, journal_dir: Path) -> None:
        self._redis = client
        self.run_id = run_id
        self.journal_dir = journal_dir

    def record_op(self, op: Operation) -> None:
        self._redis.xadd(ops_key(self.run_id), {"o": operation_to_json(op)})

    def _entries(self, key: str, field: str) -> list[bytes]:
        """The ``field`` of every entry of stream ``key``, oldest first."""
        rows = cast(list[tuple[bytes, dict[bytes, bytes]]], self._redis.xrange(key) or [])
        return [fields[field.encode()] for _id, fields in rows]

    def operations(self) -> list[Operation]:
        return [operation_from_json(raw) for raw in self._entries(ops_key(self.run_id), "o")]

    def deliveries(self) -> tuple[list[Delivery], dict[str, int]]:
        """Every delivery of the run in received order, and where they came from (counts for the report)."""
        seen: dict[str, DeliveryRecord] = {}
        stats = {"stream_entries": 0, "journal_entries": 0, "duplicate_writes": 0}
        for raw in self._entries(contract.deliveries_key(self.run_id), contract.STREAM_FIELD):
            stats["stream_entries"] += 1
            self._add(seen, DeliveryRecord.from_json(raw), stats)
        for path in sorted(self.journal_dir.glob("*.jsonl")):
            text = path.read_text()
            lines = text.split("\n")
            for line in lines:
                if not line.strip():
                    continue
                try:
                    rec = DeliveryRecord.from_json(line)
                except ValueError:
                    # The last line of a journal an app is still writing (or died writing) can be torn. Its
                    # delivery was never answered 2xx: the app answers only after the fsync of a whole line.
                    stats["journal_torn_lines"] = stats.get("journal_torn_lines", 0) + 1
                    continue
                stats["journal_entries"] += 1
                self._add(seen, rec, stats)
        ordered = sorted(seen.values(), key=lambda r: (r.received_ns, r.delivery_id))
        return [to_delivery(r) for r in ordered], stats

    @staticmethod
    def _add(seen: dict[str, DeliveryRecord], rec: DeliveryRecord, stats: dict[str, int]) -> None:
        if rec.delivery_id in seen:
            stats["duplicate_writes"] += 1
            return
        seen[rec.delivery_id] = rec

    def side_effects(self) -> dict[tuple[str, str], dict[str, int]]:
        """{(source, name): {"naive": n, "idempotent": m}} from the apps' counters."""
        result: dict[tuple[str, str], dict[str, int]] = {}
        prefix = f"onceonly:{self.run_id}:effect:"
        for key in self._redis.scan_iter(match=contract.effect_pattern(self.run_id), count=1000):
            text = key.decode()
            kind, _, rest = text.removeprefix(prefix).partition(":")
            if kind not in ("naive", "idem"):
                continue  # idempotency guard keys
            source, _, name = rest.partition(":")
            value = self._redis.get(key)
            flavour: Literal["naive", "idempotent"] = "naive" if kind == "naive" else "idempotent"
            entry = result.setdefault((source, name), {"naive": 0, "idempotent": 0})
            entry[flavour] = int(value or 0)
        return result
