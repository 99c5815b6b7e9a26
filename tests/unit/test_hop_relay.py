"""The hop forwards unchanged: each kind of request daprd sends an app, sent once straight to a real local server and
once through the hop, reaches it the same (method, raw path, end-to-end headers in order, body bytes) and comes
back the same (status, reason, end-to-end headers but Date, body). No retry, no timeout of its own."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from hop.oplog import FakeOperationLog
from hop.relay import end_to_end
from target_app.recorder import FakeRecorder
from tests.unit.hop_servers import CONNECTION_HEADERS, Seen, Upstream, client, closed_port, echo, hop_between

TOKEN = {"dapr-api-token": "s3cret"}
BIG = os.urandom(5 * 1024 * 1024)


async def chunked_body() -> AsyncIterator[bytes]:
    for part in (b'{"data":', b' "in three', b' chunks"}'):
        yield part
        await asyncio.sleep(0.01)


async def chunked_answer(request: web.BaseRequest, body: bytes) -> web.StreamResponse:
    answer = web.StreamResponse(status=202, reason="Taken Later", headers={"Content-Type": "text/plain"})
    answer.enable_chunked_encoding()
    await answer.prepare(request)
    for part in (b"first ", b"second ", b"third"):
        await answer.write(part)
        await asyncio.sleep(0.01)
    await answer.write_eof()
    return answer


async def config_answer(request: web.BaseRequest, body: bytes) -> web.StreamResponse:
    return web.json_response({"entities": [], "actorIdleTimeout": "1h"}, headers={"Set-Cookie": "a=1"})


async def options_answer(request: web.BaseRequest, body: bytes) -> web.StreamResponse:
    return web.Response(status=200, headers={"Allow": "POST, OPTIONS"})


# name -> (method, path, headers, body factory, the upstream's answer)
CASES: dict[str, tuple[str, str, dict[str, str], Callable[[], object], Callable[..., object]]] = {
    "job delivery": (
        "POST",
        "/job/cleanup",
        {"Content-Type": "application/json", "traceparent": "00-ab-cd-01", **TOKEN},
        lambda: b'{"data":{"@type":"x"}}',
        echo,
    ),
    "binding delivery": ("POST", "/cron/nightly", {"Content-Type": "text/plain", **TOKEN}, lambda: b"tick", echo),
    "binding OPTIONS probe": ("OPTIONS", "/cron/nightly", TOKEN, lambda: None, options_answer),
    "health check": ("GET", "/healthz", {}, lambda: None, echo),
    "dapr config": ("GET", "/dapr/config", TOKEN, lambda: None, config_answer),
    "dapr subscribe": ("GET", "/dapr/subscribe", TOKEN, lambda: None, echo),
    "other route, query, escapes": ("PUT", "/orders/a%2Fb?x=1&y=a%20b", {"X-Order": "7"}, lambda: b"{}", echo),
    "5 MB body both ways": (
        "POST",
        "/job/big",
        {"Content-Type": "application/octet-stream"},
        lambda: io.BytesIO(BIG),
        echo,
    ),
    "chunked request": ("POST", "/job/chunky", {"Content-Type": "application/json"}, chunked_body, echo),
    "chunked answer": ("POST", "/cron/slow", {}, lambda: b"x", chunked_answer),
}


async def send(port: int, method: str, path: str, headers: dict[str, str], body: object) -> tuple[object, ...]:
    sent = CIMultiDict(headers)
    sent["Host"] = "app.example:6000"  # the same Host both ways, as daprd would send it
    sent.add("X-Multi", "one")
    sent.add("X-Multi", "two")
    async with (
        client() as session,
        session.request(method, f"http://127.0.0.1:{port}{path}", headers=sent, data=body) as answer,
    ):
        got = await answer.read()
        kept = [(k, v) for k, v in answer.raw_headers if k.decode().lower() not in {*CONNECTION_HEADERS, "date"}]
        return answer.status, answer.reason, kept, got


@pytest.mark.parametrize("case", list(CASES))
def test_every_kind_of_request_reaches_the_app_and_comes_back_unchanged(case: str) -> None:
    method, path, headers, body, answer = CASES[case]

    async def scenario() -> None:
        app = Upstream(answer=answer)  # type: ignore[arg-type]
        async with app.serving(), hop_between(app.port, closed_port(), FakeRecorder(), FakeOperationLog()) as hop:
            direct = await send(app.port, method, path, headers, body())
            hopped = await send(hop.app_listen, method, path, headers, body())
        assert len(app.seen) == 2
        assert app.seen[1].end_to_end() == app.seen[0].end_to_end()
        assert hopped == direct
        if case == "5 MB body both ways":
            assert app.seen[1].body == BIG and direct[3] == BIG

    asyncio.run(scenario())


def test_hop_by_hop_headers_are_dropped_and_the_ones_connection_names_too() -> None:
    headers = CIMultiDict(
        [
            ("Host", "h"),
            ("Connection", "keep-alive, X-Secret-Hop"),
            ("X-Secret-Hop", "1"),
            ("Keep-Alive", "timeout=5"),
            ("TE", "trailers"),
            ("Transfer-Encoding", "chunked"),
            ("Upgrade", "h2c"),
            ("Proxy-Connection", "keep-alive"),
            ("dapr-api-token", "t"),
            ("X-A", "1"),
            ("X-A", "2"),
        ]
    )
    assert list(end_to_end(headers).items()) == [("Host", "h"), ("dapr-api-token", "t"), ("X-A", "1"), ("X-A", "2")]


async def drop(request: web.BaseRequest, body: bytes) -> web.StreamResponse:
    assert request.transport is not None
    request.transport.abort()
    return web.Response()


@pytest.mark.parametrize("method", ["GET", "OPTIONS", "DELETE", "POST"])
def test_a_dropped_exchange_is_passed_on_as_dropped_and_never_retried(method: str) -> None:
    """aiohttp's client sends an idempotent request again on a dropped connection unless told not to."""

    async def scenario() -> None:
        app = Upstream(answer=drop)
        async with app.serving(), hop_between(app.port, closed_port(), FakeRecorder(), FakeOperationLog()) as hop:
            with pytest.raises(aiohttp.ClientError):
                await send(hop.app_listen, method, "/anything", {}, None)
            await asyncio.sleep(0.1)
        assert [s.method for s in app.seen] == [method]

    asyncio.run(scenario())


