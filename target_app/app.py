"""The FastAPI app that runs in every replica: it records each delivery Dapr makes, then answers.

Routes:

- ``POST /job/{name}`` — a Jobs API trigger (v1.18.3:pkg/channel/http/http_channel.go constructJobRequest);
- ``POST /cron/{name}`` — a cron input binding delivery (onceonly sets each binding's ``route`` to this path);
- ``GET /healthz``; ``GET /metrics`` — Prometheus text with deliveries by source, name and answer.

A delivery without the right ``dapr-api-token`` gets 401 and is not recorded. Otherwise the app decides its
answer (the run's ``Behaviour``: fail the first k, a fixed status, a delay, and for a job named in
``bodies`` a JSON body such as ``{"status": "RETRY"}``), runs the side effects on success, writes the record to the
ledger **before** answering, and answers. If the ledger cannot take the record, the
record goes to the replica's journal with status 503 and the app answers 503, so Dapr delivers again: a delivery
is never acknowledged without a record. It never judges or de-duplicates anything.
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

import redis.asyncio as aioredis
from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from target_app.contract import KEPT_HEADERS, DeliveryRecord
from target_app.recorder import LedgerUnavailable, Recorder, RedisRecorder
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
    inflight = [0]  # deliveries inside the handler right now (the nemesis's "busy" target looks for > 0)

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
        inflight[0] += 1
        try:
            return await handle(source, name, request, received_ns)
        finally:
            inflight[0] -= 1

    async def handle(source: str, name: str, request: Request, received_ns: int) -> Response:
        body = await request.body()
        rec = DeliveryRecord(
            delivery_id=uuid.uuid4().hex,
            source=source,
            name=name,
            replica=settings.replica,
            pid=os.getpid(),
            received_ns=received_ns,
            status=behaviour.status,
            headers={k: v for k, v in request.headers.items() if k.lower() in KEPT_HEADERS},
            body_bytes=len(body),
        )
        try:
            if recorder is not None:
                if behaviour.fail_first and await recorder.next_attempt(source, name) <= behaviour.fail_first:
                    rec = replace(rec, status=500)
                if behaviour.delay_ms:
                    await asyncio.sleep(behaviour.delay_ms / 1000)
                if 200 <= rec.status < 300:
                    occurrence = str(received_ns // (behaviour.effect_window_ms * 1_000_000))
                    naive = behaviour.side_effect in ("naive", "both")
                    idem = behaviour.side_effect in ("idempotent", "both")
                    await recorder.side_effect(source, name, occurrence, naive, idem)
                await recorder.record(rec)
            elif behaviour.delay_ms:
                await asyncio.sleep(behaviour.delay_ms / 1000)
        except LedgerUnavailable as exc:
            assert recorder is not None
            rec = replace(rec, status=503, ledger="journal")
            recorder.journal(rec)
            sys.stderr.write(f"ledger unavailable, delivery {rec.delivery_id} journaled, answering 503: {exc}\n")
        _log(rec)
        counter.labels(source, name, str(rec.status)).inc()
        if source == "jobs" and name in behaviour.bodies and rec.ledger != "journal":
            content = json.dumps(behaviour.bodies[name]).encode()
            return Response(content=content, status_code=rec.status, media_type="application/json")
        return Response(status_code=rec.status)

    @app.get("/healthz")
    def healthz() -> dict[str, int | str]:
        return {"status": "ok", "replica": settings.replica, "inflight": inflight[0]}

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


def _log(rec: DeliveryRecord) -> None:
    line = {"event": "delivery", **json.loads(rec.to_json())}
    line.pop("headers", None)
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def create_app_from_env() -> FastAPI:
    """uvicorn factory: ``uvicorn --factory target_app.app:create_app_from_env``."""
    settings = Settings.from_env()
    recorder: Recorder | None = None
    if settings.run_id is not None:
        if settings.redis_port is None or settings.journal is None:
            raise RuntimeError("ONCEONLY_RUN_ID is set, so ONCEONLY_REDIS_PORT and ONCEONLY_JOURNAL must be too")
        # A burst of deliveries waits for a connection instead of failing: redis-py's default pool (100, raising
        # "Too many connections") made 700 of 1,000 jobs due at one instant look unrecordable, so the app answered
        # 503 and Dapr retried each 3 times (benchmarks/bench_scheduler.py, 2026-11-29). A slow write is still a
        # write, so the socket timeout is generous too; the journal is for Redis being down.
        pool = aioredis.BlockingConnectionPool(
            host="127.0.0.1",
            port=settings.redis_port,
            password=settings.redis_password,
            max_connections=64,
            timeout=10.0,
            socket_timeout=10.0,
            socket_connect_timeout=2.0,
        )
        client = aioredis.Redis(connection_pool=pool)
        recorder = RedisRecorder(client, settings.run_id, Path(settings.journal))
    return create_app(settings, recorder)
