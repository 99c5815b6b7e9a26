"""Reads a run's ledger back out of Redis (and the replicas' journals), and records the harness's operations.

The apps write two records per delivery (``target_app.contract``): an arrival before any handler work and an
answer after it. ``Ledger.deliveries`` reads both kinds from the stream and from every replica's journal, drops
retried writes (the same kind and delivery id again: one delivery, never a duplicate one), and joins them by
delivery id into ``Delivery`` rows; an arrival without an answer is a delivery **cut off** mid-handler
(``status`` None). When the stream and a journal both hold an answer for one delivery, the journal's wins: the app
journals an answer only when its stream write failed, and then answers what it journaled (503), whatever the
failed write may have left behind.

Its statistics say where the records came from and name every **ledger gap**: something the ledger cannot vouch
for, so a verdict built on it may be missing a delivery. ``ledger_gaps`` turns them into one reason per kind.
Judging (and what a gap does to a verdict) is the checker's job, not this module's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from typing import Any, cast

import redis

from harness.model import Delivery, Operation, SourceKind
from target_app import contract
from target_app.contract import AnswerRecord, ArrivalRecord, RecordError, record_from_json

# Counts in the statistics that are ledger gaps, and how each reads for people (``ledger_gaps``).
GAPS: dict[str, str] = {
    "stream_missing_entries": "record(s) the apps added to the stream are no longer in it (trimmed or deleted: "
    "XINFO STREAM entries-added is larger than what was read)",
    "stream_unparseable": "stream entr(y/ies) could not be read as a record",
    "journal_unreadable_files": "replica journal file(s) could not be read",
    "journal_torn_lines": "journal line(s) were torn (an app died while writing its journal)",
    "answers_without_arrival": "answer record(s) have no arrival record, so their delivery cannot be placed",
}
STATS = (
    "stream_entries",  # records read from the stream
    "journal_files",
    "journal_entries",  # records read from the journals
    "arrivals",  # distinct deliveries (arrival records)
    "answers",  # distinct answer records joined to an arrival
    "cut_off",  # arrivals without an answer: reached business logic, never answered
    "duplicate_writes",  # a record read again (a retried write, or in both stream and journal)
    "answers_from_journal",  # a stream answer replaced by the journal's (what the app really answered)
    *GAPS,
)


def ops_key(run_id: str) -> str:
    return f"onceonly:{run_id}:ops"


def ledger_gaps(stats: Mapping[str, int]) -> list[str]:
    """One readable reason per kind of ledger gap in ``stats`` (``Ledger.deliveries``' statistics, or a run's
    ``history.json`` ``ledger_stats``), with its count; empty when the ledger is complete."""
    return [f"{stats[key]} {text}" for key, text in GAPS.items() if stats.get(key, 0) > 0]


PodReplica = Callable[[str], int]  # a pod's name -> its replica index (a Kubernetes run's mapping)


def replica_of(arrival: ArrivalRecord, pod_replica: PodReplica | None = None) -> int:
    """The arrival's replica index: its own when set (>= 0, a local run), else its pod's through ``pod_replica``
    (a Kubernetes pod records -1 and its pod's name); -1 when neither says."""
    name = arrival.pod.get("name")
    if arrival.replica >= 0 or pod_replica is None or not name:
        return arrival.replica
    return pod_replica(name)


def join(arrival: ArrivalRecord, answer: AnswerRecord | None, pod_replica: PodReplica | None = None) -> Delivery:
    """One delivery from its arrival and its answer (None: cut off)."""
    return Delivery(
        delivery_id=arrival.delivery_id,
        source=cast(SourceKind, arrival.source),
        name=arrival.name,
        replica=replica_of(arrival, pod_replica),
        received_ns=arrival.received_ns,
        status=None if answer is None else answer.status,
        headers=dict(arrival.headers),
        answered_ns=None if answer is None else answer.answered_ns,
        effects=() if answer is None else answer.effects,
    )


def operation_to_json(op: Operation) -> str:
    return json.dumps(asdict(op), sort_keys=True, default=str)


def operation_from_json(text: str | bytes) -> Operation:
    data = json.loads(text)
    return Operation(**data)


class _Records:
    """Arrivals and answers as they are read, de-duplicated, with the statistics."""

    def __init__(self, pod_replica: PodReplica | None = None) -> None:
        self._pod_replica = pod_replica
        self.arrivals: dict[str, ArrivalRecord] = {}
        self.answers: dict[str, AnswerRecord] = {}
        self.stats = dict.fromkeys(STATS, 0)

    def add(self, raw: str | bytes, origin: str) -> None:
        try:
            rec = record_from_json(raw)
        except RecordError:
            self.stats["stream_unparseable" if origin == "stream" else "journal_torn_lines"] += 1
            return
        self.stats[f"{origin}_entries"] += 1
        if isinstance(rec, ArrivalRecord):
            if rec.delivery_id in self.arrivals:
                self.stats["duplicate_writes"] += 1
            else:
                self.arrivals[rec.delivery_id] = rec
            return
        seen = self.answers.get(rec.delivery_id)
        if seen is None:
            self.answers[rec.delivery_id] = rec
        elif seen == rec:
            self.stats["duplicate_writes"] += 1
        elif origin == "journal" and seen.ledger == "redis":
            self.answers[rec.delivery_id] = rec
            self.stats["answers_from_journal"] += 1
        else:
            self.stats["duplicate_writes"] += 1

    def deliveries(self) -> list[Delivery]:
        # in received order, so a pod named only by the ledger gets its index by first arrival
        ordered = sorted(self.arrivals.items(), key=lambda item: (item[1].received_ns, item[0]))
        joined = [join(a, self.answers.get(i), self._pod_replica) for i, a in ordered]
        self.stats["arrivals"] = len(self.arrivals)
        self.stats["answers"] = sum(i in self.arrivals for i in self.answers)
        self.stats["cut_off"] = sum(d.cut_off for d in joined)
        self.stats["answers_without_arrival"] = sum(i not in self.arrivals for i in self.answers)
        return sorted(joined, key=lambda d: (d.received_ns, d.delivery_id))


class Ledger:
    """One run's ledger, over an injected redis client."""

    def __init__(
        self,
        client: redis.Redis,
        run_id: str,
        journals: Callable[[], Iterable[str | None]] = tuple,
        pod_replica: PodReplica | None = None,
    ) -> None:
        """``journals``: reads every app's fallback journal now (the cluster's ``journal_texts``; None for a
        journal that could not be read); ``pod_replica``: the replica index of a pod's arrivals (Kubernetes)."""
        self._pod_replica = pod_replica
        self._redis = client
        self.run_id = run_id
        self._journals = journals

    def record_op(self, op: Operation) -> None:
        self._redis.xadd(ops_key(self.run_id), {"o": operation_to_json(op)})

    def operations(self) -> list[Operation]:
        rows = cast(list[tuple[bytes, dict[bytes, bytes]]], self._redis.xrange(ops_key(self.run_id)) or [])
        return [operation_from_json(fields[b"o"]) for _id, fields in rows]

    def _stream(self) -> tuple[list[dict[bytes, bytes]], int]:
        """Every entry of the deliveries stream, and how many entries were ever added to it (XINFO STREAM
        ``entries-added``, Redis 7.0+), read in one transaction so no write falls between the two."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.xinfo_stream(contract.deliveries_key(self.run_id))
        pipe.xrange(contract.deliveries_key(self.run_id))
        info, rows = pipe.execute(raise_on_error=False)
        if isinstance(info, redis.ResponseError):  # no such key: no app recorded anything
            return [], 0
        entries = [fields for _id, fields in cast(list[tuple[bytes, dict[bytes, bytes]]], rows)]
        return entries, int(cast(dict[str, Any], info).get("entries-added", len(entries)))

    def deliveries(self) -> tuple[list[Delivery], dict[str, int]]:
        """Every delivery of the run in received order, and the statistics (``STATS``; the gaps are ``GAPS``)."""
        records = _Records(self._pod_replica)
        entries, added = self._stream()
        for fields in entries:
            raw = fields.get(contract.STREAM_FIELD.encode())
            if raw is None:
                records.stats["stream_unparseable"] += 1
                continue
            records.add(raw, "stream")
        records.stats["stream_missing_entries"] = max(0, added - len(entries))
        for text in self._journals():
            records.stats["journal_files"] += 1
            if text is None:
                records.stats["journal_unreadable_files"] += 1
                continue
            for line in text.split("\n"):
                # A torn line is the last one of a journal whose app died writing it; the app answers only after
                # the fsync of whole lines, so that delivery was never answered 2xx: a gap all the same.
                if line.strip():
                    records.add(line, "journal")
        return records.deliveries(), records.stats

    def side_effects(self) -> dict[tuple[str, str], dict[str, int]]:
        """{(source, name): {"naive": n, "idempotent": m}}: the naive counters, and the idempotency guard keys
        (one per occurrence key whose idempotent side effect ran)."""
        result: dict[tuple[str, str], dict[str, int]] = {}
        prefix = f"onceonly:{self.run_id}:effect:"
        for key in self._redis.scan_iter(match=contract.effect_pattern(self.run_id), count=1000):
            kind, _, rest = key.decode().removeprefix(prefix).partition(":")
            if kind == "naive":
                source, _, name = rest.partition(":")
                entry = result.setdefault((source, name), {"naive": 0, "idempotent": 0})
                entry["naive"] = int(self._redis.get(key) or 0)
            elif kind == "key":
                source, _, name_occurrence = rest.partition(":")
                name = name_occurrence.rpartition(":")[0]
                result.setdefault((source, name), {"naive": 0, "idempotent": 0})["idempotent"] += 1
        return result
