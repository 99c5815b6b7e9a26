"""Where the app writes what it received: the run's Redis (the ledger), with a local journal as the fallback.

``Recorder`` is the protocol the app uses: ``arrive`` (the arrival record, and the fail-first attempt counter in
the same round trip), ``side_effects`` (the "cleanup ran" effects, both in one round trip), ``answer`` (the answer
record), ``journal`` (either record, to the replica's local file). ``RedisRecorder`` is the real one;
``FakeRecorder`` keeps everything in memory for unit tests of the app (and can be told to fail, to test the 503
paths). Neither judges anything.

Round trips per delivery answered 2xx with both side effects: 3 (arrival [+ INCR], INCR + SET NX, XADD), where the
recorder that wrote one record after the handler made 4 (INCR, SET NX, INCR, XADD) and 5 with fail-first.
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
from target_app.contract import AnswerRecord, ArrivalRecord, Record
from target_app.group_commit import GroupCommit, LedgerUnavailable

__all__ = ["FakeRecorder", "LedgerUnavailable", "Recorder", "RedisRecorder", "append_journal", "ledger_client"]


class Recorder(Protocol):
    async def arrive(self, rec: ArrivalRecord, count_attempt: bool) -> int | None:
        """Write the arrival record; with ``count_attempt`` also count the attempt of (source, name) across all
        replicas and return it (1 for the first delivery of the name in this run, ...). Raises LedgerUnavailable."""
        ...

    async def side_effects(
        self, source: str, name: str, occurrence: str, delivery_id: str, naive: bool, idempotent: bool
    ) -> tuple[str, ...]:
        """Run the side effects asked for and return those that ran: naive always, idempotent once per occurrence
        key. Raises LedgerUnavailable (then whether they ran is unknown)."""
        ...

    async def answer(self, rec: AnswerRecord) -> None:
        """Write the answer record; raises LedgerUnavailable if it cannot."""
        ...

    def journal(self, *recs: Record) -> None:
        """Append ``recs`` to the replica's local journal (durable before returning)."""
        ...

    async def close(self) -> None: ...


def append_journal(path: Path, *recs: Record) -> None:
    """Append whole lines and fsync: a reader sees at most the last line torn."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fh.write("".join(rec.to_json() + "\n" for rec in recs))
        fh.flush()
        os.fsync(fh.fileno())


def ledger_client(host: str, port: int, password: str | None) -> aioredis.Redis:
    """The async Redis client a replica's ledger writer uses (the recorder app's, the hop's).

    A burst of deliveries waits for a connection instead of failing: redis-py's default pool (100, raising "Too
    many connections") made 700 of 1,000 jobs due at one instant look unrecordable, so the app answered 503 and
    Dapr retried each 3 times (benchmarks/bench_scheduler.py, 2026-11-29). A slow write is still a write, so the
    socket timeout is generous too; the journal is for Redis being down."""
    pool = aioredis.BlockingConnectionPool(
        host=host,
        port=port,
        password=password,
        max_connections=64,
        timeout=10.0,
        socket_timeout=10.0,
        socket_connect_timeout=2.0,
    )
    return aioredis.Redis(connection_pool=pool)


class RedisRecorder:
    """The ledger in the run's Redis. Every write goes through a ``GroupCommit``: the writes of all deliveries in
    flight leave together, and each call returns once Redis has answered its own commands."""

    def __init__(self, client: aioredis.Redis, run_id: str, journal_path: Path) -> None:
        self._redis = client
        self._commit = GroupCommit(client)
        self._run = run_id
        self._stream = contract.deliveries_key(run_id)
        self._journal = journal_path

    async def arrive(self, rec: ArrivalRecord, count_attempt: bool) -> int | None:
        xadd = ("XADD", self._stream, "*", contract.STREAM_FIELD, rec.to_json())
        if not count_attempt:
            await self._commit.execute(xadd)
            return None
        replies = await self._commit.execute(xadd, ("INCR", contract.attempts_key(self._run, rec.source, rec.name)))
        return int(replies[1])

    async def side_effects(
        self, source: str, name: str, occurrence: str, delivery_id: str, naive: bool, idempotent: bool
    ) -> tuple[str, ...]:
        if not (naive or idempotent):
            return ()
        commands: list[tuple[str, ...]] = []
        if naive:
            commands.append(("INCR", contract.naive_effect_key(self._run, source, name)))
        if idempotent:
            key = contract.idempotency_guard_key(self._run, source, name, occurrence)
            commands.append(("SET", key, delivery_id, "NX"))
        replies = await self._commit.execute(*commands)
        ran = ("naive",) if naive else ()
        return (*ran, "idempotent") if idempotent and replies[-1] else ran

    async def answer(self, rec: AnswerRecord) -> None:
        xadd = ("XADD", self._stream, "*", contract.STREAM_FIELD, rec.to_json())
        try:
            await self._commit.execute(xadd)
        except LedgerUnavailable:  # once more: a retried XADD may land twice; the reader de-duplicates by
            await self._commit.execute(xadd)  # (kind, delivery_id)

    def journal(self, *recs: Record) -> None:
        append_journal(self._journal, *recs)

    async def close(self) -> None:
        with contextlib.suppress(RedisError):
            await self._redis.aclose()


@dataclass
class FakeRecorder:
    """In-memory recorder for unit tests (a fake of the ledger). ``fail`` makes every ledger write raise
    LedgerUnavailable; ``fail_answers`` only the answer record's."""

    fail: bool = False
    fail_answers: bool = False
    arrivals: list[ArrivalRecord] = field(default_factory=list)
    answers: list[AnswerRecord] = field(default_factory=list)
    journaled: list[Record] = field(default_factory=list)
    attempts: dict[tuple[str, str], int] = field(default_factory=dict)
    naive: dict[tuple[str, str], int] = field(default_factory=dict)
    idempotent_keys: set[tuple[str, str, str]] = field(default_factory=set)

    async def arrive(self, rec: ArrivalRecord, count_attempt: bool) -> int | None:
        if self.fail:
            raise LedgerUnavailable("fake ledger is down")
        self.arrivals.append(rec)
        if not count_attempt:
            return None
        self.attempts[(rec.source, rec.name)] = self.attempts.get((rec.source, rec.name), 0) + 1
        return self.attempts[(rec.source, rec.name)]

    async def side_effects(
        self, source: str, name: str, occurrence: str, delivery_id: str, naive: bool, idempotent: bool
    ) -> tuple[str, ...]:
        if self.fail:
            raise LedgerUnavailable("fake ledger is down")
        ran: tuple[str, ...] = ()
        if naive:
            self.naive[(source, name)] = self.naive.get((source, name), 0) + 1
            ran += ("naive",)
        if idempotent and (source, name, occurrence) not in self.idempotent_keys:
            self.idempotent_keys.add((source, name, occurrence))
            ran += ("idempotent",)
        return ran

    async def answer(self, rec: AnswerRecord) -> None:
        if self.fail or self.fail_answers:
            raise LedgerUnavailable("fake ledger is down")
        self.answers.append(rec)

    def journal(self, *recs: Record) -> None:
        self.journaled.extend(recs)

    async def close(self) -> None:
        pass
