"""The operation record format: one Jobs API call written as an ``invoke`` row, then one outcome row. Stdlib only,
no I/O.

Two writers share it: the harness's ``JobsClient`` (its own calls and the load's, to ``onceonly:<run>:ops``) and
the recording hop (``hop/``: the calls a user's app makes through it, to ``onceonly:<run>:app-ops``). Both streams
hold entries whose field ``o`` is the JSON ``operation_json`` gives, the same bytes as
``harness.io.ledger.operation_to_json`` of a ``harness.model.Operation``, so one reader serves both.

``jobs_outcome`` is the rule that turns daprd's answer to a call into an outcome:

* ``ok``   — 2xx (204 for schedule/delete, 200 for get);
* ``fail`` — it did not take effect: 4xx (400 bad body, 401 token, 409 job exists and no ``overwrite``), and any
  failed GET (it changes nothing); an unknown job's GET answers 500 ``DAPR_SCHEDULER_GET_JOB`` "job not found" and
  gets ``detail["not_found"] = True``;
* ``info`` — it may have taken effect: 5xx to a schedule or delete (the scheduler can store a job and still time
  out towards daprd).

A call that got no answer is the writer's to classify (``fail`` when the request never left, else ``info``).
"""

from __future__ import annotations

import json
from typing import Literal

OPS_FIELD = "o"
BODY_LIMIT = 500  # characters of an error answer kept in an operation's detail

JobsKind = Literal["schedule", "get", "delete"]
Phase = Literal["invoke", "ok", "fail", "info"]

# The Jobs API's path prefixes: stable from Dapr 1.18, alpha before (and still served by 1.18).
JOBS_PREFIXES = ("/v1.0/jobs/", "/v1.0-alpha1/jobs/")
# What each HTTP method of the Jobs API does to the job named in its path.
JOBS_METHODS: dict[str, JobsKind] = {"POST": "schedule", "GET": "get", "DELETE": "delete"}


def app_operations_key(run_id: str) -> str:
    """The stream of the Jobs API calls users' apps made (recorded by the hop), beside the harness's own ops."""
    return f"onceonly:{run_id}:app-ops"


def operation_json(op_id: str, kind: str, name: str, phase: Phase, at_ns: int, detail: dict[str, object]) -> str:
    """One operation row as JSON (keys sorted): what the ops streams hold in field ``o``."""
    return json.dumps(
        {"op_id": op_id, "kind": kind, "name": name, "phase": phase, "at_ns": at_ns, "detail": detail},
        sort_keys=True,
        default=str,
    )


def jobs_call(method: str, path: str) -> tuple[JobsKind, str] | None:
    """(kind, job name) of a Jobs API call from its method and decoded path; None for any other call."""
    kind = JOBS_METHODS.get(method.upper())
    if kind is None:
        return None
    for prefix in JOBS_PREFIXES:
        if path.startswith(prefix) and len(path) > len(prefix):
            return kind, path[len(prefix) :]
    return None


def jobs_outcome(kind: JobsKind, status: int, text: str) -> tuple[Phase, dict[str, object]]:
    """The outcome of a call daprd answered with ``status`` and body ``text``, and its detail."""
    if 200 <= status < 300:
        return "ok", {"status": status}
    code: object = None
    message = ""
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        code = parsed.get("errorCode")
        message = str(parsed.get("message", ""))
    detail: dict[str, object] = {"status": status, "body": text[:BODY_LIMIT], "error_code": code}
    if kind == "get":
        detail["not_found"] = status == 500 and code == "DAPR_SCHEDULER_GET_JOB" and "not found" in message.lower()
        return "fail", detail
    return ("info" if status >= 500 else "fail"), detail