def test_a_slow_app_is_waited_for_the_hop_has_no_timeout_of_its_own() -> None:
    async def slow(request: web.BaseRequest, body: bytes) -> web.StreamResponse:
        await asyncio.sleep(1.5)
        return web.Response(status=200, text="late")

    async def scenario() -> tuple[object, ...]:
        app = Upstream(answer=slow)
        async with app.serving(), hop_between(app.port, closed_port(), FakeRecorder(), FakeOperationLog()) as hop:
            return await send(hop.app_listen, "GET", "/slow", {}, None)

    status, _reason, _headers, body = asyncio.run(scenario())
    assert (status, body) == (200, b"late")


def test_an_app_that_refuses_the_connection_is_answered_502() -> None:
    async def scenario() -> tuple[object, ...]:
        async with hop_between(closed_port(), closed_port(), FakeRecorder(), FakeOperationLog()) as hop:
            return await send(hop.app_listen, "GET", "/healthz", {}, None)

    assert asyncio.run(scenario())[0] == 502


def test_seen_requests_compare_without_their_framing() -> None:
    """The helper the matrix leans on: two requests differing only in hop-by-hop headers compare equal, and
    differing in any end-to-end header or the body do not (so the matrix can fail)."""
    a = Seen("POST", "/p", ((b"Host", b"h"), (b"Connection", b"close")), b"x")
    b = Seen("POST", "/p", ((b"Host", b"h"), (b"Transfer-Encoding", b"chunked")), b"x")
    assert a.end_to_end() == b.end_to_end()
    assert Seen("POST", "/p", ((b"Host", b"i"),), b"x").end_to_end() != a.end_to_end()
    assert Seen("POST", "/p", ((b"Host", b"h"),), b"y").end_to_end() != a.end_to_end()
