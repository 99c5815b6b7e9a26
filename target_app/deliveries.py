"""The delivery path: ``POST /job/<name>`` and ``POST /cron/<name>`` served as plain ASGI, in front of FastAPI.

Every delivery Dapr makes goes through here, so it is written for speed without changing what is recorded: the
arrival before any handler work, the handler as the run's ``Behaviour`` says, the answer, then the HTTP answer.
FastAPI's routing, request objects and dependency layers were about a fifth of a delivery's CPU (py-spy, issue
17), and a delivery needs none of them: the path names the source and the job, the body is only counted.

A delivery without the right ``dapr-api-token`` gets 401 and is not recorded; another method on these paths gets
405 (as FastAPI answered). A delivery is never acknowledged without a record: if the arrival cannot go to Redis,
the arrival and an answer 503 go to the replica's journal and the app answers 503 without any handler work (Dapr
delivers again); if the answer cannot, it goes to the journal with status 503 and the app answers 503.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import sys
import time
import uuid
from dataclasses import replace
from typing import Any

from prometheus_client import Counter
from starlette.types import Receive, Scope, Send

from target_app.contract import KEPT_HEADERS, AnswerRecord, ArrivalRecord, as_dict
from target_app.recorder import LedgerUnavailable, Recorder
from target_app.settings import Settings

TOKEN_HEADER = "dapr-api-token"
ROUTES = (("/job/", "jobs"), ("/cron/", "binding"))  # path prefix -> the delivery's source
_KEPT = frozenset(h.encode() for h in KEPT_HEADERS)
_TOKEN = TOKEN_HEADER.encode()
JOURNAL = "journal"  # a record the ledger could not take, written to the replica's journal


def route(path: str) -> tuple[str, str] | None:
    """(source, name) for a delivery path, None for any other path."""
    for prefix, source in ROUTES:
        if path.startswith(prefix):
            return source, path[len(prefix) :]
    return None


class Deliveries:
    """One replica's delivery handler; ``inflight`` is what ``/healthz`` shows (deliveries inside the handler)."""

    def __init__(self, settings: Settings, recorder: Recorder | None, counter: Counter) -> None:
        self.settings = settings
        self.recorder = recorder
        self.counter = counter
        self.inflight: dict[str, dict[str, str | int]] = {}
        self.pid = os.getpid()
        self._token = settings.app_token.encode() if settings.app_token is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send, source: str, name: str) -> None:
        received_ns = time.time_ns()
        if scope["method"] != "POST":
            await _answer(send, 405, b"", [(b"allow", b"POST")])
            return
        headers: dict[str, str] = {}
        sent_token = b""
        for key, value in scope["headers"]:
            if key in _KEPT:
                headers[key.decode("latin-1")] = value.decode("latin-1")
            elif key == _TOKEN:
                sent_token = value
        if self._token is not None and not hmac.compare_digest(sent_token, self._token):
            await _answer(send, 401, b"")
            return
        body_bytes = await _body_size(receive)
        arrival = ArrivalRecord(
            delivery_id=uuid.uuid4().hex,
            source=source,
            name=name,
            replica=self.settings.replica,
            pid=self.pid,
            received_ns=received_ns,
            headers=headers,
            body_bytes=body_bytes,
            pod=self.settings.pod,
        )
        answer = await self._record_and_handle(arrival)
        await self._respond(send, arrival, answer)

    async def _record_and_handle(self, arrival: ArrivalRecord) -> AnswerRecord:
        behaviour, recorder = self.settings.behaviour, self.recorder
        attempt: int | None = None
        if recorder is not None:
            try:  # the arrival, before any handler work: a delivery cut off mid-handler is still on record
                attempt = await recorder.arrive(arrival, count_attempt=behaviour.fail_first > 0)
            except LedgerUnavailable as exc:
                answer = AnswerRecord(
                    arrival.delivery_id, arrival.replica, self.pid, 503, time.time_ns(), (), "journal"
                )
                recorder.journal(replace(arrival, ledger="journal"), answer)
                sys.stderr.write(
                    f"ledger unavailable, delivery {arrival.delivery_id} journaled, answering 503: {exc}\n"
                )
                return answer
        self.inflight[arrival.delivery_id] = {
            "delivery_id": arrival.delivery_id,
            "source": arrival.source,
            "name": arrival.name,
            "received_ns": arrival.received_ns,
        }
        try:
            return await self._handle(arrival, attempt)
        finally:
            del self.inflight[arrival.delivery_id]

    async def _handle(self, arrival: ArrivalRecord, attempt: int | None) -> AnswerRecord:
        """The handler: fail-first, the delay, the side effects on success; then the answer record."""
        behaviour, recorder = self.settings.behaviour, self.recorder
        status = 500 if attempt is not None and attempt <= behaviour.fail_first else behaviour.status
        if behaviour.delay_ms:
            await asyncio.sleep(behaviour.delay_ms / 1000)
        if recorder is None:
            return AnswerRecord(arrival.delivery_id, arrival.replica, self.pid, status, time.time_ns())
        effects: tuple[str, ...] = ()
        try:
            if 200 <= status < 300:
                occurrence = str(arrival.received_ns // (behaviour.effect_window_ms * 1_000_000))
                naive = behaviour.side_effect in ("naive", "both")
                idem = behaviour.side_effect in ("idempotent", "both")
                effects = await recorder.side_effects(
                    arrival.source, arrival.name, occurrence, arrival.delivery_id, naive, idem
                )
            answer = AnswerRecord(arrival.delivery_id, arrival.replica, self.pid, status, time.time_ns(), effects)
            await recorder.answer(answer)
        except LedgerUnavailable as exc:
            answer = AnswerRecord(
                arrival.delivery_id, arrival.replica, self.pid, 503, time.time_ns(), effects, "journal"
            )
            recorder.journal(answer)
            sys.stderr.write(f"ledger unavailable, answer {arrival.delivery_id} journaled, answering 503: {exc}\n")
        return answer

    async def _respond(self, send: Send, arrival: ArrivalRecord, answer: AnswerRecord) -> None:
        _log(arrival, answer)
        self.counter.labels(arrival.source, arrival.name, str(answer.status)).inc()
        bodies = self.settings.behaviour.bodies
        if arrival.source == "jobs" and arrival.name in bodies and answer.ledger != JOURNAL:
            content = json.dumps(bodies[arrival.name]).encode()
            await _answer(send, answer.status, content, [(b"content-type", b"application/json")])
        else:
            await _answer(send, answer.status, b"")


async def _body_size(receive: Receive) -> int:
    """Read the whole request body (Dapr waits for the answer after sending it); its size."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return size
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            return size


async def _answer(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    head = [(b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


def _log(arrival: ArrivalRecord, answer: AnswerRecord) -> None:
    """One stdout line per answered delivery: the arrival's fields (no headers) and the answer's."""
    line: dict[str, Any] = {"event": "delivery", **as_dict(arrival), **as_dict(answer)}
    del line["headers"]
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
