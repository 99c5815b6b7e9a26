"""The FastAPI app that runs in every replica: it records each delivery Dapr makes on arrival, handles it, records
its answer, then answers.

Routes:

- ``POST /job/{name}`` — a Jobs API trigger (v1.18.3:pkg/channel/http/http_channel.go constructJobRequest);
- ``POST /cron/{name}`` — a cron input binding delivery (onceonly sets each binding's ``route`` to this path);
- ``GET /healthz`` — the replica and the deliveries inside the handler right now (id, source, name, received
  time: what the nemesis's ``busy`` target waits for); ``GET /metrics`` — Prometheus text with deliveries by
  source, name and answer.

A delivery without the right ``dapr-api-token`` gets 401 and is not recorded. Otherwise the app writes the
**arrival** record before any handler work (with the fail-first attempt counter in the same round trip), then
handles the delivery as the run's ``Behaviour`` says (fail the first k, a fixed status, a delay, the side effects on
success, for a job named in ``bodies`` a JSON body such as ``{"status": "RETRY"}``), writes the **answer** record,
and answers. A delivery whose app dies mid-handler leaves an arrival and no answer: the ledger calls it cut off.

A delivery is never acknowledged without a record: if the arrival cannot go to Redis, the arrival and an answer
503 go to the replica's journal and the app answers 503 without any handler work (Dapr delivers again); if the
answer cannot, it goes to the journal with status 503 and the app answers 503. It never judges or de-duplicates.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from target_app.contract import KEPT_HEADERS, AnswerRecord, ArrivalRecord, as_dict
from target_app.recorder import LedgerUnavailable, Recorder, RedisRecorder, ledger_client
from target_app.settings import Settings

TOKEN_HEADER = "dapr-api-token"


def create_app(settings: Settings, recorder: Recorder | None = None) -> FastAPI:
    """The app for one replica. ``recorder`` None: deliveries are only logged (no ledger)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if recorder is not None:
            await recorder.close()

    app = FastAPI(title="onceonly target app", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    registry = CollectorRegistry()
    counter = Counter(
        "onceonly_deliveries",
        "Deliveries received, by source, name and answer",
        ["source", "name", "status"],
        registry=registry,
    )
    behaviour = settings.behaviour
    pid = os.getpid()
    inflight: dict[str, dict[str, str | int]] = {}  # delivery id -> what /healthz says about it

    def authorized(request: Request) -> bool:
        if settings.app_token is None:
            return True
        # Compared as bytes: compare_digest raises TypeError on a str with non-ASCII characters (a 500, not 401).
        sent = request.headers.get(TOKEN_HEADER, "").encode("latin-1")
        return hmac.compare_digest(sent, settings.app_token.encode())

    async def deliver(source: str, name: str, request: Request) -> Response:
        received_ns = time.time_ns()
        if not authorized(request):
            return Response(status_code=401)
        body = await request.body()
        arrival = ArrivalRecord(
            delivery_id=uuid.uuid4().hex,
            source=source,
            name=name,
            replica=settings.replica,
            pid=pid,
            received_ns=received_ns,
            headers={k: v for k, v in request.headers.items() if k.lower() in KEPT_HEADERS},
            body_bytes=len(body),
            pod=settings.pod,
        )
        attempt: int | None = None
        if recorder is not None:
            try:  # the arrival, before any handler work: a delivery cut off mid-handler is still on record
                attempt = await recorder.arrive(arrival, count_attempt=behaviour.fail_first > 0)
            except LedgerUnavailable as exc:
                answer = AnswerRecord(arrival.delivery_id, settings.replica, pid, 503, time.time_ns(), (), "journal")
                recorder.journal(replace(arrival, ledger="journal"), answer)
                sys.stderr.write(
                    f"ledger unavailable, delivery {arrival.delivery_id} journaled, answering 503: {exc}\n"
                )
                return respond(arrival, answer)
        inflight[arrival.delivery_id] = {
            "delivery_id": arrival.delivery_id,
            "source": source,
            "name": name,
            "received_ns": received_ns,
        }
        try:
            answer = await handle(arrival, attempt)
        finally:
            del inflight[arrival.delivery_id]
        return respond(arrival, answer)

    async def handle(arrival: ArrivalRecord, attempt: int | None) -> AnswerRecord:
        """The handler: fail-first, the delay, the side effects on success; then the answer record."""
        status = 500 if attempt is not None and attempt <= behaviour.fail_first else behaviour.status
        if behaviour.delay_ms:
            await asyncio.sleep(behaviour.delay_ms / 1000)
        if recorder is None:
            return AnswerRecord(arrival.delivery_id, settings.replica, pid, status, time.time_ns())
        effects: tuple[str, ...] = ()
        try:
            if 200 <= status < 300:
                occurrence = str(arrival.received_ns // (behaviour.effect_window_ms * 1_000_000))
                naive = behaviour.side_effect in ("naive", "both")
                idem = behaviour.side_effect in ("idempotent", "both")
                effects = await recorder.side_effects(
                    arrival.source, arrival.name, occurrence, arrival.delivery_id, naive, idem
                )
            answer = AnswerRecord(arrival.delivery_id, settings.replica, pid, status, time.time_ns(), effects)
            await recorder.answer(answer)
        except LedgerUnavailable as exc:
            answer = AnswerRecord(arrival.delivery_id, settings.replica, pid, 503, time.time_ns(), effects, "journal")
            recorder.journal(answer)
            sys.stderr.write(f"ledger unavailable, answer {arrival.delivery_id} journaled, answering 503: {exc}\n")
        return answer

    def respond(arrival: ArrivalRecord, answer: AnswerRecord) -> Response:
        _log(arrival, answer)
        counter.labels(arrival.source, arrival.name, str(answer.status)).inc()
        if arrival.source == "jobs" and arrival.name in behaviour.bodies and answer.ledger != "journal":
            content = json.dumps(behaviour.bodies[arrival.name]).encode()
            return Response(content=content, status_code=answer.status, media_type="application/json")
        return Response(status_code=answer.status)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:  # async: no thread-pool hop, the nemesis polls it every 50 ms
        held = sorted(inflight.values(), key=lambda d: (d["received_ns"], d["delivery_id"]))
        return {"status": "ok", "replica": settings.replica, "inflight": len(held), "deliveries": held}

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/job/{name:path}")
    async def job(name: str, request: Request) -> Response:
        return await deliver("jobs", name, request)

    @app.post("/cron/{name:path}")
    async def cron(name: str, request: Request) -> Response:
        return await deliver("binding", name, request)

    return app


def _log(arrival: ArrivalRecord, answer: AnswerRecord) -> None:
    """One stdout line per answered delivery: the arrival's fields (no headers) and the answer's."""
    line: dict[str, Any] = {"event": "delivery", **as_dict(arrival), **as_dict(answer)}
    del line["headers"]
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def create_app_from_env() -> FastAPI:
    """uvicorn factory: ``uvicorn --factory target_app.app:create_app_from_env``."""
    settings = Settings.from_env()
    recorder: Recorder | None = None
    if settings.run_id is not None:
        if settings.redis_port is None or settings.journal is None:
            raise RuntimeError("ONCEONLY_RUN_ID is set, so ONCEONLY_REDIS_PORT and ONCEONLY_JOURNAL must be too")
        client = ledger_client(settings.redis_host, settings.redis_port, settings.redis_password)
        recorder = RedisRecorder(client, settings.run_id, Path(settings.journal))
    return create_app(settings, recorder)
