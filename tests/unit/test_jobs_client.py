"""The Jobs API client against a fake daprd (httpx.MockTransport): paths, token, bodies, and outcome classification."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from harness.io.jobs_client import TOKEN_HEADER, JobsClient, failure_policy_body, proto_duration
from harness.model import NS, FailurePolicy, Operation

TOKEN = "s3cret-token"
BASE = "http://127.0.0.1:3500"
Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeDaprd:
    """Answers like daprd's Jobs API and keeps every request it saw, with what had been recorded by then."""

    ops: list[Operation]
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    recorded_before: list[list[Operation]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.recorded_before.append(list(self.ops))
        if request.headers.get(TOKEN_HEADER) != TOKEN:
            return httpx.Response(401, json={"errorCode": "ERR_UNAUTHORIZED", "message": "invalid api token"})
        name = request.url.path.rsplit("/", 1)[-1]
        if request.method == "POST":
            body = json.loads(request.content)
            if name in self.jobs and not body.get("overwrite"):
                return httpx.Response(
                    409,
                    json={
                        "errorCode": "DAPR_SCHEDULER_SCHEDULE_JOB",
                        "message": "failed to schedule job due to: job already exists",
                        "details": [],
                    },
                )
            self.jobs[name] = body
            return httpx.Response(204)
        if request.method == "GET":
            if name not in self.jobs:
                return httpx.Response(
                    500,
                    json={
                        "errorCode": "DAPR_SCHEDULER_GET_JOB",
                        "message": f"failed to get job due to: rpc error: code = NotFound desc = job not found: {name}",
                        "details": [],
                    },
                )
            return httpx.Response(200, json={"name": name, **self.jobs[name]})
        self.jobs.pop(name, None)
        return httpx.Response(204)


@pytest.fixture
def ops() -> list[Operation]:
    return []


@pytest.fixture
def daprd(ops: list[Operation]) -> FakeDaprd:
    return FakeDaprd(ops)


def clock_from(start: int = 1_000) -> Callable[[], int]:
    ticks = iter(range(start, start + 1_000_000))
    return lambda: next(ticks)


@pytest.fixture
def http(daprd: FakeDaprd) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.MockTransport(daprd)) as client:
        yield client


def make(http: httpx.Client, ops: list[Operation], *, stable: bool = True, token: str = TOKEN) -> JobsClient:
    return JobsClient(http, BASE + "/", token, stable, ops.append, clock=clock_from())


@contextmanager
def raising(exc: Exception) -> Iterator[httpx.Client]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        yield client


@pytest.mark.parametrize(("stable", "prefix"), [(True, "/v1.0/jobs/"), (False, "/v1.0-alpha1/jobs/")])
def test_path_prefix_follows_the_api_version(
    http: httpx.Client, ops: list[Operation], daprd: FakeDaprd, stable: bool, prefix: str
) -> None:
    client = make(http, ops, stable=stable)
    client.schedule("j1", schedule="@every 1s")
    client.get("j1")
    client.delete("j1")
    assert [(r.method, r.url.path) for r in daprd.requests] == [
        ("POST", prefix + "j1"),
        ("GET", prefix + "j1"),
        ("DELETE", prefix + "j1"),
    ]
    assert all(str(r.url).startswith(BASE + prefix) for r in daprd.requests)


def test_the_token_is_sent_on_every_call_and_never_recorded(
    http: httpx.Client, ops: list[Operation], daprd: FakeDaprd
) -> None:
    client = make(http, ops)
    client.schedule("j1", due_time="1s")
    client.get("j1")
    client.delete("j1")
    assert [r.headers[TOKEN_HEADER] for r in daprd.requests] == [TOKEN] * 3
    assert TOKEN not in repr(ops)


def test_a_wrong_token_is_a_fail_with_the_status(http: httpx.Client, ops: list[Operation]) -> None:
    op = make(http, ops, token="wrong").schedule("j1", due_time="1s")
    assert (op.phase, op.detail["status"], op.detail["error_code"]) == ("fail", 401, "ERR_UNAUTHORIZED")


