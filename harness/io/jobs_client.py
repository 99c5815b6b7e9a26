"""The Dapr Jobs API (schedule, get, delete) over an injected ``httpx.Client``, every call recorded as operations.

Each call records an ``invoke`` Operation *before* the request and exactly one outcome after it, with the same
``op_id``. The outcome of an answered call is ``target_app.operations.jobs_outcome``'s (the recording hop
classifies a user's app's calls by the same rule). The outcome says what the harness knows about whether the
call took effect:

* ``ok``   — Dapr answered 2xx (204 for schedule/delete, 200 for get).
* ``fail`` — it definitely did not take effect: Dapr answered 4xx (400 bad body, 401 token, 409 job exists and no
  ``overwrite``), or the request never left (``ConnectError``, ``ConnectTimeout``, ``PoolTimeout``,
  ``UnsupportedProtocol``). A GET that fails is always ``fail`` (it changes nothing); an unknown job answers
  500 ``DAPR_SCHEDULER_GET_JOB`` "job not found" and gets ``detail["not_found"] = True``.
* ``info`` — it may have taken effect: the request was sent and the answer was lost (``ReadTimeout``,
  ``WriteTimeout``, ``RemoteProtocolError``, ``ReadError``, any other transport error), or Dapr answered 5xx to a
  schedule/delete (the scheduler can store a job and still time out towards daprd). A job whose schedule call
  ended ``info`` and later fires is therefore not spurious.

Nothing is retried: a retry is the caller's decision and a new ``invoke``. The client never builds its own
``httpx.Client`` (timeouts and transport are the caller's), never logs the API token, and knows nothing of
replicas or the ledger beyond the ``record`` callback.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import quote

import httpx

from harness.model import FailurePolicy, Operation, OpPhase
from target_app.operations import BODY_LIMIT, jobs_outcome

__all__ = ["TOKEN_HEADER", "JobsClient", "failure_policy_body", "proto_duration"]

TOKEN_HEADER = "dapr-api-token"
# Characters Go's url package leaves unescaped in a path; escaping them would make chi see the escaped job name.
_PATH_SAFE = "-._~$&+,:;=@"
# Transport errors raised before any byte of the request was sent: the call definitely did not take effect.
_NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)

OpKind = Literal["schedule", "get", "delete"]


def proto_duration(ns: int) -> str:
    """``ns`` as protojson writes a ``google.protobuf.Duration``: seconds with up to 9 decimals, then "s".

    Dapr decodes the HTTP body with protojson and ``failurePolicy.constant.interval`` is a Duration, so Go's
    "500ms" is rejected with 400; "0.5s" is the same interval in the accepted form.

    >>> proto_duration(1_000_000_000), proto_duration(500_000_000), proto_duration(1_250_000), proto_duration(0)
    ('1s', '0.5s', '0.00125s', '0s')
    """
    if ns < 0:
        raise ValueError(f"a failure-policy interval cannot be negative: {ns} ns")
    seconds, nanos = divmod(ns, 1_000_000_000)
    if nanos == 0:
        return f"{seconds}s"
    return f"{seconds}.{nanos:09d}".rstrip("0") + "s"


def failure_policy_body(policy: FailurePolicy) -> dict[str, Any]:
    """The ``failurePolicy`` JSON: ``{"drop": {}}`` or ``{"constant": {"interval": "1s", "maxRetries": 3}}``.

    ``maxRetries`` is left out when ``max_retries`` is None, which Dapr reads as "retry forever".
    """
    if policy.kind == "drop":
        return {"drop": {}}
    constant: dict[str, Any] = {"interval": proto_duration(policy.interval_ns)}
    if policy.max_retries is not None:
        constant["maxRetries"] = policy.max_retries
    return {"constant": constant}


class JobsClient:
    """Schedule, read and delete Dapr jobs through one daprd's HTTP API.

    ``JobsClient(http, "http://127.0.0.1:3500", token, stable_api=True, record=ledger.record_op)``: paths are
    ``/v1.0/jobs/<name>`` when ``stable_api`` (Dapr 1.18+), else ``/v1.0-alpha1/jobs/<name>``.
    """

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        api_token: str,
        stable_api: bool,
        record: Callable[[Operation], None],
        *,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._headers = {TOKEN_HEADER: api_token}
        self.prefix = "/v1.0/jobs/" if stable_api else "/v1.0-alpha1/jobs/"
        self._record = record
        self._clock = clock

    def path(self, name: str) -> str:
        return self.prefix + quote(name, safe=_PATH_SAFE)

    @staticmethod
    def schedule_body(
        *,
        schedule: str | None = None,
        due_time: str | None = None,
        repeats: int | None = None,
        ttl: str | None = None,
        data: object = None,
        overwrite: bool | None = None,
        failure_policy: FailurePolicy | None = None,
    ) -> dict[str, Any]:
        """The JSON body of a schedule call; absent (None) fields are left out, so Dapr's defaults apply."""
        body: dict[str, Any] = {}
        for key, value in (
            ("schedule", schedule),
            ("dueTime", due_time),
            ("repeats", repeats),
            ("ttl", ttl),
            ("data", data),
            ("overwrite", overwrite),
        ):
            if value is not None:
                body[key] = value
        if failure_policy is not None:
            body["failurePolicy"] = failure_policy_body(failure_policy)
        return body

    def schedule(
        self,
        name: str,
        *,
        schedule: str | None = None,
        due_time: str | None = None,
        repeats: int | None = None,
        ttl: str | None = None,
        data: object = None,
        overwrite: bool | None = None,
        failure_policy: FailurePolicy | None = None,
    ) -> Operation:
        """``POST <prefix><name>``. ``data`` None sends no data field, and Dapr then never delivers the job
        (measured on 1.16.0 and 1.18.2: "google.protobuf.Value: none of the oneof fields is set")."""
        body = self.schedule_body(
            schedule=schedule,
            due_time=due_time,
            repeats=repeats,
            ttl=ttl,
            data=data,
            overwrite=overwrite,
            failure_policy=failure_policy,
        )
        op, _response = self._call("schedule", "POST", name, body)
        return op

    def get(self, name: str) -> tuple[Operation, dict[str, Any] | None]:
        """``GET <prefix><name>``: the outcome, and the job as Dapr returns it (protojson) when ``ok``."""
        op, response = self._call("get", "GET", name, None)
        if op.phase != "ok" or response is None or not response.content:
            return op, None
        try:
            job = response.json()
        except ValueError:
            return op, None
        return op, job if isinstance(job, dict) else None

    def delete(self, name: str) -> Operation:
        """``DELETE <prefix><name>``; Dapr answers 204 even for a job that does not exist."""
        op, _response = self._call("delete", "DELETE", name, None)
        return op

    def _call(
        self, kind: OpKind, method: str, name: str, body: dict[str, Any] | None
    ) -> tuple[Operation, httpx.Response | None]:
        op_id = uuid.uuid4().hex
        path = self.path(name)
        invoke_detail: dict[str, object] = {"method": method, "path": path}
        if body is not None:
            invoke_detail["body"] = body
        self._record(Operation(op_id, kind, name, "invoke", self._clock(), invoke_detail))
        try:
            response = self._http.request(method, self._base_url + path, headers=self._headers, json=body)
        except Exception as exc:
            # Not sent: definitely not applied. Anything else (including a bug below httpx): maybe applied.
            phase: OpPhase = "fail" if isinstance(exc, _NOT_SENT) else "info"
            detail: dict[str, object] = {"error": type(exc).__name__, "message": str(exc)[:BODY_LIMIT]}
            failed = Operation(op_id, kind, name, phase, self._clock(), detail)
            self._record(failed)
            if not isinstance(exc, httpx.HTTPError):
                raise  # recorded, but a harness bug is not an outcome to swallow
            return failed, None
        op = self._outcome(op_id, kind, name, response)
        self._record(op)
        return op, response

    def _outcome(self, op_id: str, kind: OpKind, name: str, response: httpx.Response) -> Operation:
        phase, detail = jobs_outcome(kind, response.status_code, response.text)
        return Operation(op_id, kind, name, phase, self._clock(), detail)
