"""Forwarding one HTTP/1.1 exchange unchanged: the request streamed to the next server, its answer streamed back.

What "unchanged" means here: the method, the raw path and query, every end-to-end header (``Host`` and
``dapr-api-token`` included, in their order) and the body's bytes go on as they came; the answer's status, reason,
end-to-end headers and body bytes come back as the next server sent them. Hop-by-hop headers are the connection's,
not the message's (RFC 9110 §7.6.1): ``Connection``, every field it names, ``Keep-Alive``, ``Proxy-Connection``,
``TE``, ``Transfer-Encoding`` and ``Upgrade`` are dropped, and each side frames the body itself (a
``Content-Length`` stays as it was; a chunked body is chunked again). Two additions come from aiohttp's server and
are allowed by RFC 9110: an answer with a body and no ``Content-Type`` gets ``application/octet-stream``, and one
without ``Date`` or ``Server`` gets them. No ``Via`` is added.

What the hop never adds: a retry (aiohttp's own retry of an idempotent request on a dropped keep-alive connection
is switched off: ``upstream_session``), a timeout (every one is None: daprd's own are the only ones), a body read
whole before it is passed on (both directions stream; ``send_answer`` holds back only the last chunk, so its
caller can write a record before the answer is complete), decompression, cookies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade"})
# The headers aiohttp's client adds unless told not to; the hop sends only what it was sent.
_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


class CutOff(Exception):
    """The next server dropped the exchange after the request was sent (e.g. the app died mid-handler)."""


def end_to_end(headers: CIMultiDictProxy[str] | CIMultiDict[str]) -> CIMultiDict[str]:
    """``headers`` less the hop-by-hop ones (RFC 9110 §7.6.1), in their order, repeated ones kept."""
    named = {token.strip().lower() for value in headers.getall("Connection", ()) for token in value.split(",")}
    drop = HOP_BY_HOP | named
    return CIMultiDict((key, value) for key, value in headers.items() if key.lower() not in drop)


def upstream_session(*, fresh_connections: bool) -> aiohttp.ClientSession:
    """A client for one next server: no timeout, no retry, no decompression, no cookies, no headers of its own.

    ``fresh_connections``: one TCP connection per exchange (the app side). A kept-alive connection the app closed
    while idle fails a delivery sent on it in a way no one can tell from an app that died mid-handler; a fresh
    connection makes "refused" mean the app is down and a drop after sending mean the app was cut off.
    """
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, force_close=fresh_connections),
        timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_read=None, sock_connect=None),
        auto_decompress=False,
        skip_auto_headers=_AUTO_HEADERS,
        cookie_jar=aiohttp.DummyCookieJar(),
    )
    # aiohttp sends an idempotent request (GET, OPTIONS, DELETE, ...) again when its connection drops; daprd or
    # the app would then see two requests for one. No public switch: tests/unit/test_hop_relay.py shows it off.
    session._retry_connection = False
    return session


async def _body(request: web.BaseRequest) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_any():
        yield chunk


async def open_upstream(
    request: web.BaseRequest, session: aiohttp.ClientSession, base_url: str, body: bytes | None = None
) -> aiohttp.ClientResponse:
    """Send ``request`` on to ``base_url`` (its body streamed, or ``body`` when the caller read it already) and
    return the answer once its status and headers are in. Raises ``aiohttp.ClientConnectorError`` when nothing
    was sent (refused), ``CutOff`` when the exchange dropped after sending."""
    headers = end_to_end(request.headers)
    data: bytes | AsyncIterator[bytes] | None = body
    if body is None and request.body_exists:
        data = _body(request)
    try:
        return await session.request(
            request.method,
            URL(base_url + request.raw_path, encoded=True),
            headers=headers,
            data=data,
            allow_redirects=False,
            compress=None,
            chunked=None,
        )
    except aiohttp.ClientConnectorError:
        raise
    except (aiohttp.ClientError, OSError) as exc:
        raise CutOff(f"{type(exc).__name__}: {exc}") from exc


async def answer_chunks(upstream: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The answer's body as it arrives; ``CutOff`` when the next server drops it half-way."""
    try:
        async for chunk in upstream.content.iter_any():
            yield chunk
    except (aiohttp.ClientError, OSError) as exc:
        raise CutOff(f"{type(exc).__name__}: {exc}") from exc


async def send_answer(
    request: web.BaseRequest,
    upstream: aiohttp.ClientResponse,
    chunks: AsyncIterator[bytes],
    before_done: Callable[[int], Awaitable[None]] | None = None,
) -> web.StreamResponse:
    """Stream the next server's answer back to whoever sent ``request``.

    ``before_done(size)`` runs once the whole answer has come in and before the client has all of it: the status
    line and headers wait for the first chunk, and the last chunk (or, with no body, the headers) waits for
    ``before_done``, so a client never holds a complete answer that was not recorded."""
    answer = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=end_to_end(upstream.headers))
    held = b""
    size = 0
    async for chunk in chunks:
        if not chunk:
            continue
        if not answer.prepared:
            await answer.prepare(request)
        if held:
            await answer.write(held)
        held = chunk
        size += len(chunk)
    if before_done is not None:
        await before_done(size)
    if not answer.prepared:
        await answer.prepare(request)
    if held:
        await answer.write(held)
    await answer.write_eof()
    return answer


def drop_connection(request: web.BaseRequest) -> web.StreamResponse:
    """Close the client's connection without an answer, as the next server did to the hop; the response returned
    is never sent (aiohttp's handler must return one)."""
    if request.transport is not None:
        request.transport.abort()
    return web.StreamResponse(status=502)


async def relay(request: web.BaseRequest, session: aiohttp.ClientSession, base_url: str) -> web.StreamResponse:
    """Forward an exchange the hop does not record: 502 when the next server refused the connection, the
    connection dropped when the next server dropped it."""
    try:
        upstream = await open_upstream(request, session, base_url)
    except aiohttp.ClientConnectorError:
        return web.Response(status=502, text="onceonly hop: the next server refused the connection\n")
    except CutOff:
        return drop_connection(request)
    try:
        return await send_answer(request, upstream, answer_chunks(upstream))
    except CutOff:
        return drop_connection(request)
    finally:
        upstream.release()