def test_schedule_body_has_exactly_the_given_keys_in_camel_case(
    http: httpx.Client, ops: list[Operation], daprd: FakeDaprd
) -> None:
    client = make(http, ops)
    client.schedule(
        "full",
        schedule="*/2 * * * * *",
        due_time="0s",
        repeats=3,
        ttl="1h",
        data={"k": [1, 2]},
        overwrite=True,
        failure_policy=FailurePolicy("constant", interval_ns=NS, max_retries=3),
    )
    client.schedule("bare", due_time="5s")
    full, bare = (json.loads(r.content) for r in daprd.requests)
    assert full == {
        "schedule": "*/2 * * * * *",
        "dueTime": "0s",
        "repeats": 3,
        "ttl": "1h",
        "data": {"k": [1, 2]},
        "overwrite": True,
        "failurePolicy": {"constant": {"interval": "1s", "maxRetries": 3}},
    }
    assert bare == {"dueTime": "5s"}
    assert daprd.requests[0].headers["content-type"] == "application/json"


def test_falsy_values_are_sent_not_dropped(http: httpx.Client, ops: list[Operation], daprd: FakeDaprd) -> None:
    make(http, ops).schedule("z", schedule="@every 1s", repeats=0, data="", overwrite=False)
    assert json.loads(daprd.requests[0].content) == {
        "schedule": "@every 1s",
        "repeats": 0,
        "data": "",
        "overwrite": False,
    }


@pytest.mark.parametrize(
    ("policy", "body"),
    [
        (FailurePolicy("drop"), {"drop": {}}),
        (FailurePolicy("constant", interval_ns=NS, max_retries=3), {"constant": {"interval": "1s", "maxRetries": 3}}),
        (
            FailurePolicy("constant", interval_ns=NS // 2, max_retries=0),
            {"constant": {"interval": "0.5s", "maxRetries": 0}},
        ),
        (FailurePolicy("constant", interval_ns=90 * NS, max_retries=None), {"constant": {"interval": "90s"}}),
    ],
)
def test_failure_policy_shapes(
    http: httpx.Client, ops: list[Operation], daprd: FakeDaprd, policy: FailurePolicy, body: dict[str, Any]
) -> None:
    assert failure_policy_body(policy) == body
    make(http, ops).schedule("fp", schedule="@every 1s", failure_policy=policy)
    assert json.loads(daprd.requests[0].content)["failurePolicy"] == body


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (NS, "1s"),
        (NS // 2, "0.5s"),
        (1_250_000, "0.00125s"),
        (3 * NS + 1, "3.000000001s"),
        (3600 * NS, "3600s"),
    ],
)
def test_intervals_are_protojson_durations(ns: int, text: str) -> None:
    assert proto_duration(ns) == text


def test_a_negative_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        proto_duration(-1)


def test_204_is_ok_and_invoke_is_recorded_before_the_request(
    http: httpx.Client, ops: list[Operation], daprd: FakeDaprd
) -> None:
    op = make(http, ops).schedule("j1", schedule="@every 1s")
    assert op.phase == "ok" and op.kind == "schedule" and op.name == "j1" and op.detail == {"status": 204}
    invoke, done = ops
    assert daprd.recorded_before == [[invoke]]  # the fake daprd ran after the invoke row, before the outcome
    assert invoke.phase == "invoke" and invoke.op_id == op.op_id and done == op
    assert len(op.op_id) == 32 and int(op.op_id, 16) >= 0
    assert invoke.at_ns < op.at_ns
    assert invoke.detail == {"method": "POST", "path": "/v1.0/jobs/j1", "body": {"schedule": "@every 1s"}}


def test_each_call_has_its_own_op_id(http: httpx.Client, ops: list[Operation]) -> None:
    client = make(http, ops)
    a = client.schedule("a", due_time="1s")
    b = client.delete("a")
    assert a.op_id != b.op_id
    assert [(o.kind, o.phase) for o in ops] == [
        ("schedule", "invoke"),
        ("schedule", "ok"),
        ("delete", "invoke"),
        ("delete", "ok"),
    ]


def test_409_on_an_existing_job_is_a_fail_with_the_error_code(http: httpx.Client, ops: list[Operation]) -> None:
    client = make(http, ops)
    assert client.schedule("j1", due_time="1s").phase == "ok"
    op = client.schedule("j1", due_time="2s")
    assert op.phase == "fail"
    assert op.detail["status"] == 409
    assert op.detail["error_code"] == "DAPR_SCHEDULER_SCHEDULE_JOB"
    assert "already exists" in str(op.detail["body"])
    assert client.schedule("j1", due_time="2s", overwrite=True).phase == "ok"


