"""Real local HTTP servers for the hop's unit tests: an upstream that keeps every request it got, and the hop
started between a client and it (with the FAKE recorder and FAKE operation log: no Redis)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from hop.main import Listening, running
from hop.oplog import FakeOperationLog
from hop.settings import HopSettings
from target_app.recorder import FakeRecorder

# RFC 9110 §7.6.1's connection headers, written out here rather than taken from the hop (a test of the hop that
# used the hop's own list could not fail).
CONNECTION_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade"})

Answer = Callable[[web.BaseRequest, bytes], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Seen:
    """One request as the upstream read it off the wire (headers as sent, in order, repeats kept)."""

    method: str
    raw_path: str
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def end_to_end(self) -> Seen:
        """The same request less its hop-by-hop headers (each side of a proxy frames its own connection)."""
        kept = tuple((k, v) for k, v in self.headers if k.decode().lower() not in CONNECTION_HEADERS)
        return Seen(self.method, self.raw_path, kept, self.body)


async def echo(request: web.BaseRequest, body: bytes) -> web.StreamResponse:
    """Answers 200 with the request's body, a repeated header and one naming the path."""
    answer = web.Response(status=200, body=body, headers={"X-Path": request.raw_path})
    answer.headers.add("X-Multi", "one")
    answer.headers.add("X-Multi", "two")
    return answer


@dataclass
class Upstream:
    """An aiohttp server standing for the app or for daprd: ``answer`` decides each answer; ``seen`` keeps every
    request (``before`` is called as each arrives, to look at what was recorded by then)."""

    answer: Answer = echo
    seen: list[Seen] = field(default_factory=list)
    before: Callable[[], None] | None = None
    port: int = 0

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        if self.before is not None:
            self.before()
        body = await request.content.read()
        self.seen.append(Seen(request.method, request.raw_path, tuple(request.raw_headers), body))
        return await self.answer(request, body)

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[Upstream]:
        runner = web.ServerRunner(web.Server(self, access_log=None), handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(runner.addresses[0][1])
        try:
            yield self
        finally:
            await runner.cleanup()


def closed_port() -> int:
    """A port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def hop_between(
    app_port: int, dapr_port: int, recorder: FakeRecorder, oplog: FakeOperationLog
) -> AsyncIterator[Listening]:
    settings = HopSettings(
        app_listen=0,
        app_port=app_port,
        dapr_listen=0,
        dapr_port=dapr_port,
        replica=2,
        run_id="r",
        redis_port=1,
        journal=Path("/nonexistent/journal"),
    )
    async with running(settings, recorder, oplog) as hop:
        yield hop


def client() -> aiohttp.ClientSession:
    """A test client that sends only the headers it is given (and its framing), never retrying."""
    session = aiohttp.ClientSession(
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        auto_decompress=False,
        connector=aiohttp.TCPConnector(force_close=True),
    )
    session._retry_connection = False
    return session
