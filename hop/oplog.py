"""Where the hop writes the operations of a user's app's Jobs API calls: the run's ``app-ops`` stream.

``OperationLog`` is the protocol (``record`` one row of ``target_app.operations.operation_json``; raises
``LedgerUnavailable`` when it cannot). ``RedisOperationLog`` is the real one, beside the deliveries stream the
hop's ``RedisRecorder`` writes; ``FakeOperationLog`` keeps rows in memory for unit tests (and can be told to
fail). The stream is a sibling of the harness's own ``ops`` so that the runner's and the load's calls are never
mixed with the app's: a reader takes both with the same parser (``harness.io.ledger.operation_from_json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from target_app.operations import OPS_FIELD, app_operations_key
from target_app.recorder import LedgerUnavailable


class OperationLog(Protocol):
    async def record(self, row: str) -> None:
        """Append one operation row; raises LedgerUnavailable if it cannot."""
        ...


class RedisOperationLog:
    def __init__(self, client: aioredis.Redis, run_id: str) -> None:
        self._redis = client
        self._stream = app_operations_key(run_id)

    async def record(self, row: str) -> None:
        try:
            await self._redis.xadd(self._stream, {OPS_FIELD: row})
        except RedisError as exc:
            raise LedgerUnavailable(str(exc)) from exc


@dataclass
class FakeOperationLog:
    """In-memory operation log for unit tests (a fake of the ledger); ``fail`` makes every write raise."""

    fail: bool = False
    rows: list[str] = field(default_factory=list)

    async def record(self, row: str) -> None:
        if self.fail:
            raise LedgerUnavailable("fake ledger is down")
        self.rows.append(row)
