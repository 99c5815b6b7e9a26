"""Group commit: the ledger writes of every delivery in flight go to Redis together, one pipeline per batch.

A delivery's writes (its arrival, its side effects, its answer) each wait for Redis before the delivery goes on:
nothing is acknowledged without a record. Sent one by one, each write costs a connection from the pool, a
request, a reply and a wake-up; at a few hundred deliveries per second that client work, not Redis, was most of
the app's CPU (py-spy, issue 17). ``GroupCommit.execute`` queues a delivery's commands and waits for their
replies; one writer task sends whatever is queued as one pipeline (non-transactional: no MULTI), hands each
caller its own replies, and sends the next batch, which has filled while the last one was on the wire. No timer
waits for a batch to fill: a lone delivery's write leaves at once, and under load batches grow by themselves.

The promise is unchanged: ``execute`` returns only once Redis has answered every command of its call, and raises
``LedgerUnavailable`` when any of them failed or the batch could not be sent (then the caller journals and
answers 503, as before). One pipeline in flight at a time keeps a delivery's writes in the order it made them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

Command = tuple[str | bytes | int, ...]

MAX_BATCH = 1024  # commands per pipeline: bounds one batch's memory and how long its replies are parsed


class LedgerUnavailable(RuntimeError):
    """The ledger could not take a write; the app must not acknowledge the delivery."""


class GroupCommit:
    def __init__(self, client: aioredis.Redis, max_batch: int = MAX_BATCH) -> None:
        self._redis = client
        self._max_batch = max_batch
        self._queue: list[tuple[tuple[Command, ...], asyncio.Future[list[Any]]]] = []
        self._sending: list[tuple[tuple[Command, ...], asyncio.Future[list[Any]]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # pipelines sent (for tests and benchmarks: commands per batch)
        self.commands = 0

    async def execute(self, *commands: Command) -> list[Any]:
        """Send ``commands`` with the batch in the making; their replies, in order, once Redis has answered all
        of them. Raises ``LedgerUnavailable`` if any failed (a reply that is an error) or the batch was not sent."""
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._queue.append((commands, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
            self._writer.add_done_callback(self._writer_done)
        return await future

    async def _write(self) -> None:
        try:
            while self._queue:
                self._sending = self._take()
                await self._send(self._sending)
                self._sending = []
        finally:
            self._writer = None

    def _writer_done(self, task: asyncio.Task[None]) -> None:
        """A writer stopped (cancelled as the app stops, or broken): whoever still waits has no record and must
        not answer 2xx. A writer that ran out of work has left nothing behind."""
        if self._writer is task:  # cancelled before it ever ran: its ``finally`` did not
            self._writer = None
        if not task.cancelled() and task.exception() is None:
            return
        stranded, self._sending, self._queue = [*self._sending, *self._queue], [], []
        for _, future in stranded:
            if not future.done():
                future.set_exception(LedgerUnavailable("the ledger writer stopped before Redis answered"))

    def _take(self) -> list[tuple[tuple[Command, ...], asyncio.Future[list[Any]]]]:
        count, size = 0, 0
        for commands, _ in self._queue:
            if size and size + len(commands) > self._max_batch:
                break
            count, size = count + 1, size + len(commands)
        batch, self._queue = self._queue[:count], self._queue[count:]
        return batch

    async def _send(self, batch: list[tuple[tuple[Command, ...], asyncio.Future[list[Any]]]]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for commands, _ in batch:
            for command in commands:
                pipe.execute_command(*command)
        try:
            replies = await pipe.execute(raise_on_error=False)
        except Exception as exc:  # any failure to send or read: no caller may take its writes as done
            for _, future in batch:
                if not future.done():
                    future.set_exception(LedgerUnavailable(f"{type(exc).__name__}: {exc}"))
            return
        finally:
            self.batches += 1
            self.commands += sum(len(commands) for commands, _ in batch)
        at = 0
        for commands, future in batch:
            mine = replies[at : at + len(commands)]
            at += len(commands)
            if future.done():  # its caller was cancelled: the writes are in Redis all the same
                continue
            failed = next((r for r in mine if isinstance(r, Exception)), None)
            if failed is None:
                future.set_result(mine)
            else:
                future.set_exception(LedgerUnavailable(f"{type(failed).__name__}: {failed}"))