def test_get_returns_the_job_when_ok(http: httpx.Client, ops: list[Operation]) -> None:
    client = make(http, ops)
    client.schedule("j1", schedule="@every 2s", repeats=3)
    op, job = client.get("j1")
    assert op.phase == "ok" and op.detail == {"status": 200}
    assert job == {"name": "j1", "schedule": "@every 2s", "repeats": 3}


def test_get_of_an_unknown_job_is_a_fail_marked_not_found(http: httpx.Client, ops: list[Operation]) -> None:
    op, job = make(http, ops).get("nope")
    assert job is None
    assert op.phase == "fail"
    assert op.detail["status"] == 500
    assert op.detail["error_code"] == "DAPR_SCHEDULER_GET_JOB"
    assert op.detail["not_found"] is True


def test_other_get_errors_are_not_not_found(ops: list[Operation]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"errorCode": "DAPR_SCHEDULER_GET_JOB", "message": "connection refused"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        op, _ = make(http, ops).get("j1")
    assert op.phase == "fail" and op.detail["not_found"] is False


def test_a_5xx_to_schedule_or_delete_is_info_because_it_may_have_applied(ops: list[Operation]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="x" * 2000)  # not JSON, and long

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        client = make(http, ops)
        scheduled = client.schedule("j1", due_time="1s")
        deleted = client.delete("j1")
    for op in (scheduled, deleted):
        assert op.phase == "info"
        assert op.detail == {"status": 500, "body": "x" * 500, "error_code": None}


def test_a_400_is_a_fail(ops: list[Operation]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"errorCode": "DAPR_SCHEDULER_SCHEDULE_EMPTY", "message": "schedule empty"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        op = make(http, ops).schedule("j1")
    assert (op.phase, op.detail["error_code"]) == ("fail", "DAPR_SCHEDULER_SCHEDULE_EMPTY")


@pytest.mark.parametrize(
    ("exc", "phase"),
    [
        (httpx.ConnectError("connection refused"), "fail"),
        (httpx.ConnectTimeout("connect timed out"), "fail"),
        (httpx.PoolTimeout("no connection free"), "fail"),
        (httpx.ReadTimeout("read timed out"), "info"),
        (httpx.WriteTimeout("write timed out"), "info"),
        (httpx.RemoteProtocolError("server disconnected"), "info"),
        (httpx.ReadError("connection reset"), "info"),
    ],
)
def test_transport_errors_fail_only_when_nothing_was_sent(
    ops: list[Operation], exc: httpx.TransportError, phase: str
) -> None:
    with raising(exc) as http:
        op = make(http, ops).schedule("j1", due_time="1s")
    assert op.phase == phase
    assert op.detail == {"error": type(exc).__name__, "message": str(exc)}
    assert [o.phase for o in ops] == ["invoke", phase]
    assert ops[1] == op


def test_a_read_timeout_on_delete_and_get_is_info(ops: list[Operation]) -> None:
    with raising(httpx.ReadTimeout("read timed out")) as http:
        client = make(http, ops)
        deleted = client.delete("j1")
        got, job = client.get("j1")
    assert (deleted.phase, got.phase, job) == ("info", "info", None)


def test_nothing_is_retried(ops: list[Operation]) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("read timed out")

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        make(http, ops).schedule("j1", due_time="1s")
    assert len(calls) == 1 and len(ops) == 2


def test_a_harness_bug_is_recorded_then_raised(ops: list[Operation]) -> None:
    with raising(RuntimeError("boom")) as http, pytest.raises(RuntimeError, match="boom"):
        make(http, ops).schedule("j1", due_time="1s")
    assert [(o.phase, o.detail.get("error")) for o in ops] == [("invoke", None), ("info", "RuntimeError")]


def test_names_are_escaped_only_where_go_would(http: httpx.Client, ops: list[Operation]) -> None:
    client = make(http, ops)
    assert client.path("job-1.a_b~c") == "/v1.0/jobs/job-1.a_b~c"
    assert client.path("a:b@c") == "/v1.0/jobs/a:b@c"
    assert client.path("a b") == "/v1.0/jobs/a%20b"
    assert client.path("a?b#c") == "/v1.0/jobs/a%3Fb%23c"
