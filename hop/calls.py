"""app → hop → daprd: the app's Jobs API calls recorded as operations, every other call passed through.

A Jobs API call (``POST``/``GET``/``DELETE`` on ``/v1.0/jobs/<name>`` or ``/v1.0-alpha1/jobs/<name>``:
schedule, get, delete) is recorded the way the harness's own ``JobsClient`` records its calls, in the format of
``target_app.operations``, to the run's ``app-ops`` stream (``OperationLog``):

1. the ``invoke`` row, before the call goes on: method, path, the replica (``replica``: whose start-up race a call
   is part of), and the body the app sent (``body`` parsed from
   JSON, as the judge rebuilds a job's plan from it; ``body_text`` when it is not JSON). If the ledger cannot take
   it, the app gets 503 and daprd never sees the call: a job scheduled without a record would make every one of
   its deliveries look spurious. The body is read whole first (a Jobs API body is a few hundred bytes);
2. the call forwarded unchanged (``hop.relay``), on a kept-alive connection to daprd;
3. one outcome row, by ``target_app.operations.jobs_outcome`` (``ok``, ``fail``, ``info``) once daprd answered;
   daprd refusing the connection is ``fail`` (nothing was sent) and answered 502; daprd dropping it after the
   call was sent is ``info`` (it may have taken effect) and the app's connection is dropped too. An outcome the
   ledger cannot take is said on stderr and the answer goes on: the call has happened either way, and its
   ``invoke`` row alone reads as "maybe applied";
4. daprd's answer returned to the app unchanged.

State, pub/sub, metadata, invocation and every other call go through unrecorded and streamed.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from hop.oplog import OperationLog
from hop.relay import CutOff, drop_connection, open_upstream, relay, send_answer
from target_app.operations import BODY_LIMIT, JobsKind, Phase, jobs_call, jobs_outcome, operation_json
from target_app.recorder import LedgerUnavailable


class CallHop:
    """The dapr-side listener's handler (an ``aiohttp.web.Server`` handler)."""

    def __init__(
        self, session: aiohttp.ClientSession, dapr_url: str, oplog: OperationLog, replica: int | None = None
    ) -> None:
        self._replica = replica
        self._session = session
        self._dapr_url = dapr_url
        self._oplog = oplog

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        call = jobs_call(request.method, request.path)
        if call is None:
            return await relay(request, self._session, self._dapr_url)
        kind, name = call
        body = await request.content.read()
        op_id = uuid.uuid4().hex
        try:
            await self._oplog.record(
                operation_json(op_id, kind, name, "invoke", time.time_ns(), _invoke(request, body, self._replica))
            )
        except LedgerUnavailable as exc:
            _say(f"ledger unavailable, {kind} {name!r} not forwarded, answering 503: {exc}")
            return web.json_response(
                {"errorCode": "ONCEONLY_HOP_LEDGER", "message": f"the hop cannot record this call: {exc}"}, status=503
            )
        try:
            upstream = await open_upstream(request, self._session, self._dapr_url, body)
        except aiohttp.ClientConnectorError as exc:
            await self._outcome(op_id, kind, name, "fail", _failure(exc))
            return web.Response(status=502, text="onceonly hop: daprd refused the connection\n")
        except CutOff as exc:
            await self._outcome(op_id, kind, name, "info", _failure(exc))
            return drop_connection(request)
        try:
            try:
                answer = await upstream.read()
            except (aiohttp.ClientError, OSError) as exc:
                await self._outcome(op_id, kind, name, "info", _failure(exc))
                return drop_connection(request)
            phase, detail = jobs_outcome(kind, upstream.status, answer.decode("utf-8", errors="replace"))
            await self._outcome(op_id, kind, name, phase, detail)
            return await send_answer(request, upstream, _once(answer))
        finally:
            upstream.release()

    async def _outcome(self, op_id: str, kind: JobsKind, name: str, phase: Phase, detail: dict[str, object]) -> None:
        try:
            await self._oplog.record(operation_json(op_id, kind, name, phase, time.time_ns(), detail))
        except LedgerUnavailable as exc:
            _say(f"ledger unavailable, the {phase} outcome of {kind} {name!r} is not recorded: {exc}")


def _invoke(request: web.BaseRequest, body: bytes, replica: int | None) -> dict[str, object]:
    detail: dict[str, object] = {"method": request.method, "path": request.path}
    if replica is not None:
        detail["replica"] = replica
    if not body:
        return detail
    try:
        detail["body"] = json.loads(body)
    except ValueError:
        detail["body_text"] = body.decode("utf-8", errors="replace")[:BODY_LIMIT]
    return detail


def _failure(exc: BaseException) -> dict[str, object]:
    cause = exc.__cause__ if isinstance(exc, CutOff) and exc.__cause__ is not None else exc
    return {"error": type(cause).__name__, "message": str(cause)[:BODY_LIMIT]}


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _say(line: str) -> None:
    sys.stderr.write(f"hop: {line}\n")
