"""daprd → hop → app: each delivery recorded on arrival and on its answer, every other request passed through.

A request is a delivery exactly when the recorder app (``target_app.app``) would record it: ``POST /job/<name>``
is a Jobs API trigger (source ``jobs``), ``POST /cron/<name>`` a cron binding's delivery (source ``binding``; a
scenario routes its bindings there). Anything else daprd sends the app (``/healthz``, ``/dapr/config``,
``/dapr/subscribe``, a binding's ``OPTIONS`` probe, any other route and method) goes through unrecorded.

A delivery, in order:

1. the **arrival** record (``target_app.contract.ArrivalRecord``), before a byte goes to the app. If the ledger
   cannot take it, the arrival and an answer 503 go to the replica's journal and daprd gets 503; the app never
   sees the delivery. Forwarding it unrecorded would let the app act on a delivery no verdict can count, and 503
   is what the recorder app answers then: daprd's failure policy delivers again. The arrival's ``pid`` is the
   hop's (the app's is not known to it); ``body_bytes`` the declared ``Content-Length`` (-1 for a chunked body);
2. the delivery forwarded unchanged (``hop.relay``), on a fresh connection;
3. the **answer** record once the app's whole answer is in (its status, the time, ``answer_bytes``) and before
   daprd has all of it. If Redis cannot take it, it goes to the journal (durable, fsync'd) and the app's answer
   goes on unchanged: the hop never alters an answer it has recorded;
4. the app's answer streamed to daprd.

The app refusing the connection (down) is answered 502 and recorded as the answer 502. The app dropping the
connection after the delivery was sent (killed mid-handler) is passed on as a dropped connection with no answer
record: the ledger reads it as a delivery cut off, as it does for the recorder app.

``GET /.onceonly/healthz`` is the hop's own (no app route starts with ``/.onceonly/``): the deliveries inside the
app's handler now, in the recorder app's ``/healthz`` shape, for the nemesis's ``busy`` target.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from dataclasses import replace

import aiohttp
from aiohttp import web

from hop.relay import CutOff, answer_chunks, drop_connection, open_upstream, relay, send_answer
from target_app.contract import KEPT_HEADERS, AnswerRecord, ArrivalRecord
from target_app.recorder import LedgerUnavailable, Recorder

HEALTH_PATH = "/.onceonly/healthz"
# path prefix -> source, as the recorder app's routes
SOURCES = {"/job/": "jobs", "/cron/": "binding"}


def delivery_of(method: str, path: str) -> tuple[str, str] | None:
    """(source, name) of a delivery from its method and decoded path; None for anything else."""
    if method != "POST":
        return None
    for prefix, source in SOURCES.items():
        if path.startswith(prefix) and len(path) > len(prefix):
            return source, path[len(prefix) :]
    return None


class DeliveryHop:
    """The app-side listener's handler (an ``aiohttp.web.Server`` handler)."""

    def __init__(self, session: aiohttp.ClientSession, app_url: str, recorder: Recorder, replica: int) -> None:
        self._session = session
        self._app_url = app_url
        self._recorder = recorder
        self._replica = replica
        self._pid = os.getpid()
        self.inflight: dict[str, dict[str, str | int]] = {}  # delivery id -> what the health route says of it

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        received_ns = time.time_ns()
        found = delivery_of(request.method, request.path)
        if found is None:
            if request.method == "GET" and request.path == HEALTH_PATH:
                return self._health()
            return await relay(request, self._session, self._app_url)
        source, name = found
        declared = request.content_length
        arrival = ArrivalRecord(
            delivery_id=uuid.uuid4().hex,
            source=source,
            name=name,
            replica=self._replica,
            pid=self._pid,
            received_ns=received_ns,
            headers={k.lower(): v for k, v in request.headers.items() if k.lower() in KEPT_HEADERS},
            body_bytes=declared if declared is not None else (-1 if request.body_exists else 0),
        )
        try:
            await self._recorder.arrive(arrival, count_attempt=False)
        except LedgerUnavailable as exc:
            answer = self._answer(arrival, 503, ledger="journal")
            self._recorder.journal(replace(arrival, ledger="journal"), answer)
            _say(f"ledger unavailable, delivery {arrival.delivery_id} journaled, answering 503 unforwarded: {exc}")
            return web.Response(status=503, text="onceonly hop: the ledger cannot record this delivery\n")
        self.inflight[arrival.delivery_id] = {
            "delivery_id": arrival.delivery_id,
            "source": source,
            "name": name,
            "received_ns": received_ns,
        }
        try:
            return await self._forward(request, arrival)
        finally:
            del self.inflight[arrival.delivery_id]

    async def _forward(self, request: web.BaseRequest, arrival: ArrivalRecord) -> web.StreamResponse:
        try:
            upstream = await open_upstream(request, self._session, self._app_url)
        except aiohttp.ClientConnectorError as exc:
            await self._record(self._answer(arrival, 502))
            _say(f"the app refused delivery {arrival.delivery_id}, answering 502: {exc}")
            return web.Response(status=502, text="onceonly hop: the app refused the connection\n")
        except CutOff as exc:
            _say(f"delivery {arrival.delivery_id} cut off before the app answered: {exc}")
            return drop_connection(request)

        async def record_answer(size: int) -> None:
            await self._record(self._answer(arrival, upstream.status, size=size))

        try:
            return await send_answer(request, upstream, answer_chunks(upstream), record_answer)
        except CutOff as exc:
            _say(f"delivery {arrival.delivery_id} cut off while the app answered: {exc}")
            return drop_connection(request)
        finally:
            upstream.release()

    def _answer(self, arrival: ArrivalRecord, status: int, *, ledger: str = "redis", size: int = 0) -> AnswerRecord:
        return AnswerRecord(arrival.delivery_id, self._replica, self._pid, status, time.time_ns(), (), ledger, size)

    async def _record(self, answer: AnswerRecord) -> None:
        try:
            await self._recorder.answer(answer)
        except LedgerUnavailable as exc:
            self._recorder.journal(replace(answer, ledger="journal"))
            _say(f"ledger unavailable, answer {answer.delivery_id} journaled ({answer.status} passed on): {exc}")

    def _health(self) -> web.Response:
        held = sorted(self.inflight.values(), key=lambda d: (d["received_ns"], d["delivery_id"]))
        return web.json_response({"status": "ok", "replica": self._replica, "inflight": len(held), "deliveries": held})


def _say(line: str) -> None:
    sys.stderr.write(f"hop: {line}\n")
