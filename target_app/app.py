"""The FastAPI app that runs in every replica: it answers Dapr's deliveries and says which replica got them.

This first version answers ``POST /job/{name}`` (a Jobs API trigger, v1.18.3:pkg/channel/http/http_channel.go
constructJobRequest) with 200 and writes one JSON line per delivery to its stdout, which the cluster backend
keeps as the replica's app log. The recorder that writes to the run's ledger comes with the verdict work.
"""

from __future__ import annotations

import hmac
import json
import sys
import time
import uuid

from fastapi import FastAPI, Request, Response

from target_app.settings import Settings

TOKEN_HEADER = "dapr-api-token"


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="onceonly target app", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz() -> dict[str, int | str]:
        return {"status": "ok", "replica": settings.replica}

    @app.post("/job/{name:path}")
    async def job(name: str, request: Request) -> Response:
        # Compared as bytes: compare_digest raises TypeError on a str with non-ASCII characters (a 500, not 401).
        if settings.app_token is not None and not hmac.compare_digest(
            request.headers.get(TOKEN_HEADER, "").encode("latin-1"), settings.app_token.encode()
        ):
            return Response(status_code=401)
        body = await request.body()
        line = {
            "event": "delivery",
            "source": "jobs",
            "name": name,
            "replica": settings.replica,
            "received_ns": time.time_ns(),
            "delivery_id": uuid.uuid4().hex,
            "body_bytes": len(body),
            "status": 200,
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        return Response(status_code=200)

    return app


def create_app_from_env() -> FastAPI:
    """uvicorn factory: ``uvicorn --factory target_app.app:create_app_from_env``."""
    return create_app(Settings.from_env())
