"""Where the app writes what it received: the run's Redis (the ledger), with a local journal as the fallback.

``Recorder`` is the protocol the app uses. ``RedisRecorder`` is the real one; ``FakeRecorder`` keeps everything
in memory for unit tests of the app (and can be told to fail, to test the 503 path). Neither judges anything.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from target_app import contract
from target_app.contract import DeliveryRecord


class LedgerUnavailable(RuntimeError):
    """The ledger could not take a write; the app must not acknowledge the delivery."""


class Recorder(Protocol):
    async def next_attempt(self, source: str, name: str) -> int:
        """1 for the first delivery of (source, name) in this run across all replicas, 2 for the second, ..."""
        ...

    async def side_effect(self, source: str, name: str, occurrence: str, naive: bool, idempotent: bool) -> None:
        """Run the "cleanup ran" side effects: naive counts every run; idempotent once per occurrence key."""
        ...

    async def record(self, rec: DeliveryRecord) -> None:
        """Write ``rec`` to the ledger; raises LedgerUnavailable if it cannot."""
        ...

    def journal(self, rec: DeliveryRecord) -> None:
        """Append ``rec`` to the replica's local journal (durable before returning)."""
        ...

    async def close(self) -> None: ...


def append_journal(path: Path, rec: DeliveryRecord) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fh.write(rec.to_json() + "\n")
        fh.flush()
        os.fsync(fh.fileno())


class RedisRecorder:
    def __init__(self, client: aioredis.Redis, run_id: str, journal_path: Path) -> None:
        self._redis = client
        self._run = run_id
        self._journal = journal_path

    async def next_attempt(self, source: str, name: str) -> int:
        try:
            return int(await self._redis.incr(contract.attempts_key(self._run, source, name)))
        except RedisError as exc:
            raise LedgerUnavailable(str(exc)) from exc

    async def side_effect(self, source: str, name: str, occurrence: str, naive: bool, idempotent: bool) -> None:
        try:
            if naive:
                await self._redis.incr(contract.naive_effect_key(self._run, source, name))
            if idempotent:
                guard = contract.idempotency_guard_key(self._run, source, name, occurrence)
                if await self._redis.set(guard, "1", nx=True):
                    await self._redis.incr(contract.idempotent_effect_key(self._run, source, name))
        except RedisError as exc:
            raise LedgerUnavailable(str(exc)) from exc

    async def record(self, rec: DeliveryRecord) -> None:
        last: Exception | None = None
        for _ in range(2):  # a retried XADD may land twice: the reader de-duplicates by delivery_id
            try:
                await self._redis.xadd(contract.deliveries_key(self._run), {contract.STREAM_FIELD: rec.to_json()})
                return
            except RedisError as exc:
                last = exc
        raise LedgerUnavailable(str(last))

    def journal(self, rec: DeliveryRecord) -> None:
        append_journal(self._journal, rec)

    async def close(self) -> None:
        with contextlib.suppress(RedisError):
            await self._redis.aclose()


@dataclass
class FakeRecorder:
    """In-memory recorder for unit tests. ``fail`` makes every ledger write raise LedgerUnavailable."""

    fail: bool = False
    records: list[DeliveryRecord] = field(default_factory=list)
    journaled: list[DeliveryRecord] = field(default_factory=list)
    attempts: dict[tuple[str, str], int] = field(default_factory=dict)
    naive: dict[tuple[str, str], int] = field(default_factory=dict)
    idempotent_keys: set[tuple[str, str, str]] = field(default_factory=set)

    async def next_attempt(self, source: str, name: str) -> int:
        if self.fail:
            raise LedgerUnavailable("fake ledger is down")
        self.attempts[(source, name)] = self.attempts.get((source, name), 0) + 1
        return self.attempts[(source, name)]

    async def side_effect(self, source: str, name: str, occurrence: str, naive: bool, idempotent: bool) -> None:
        if self.fail:
            raise LedgerUnavailable("fake ledger is down")
        if naive:
            self.naive[(source, name)] = self.naive.get((source, name), 0) + 1
        if idempotent:
            self.idempotent_keys.add((source, name, occurrence))

    async def record(self, rec: DeliveryRecord) -> None:
        if self.fail:
            raise LedgerUnavailable("fake ledger is down")
        self.records.append(rec)

    def journal(self, rec: DeliveryRecord) -> None:
        self.journaled.append(rec)

    async def close(self) -> None:
        pass
