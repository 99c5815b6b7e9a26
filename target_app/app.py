"""The app that runs in every replica: it records each delivery Dapr makes on arrival, handles it, records its
answer, then answers.

Routes:

- ``POST /job/{name}`` — a Jobs API trigger (v1.18.3:pkg/channel/http/http_channel.go constructJobRequest);
- ``POST /cron/{name}`` — a cron input binding delivery (onceonly sets each binding's ``route`` to this path);
- ``GET /healthz`` — the replica and the deliveries inside the handler right now (id, source, name, received
  time: what the nemesis's ``busy`` target waits for); ``GET /metrics`` — Prometheus text with deliveries by
  source, name and answer.

The two delivery routes are plain ASGI (``target_app/deliveries.py``: what is recorded, in which order, and what
is answered when the ledger cannot take a record); everything else is FastAPI. It never judges or de-duplicates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from starlette.types import ASGIApp, Receive, Scope, Send

from target_app.deliveries import TOKEN_HEADER, Deliveries, route
from target_app.recorder import Recorder, RedisRecorder, ledger_client
from target_app.settings import Settings

__all__ = ["TOKEN_HEADER", "create_app", "create_app_from_env"]


def create_app(settings: Settings, recorder: Recorder | None = None) -> ASGIApp:
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
    deliveries = Deliveries(settings, recorder, counter)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:  # async: no thread-pool hop, the nemesis polls it every 50 ms
        held = sorted(deliveries.inflight.values(), key=lambda d: (d["received_ns"], d["delivery_id"]))
        return {"status": "ok", "replica": settings.replica, "inflight": len(held), "deliveries": held}

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def front(scope: Scope, receive: Receive, send: Send) -> None:
        found = route(scope["path"]) if scope["type"] == "http" else None
        if found is None:
            await app(scope, receive, send)
        else:
            await deliveries(scope, receive, send, *found)

    return front


def create_app_from_env() -> ASGIApp:
    """uvicorn factory: ``uvicorn --factory target_app.app:create_app_from_env``."""
    settings = Settings.from_env()
    recorder: Recorder | None = None
    if settings.run_id is not None:
        if settings.redis_port is None or settings.journal is None:
            raise RuntimeError("ONCEONLY_RUN_ID is set, so ONCEONLY_REDIS_PORT and ONCEONLY_JOURNAL must be too")
        client = ledger_client(settings.redis_host, settings.redis_port, settings.redis_password)
        recorder = RedisRecorder(client, settings.run_id, Path(settings.journal))
    return create_app(settings, recorder)
