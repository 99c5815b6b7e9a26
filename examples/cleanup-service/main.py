"""A cleanup service, written the way Dapr's tutorials write one: a FastAPI app that schedules its own recurring
job when it starts and does the cleanup each time Dapr triggers it.

Run it beside a daprd (``dapr run --app-id cleanup --app-port 8000 -- uvicorn main:app --port 8000``): on start-up
it asks its sidecar for the job ``cleanup`` every 5 seconds; Dapr then POSTs ``/job/cleanup`` each time the job is
due. With several replicas every one of them asks: one call creates the job, the others get 409 (the job exists;
Dapr 1.16 and later) and carry on. It knows nothing of onceonly: onceonly's hop sits between it and daprd and
records what happens (README, "Your own app").

Environment: ``DAPR_HTTP_PORT`` (set by ``dapr run``), ``DAPR_API_TOKEN`` (when the sidecar wants one),
``CLEANUP_WORK_SECONDS`` (how long one cleanup takes, default 2).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request

log = logging.getLogger("cleanup-service")

JOB_NAME = "cleanup"
JOB = {"schedule": "@every 5s", "data": {"task": "remove expired sessions"}}


def dapr_url() -> str:
    return f"http://localhost:{os.getenv('DAPR_HTTP_PORT', '3500')}"


def dapr_headers() -> dict[str, str]:
    token = os.getenv("DAPR_API_TOKEN")
    return {"dapr-api-token": token} if token else {}


async def schedule_cleanup() -> None:
    """Wait for the sidecar, then ask it for the recurring cleanup job (once; a 409 means it exists)."""
    async with httpx.AsyncClient(base_url=dapr_url(), headers=dapr_headers(), timeout=10) as client:
        for _ in range(60):
            try:
                ready = await client.get("/v1.0/healthz/outbound")
                if ready.status_code < 300:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(1)
        try:
            response = await client.post(f"/v1.0-alpha1/jobs/{JOB_NAME}", json=JOB)
        except httpx.TransportError as exc:
            log.error("could not reach the sidecar to schedule job %s: %s", JOB_NAME, exc)
            return
    if response.status_code == 409:
        log.info("job %s already scheduled (another replica was first)", JOB_NAME)
    elif response.is_success:
        log.info("job %s scheduled: %s", JOB_NAME, JOB["schedule"])
    else:
        log.error("could not schedule job %s: %s %s", JOB_NAME, response.status_code, response.text)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    task = asyncio.create_task(schedule_cleanup())  # in the background: the sidecar waits for our port first
    yield
    task.cancel()


app = FastAPI(title="cleanup service", lifespan=lifespan)
removed_total = 0


@app.post("/job/cleanup")
async def cleanup(request: Request) -> dict[str, Any]:
    """Dapr triggers the job here. The "work": a pause standing for deleting expired sessions."""
    global removed_total
    job = await request.body()
    await asyncio.sleep(float(os.getenv("CLEANUP_WORK_SECONDS", "2")))
    removed_total += 3
    log.info("cleanup done (%d bytes of job data)", len(job))
    return {"status": "SUCCESS", "removed": 3, "removed_total": removed_total}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
