"""GroupCommit: concurrent deliveries' writes leave as one pipeline, each caller gets its own replies, and no caller
takes a write as done unless Redis answered it (fakeredis: a fake of the neighbour; the recorder's real Redis is
in the integration tests)."""

from __future__ import annotations

import asyncio
from typing import Any

import fakeredis
import pytest

from target_app.group_commit import GroupCommit, LedgerUnavailable


def test_concurrent_writes_share_pipelines_and_each_caller_gets_its_replies() -> None:
    async def go() -> tuple[list[list[Any]], int, int]:
        client = fakeredis.aioredis.FakeRedis()
        commit = GroupCommit(client)
        calls = [
            commit.execute(("INCR", "n"), ("SET", f"k{i}", "v", "NX"), ("SET", "shared", str(i), "NX"))
            for i in range(200)
        ]
        replies = await asyncio.gather(*calls)
        await client.aclose()
        return replies, commit.batches, commit.commands

    replies, batches, commands = asyncio.run(go())
    assert commands == 600
    assert batches < 10  # 200 callers, one writer: the first batch goes alone, the rest wait together
    assert sorted(r[0] for r in replies) == list(range(1, 201))  # every INCR once, each reply to its caller
    assert all(r[1] for r in replies)  # each caller's own key was new
    assert sum(1 for r in replies if r[2]) == 1  # one SET NX won the shared key


def test_a_batch_never_exceeds_its_size_and_a_call_is_never_split() -> None:
    async def go() -> GroupCommit:
        client = fakeredis.aioredis.FakeRedis()
        commit = GroupCommit(client, max_batch=5)
        await asyncio.gather(*(commit.execute(("INCR", "a"), ("INCR", "b"), ("INCR", "c")) for _ in range(10)))
        await client.aclose()
        return commit

    commit = asyncio.run(go())
    assert commit.commands == 30
    assert commit.batches == 10  # 3 + 3 > 5: one call per pipeline


def test_a_failed_command_fails_only_its_own_caller() -> None:
    async def go() -> list[Any]:
        client = fakeredis.aioredis.FakeRedis()
        await client.set("text", "not a number")
        commit = GroupCommit(client)
        results = await asyncio.gather(
            commit.execute(("INCR", "n")),
            commit.execute(("XADD", "s", "*", "d", "x"), ("INCR", "text")),  # WRONGTYPE-like error on the INCR
            commit.execute(("INCR", "n")),
            return_exceptions=True,
        )
        await client.aclose()
        return list(results)

    first, middle, last = asyncio.run(go())
    assert sorted([first[0], last[0]]) == [1, 2]
    assert isinstance(middle, LedgerUnavailable)
    assert "not an integer" in str(middle)


def test_an_unreachable_ledger_fails_every_caller_of_the_batch() -> None:
    async def go() -> list[Any]:
        client = fakeredis.aioredis.FakeRedis(server=fakeredis.FakeServer())
        client.connection_pool.connection_kwargs["server"].connected = False  # the fake's "Redis is down"
        commit = GroupCommit(client)
        results = await asyncio.gather(*(commit.execute(("INCR", "n")) for _ in range(5)), return_exceptions=True)
        await client.aclose()
        return results

    results = asyncio.run(go())
    assert len(results) == 5 and all(isinstance(r, LedgerUnavailable) for r in results)


def test_callers_waiting_when_the_writer_is_stopped_are_not_told_their_writes_are_done() -> None:
    """The writer cancelled (the app stopping) before it ever ran: every caller gets LedgerUnavailable, never a
    reply, and none waits forever (its ``finally`` never ran; the done-callback cleans up)."""
    ticks = 1  # the callers have queued and made the writer; it has not run yet

    async def go() -> list[Any]:
        client = fakeredis.aioredis.FakeRedis()
        commit = GroupCommit(client)
        calls = [asyncio.ensure_future(commit.execute(("INCR", "n"))) for _ in range(3)]
        for _ in range(ticks):
            await asyncio.sleep(0)
        writer = commit._writer
        if writer is not None:
            writer.cancel()
        done = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), timeout=5)
        await client.aclose()
        return done

    results = asyncio.run(go())
    assert len(results) == 3 and all(isinstance(r, LedgerUnavailable) for r in results), results


@pytest.mark.parametrize("calls", [1, 3])
def test_a_lone_write_leaves_at_once(calls: int) -> None:
    async def go() -> int:
        client = fakeredis.aioredis.FakeRedis()
        commit = GroupCommit(client)
        for _ in range(calls):  # one after the other: no timer holds a batch open
            await asyncio.wait_for(commit.execute(("INCR", "n")), timeout=5)
        await client.aclose()
        return commit.batches

    assert asyncio.run(go()) == calls
