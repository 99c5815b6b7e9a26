"""What the hop records, with the FAKE recorder and FAKE operation log and real local servers for the app and
daprd: a delivery's arrival before the app sees it and its answer before daprd has it, 503 unforwarded when the
ledger is down, 502 recorded when the app is down, a cut-off delivery left without an answer; the app's Jobs API
calls as operations the harness's reader parses, every other call to daprd unrecorded."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from harness.io.ledger import join, operation_from_json
from harness.load.workload import plan_from_body
from harness.model import Operation
from hop.oplog import FakeOperationLog
from target_app.contract import AnswerRecord, record_from_json
from target_app.recorder import FakeRecorder
from tests.unit.hop_servers import Upstream, client, closed_port, hop_between

TOKEN = {"dapr-api-token": "s3cret"}


class SlowAnswers(FakeRecorder):
    """A FAKE recorder whose answer record takes 0.3 s, to show daprd waits for it."""

    async def answer(self, rec: AnswerRecord) -> None:
        await asyncio.sleep(0.3)
        await super().answer(rec)


async def post(port: int, path: str, body: bytes = b"{}", method: str = "POST") -> tuple[int, bytes]:
    url = f"http://127.0.0.1:{port}{path}"
    sent = {"Traceparent": "00-ab-cd-01", "Content-Type": "application/json", **TOKEN}
    async with client() as session, session.request(method, url, data=body, headers=sent) as got:
        return got.status, await got.read()


def test_a_delivery_is_recorded_on_arrival_before_the_app_sees_it_and_answered_before_daprd_has_it() -> None:
    recorder = SlowAnswers()
    arrivals_when_app_saw_it: list[int] = []

    async def success(request: web.BaseRequest, body: bytes) -> web.StreamResponse:
        return web.json_response({"status": "SUCCESS"}, status=200)

    async def scenario() -> tuple[int, bytes, int]:
        app = Upstream(answer=success, before=lambda: arrivals_when_app_saw_it.append(len(recorder.arrivals)))
        async with app.serving(), hop_between(app.port, closed_port(), recorder, FakeOperationLog()) as hop:
            status, body = await post(hop.app_listen, "/job/cleanup", b'{"data":1}')
            return status, body, len(recorder.answers)

    status, body, answers_when_daprd_had_it = asyncio.run(scenario())
    assert (status, json.loads(body)) == (200, {"status": "SUCCESS"})
    assert arrivals_when_app_saw_it == [1]
    assert answers_when_daprd_had_it == 1
    [arrival], [answer] = recorder.arrivals, recorder.answers
    assert (arrival.source, arrival.name, arrival.replica, arrival.body_bytes) == ("jobs", "cleanup", 2, 10)
    assert (answer.delivery_id, answer.status, answer.answer_bytes) == (arrival.delivery_id, 200, len(body))
    assert answer.answered_ns >= arrival.received_ns
    # the headers kept, as the recorder app keeps them: lower-case names, never the token
    assert arrival.headers == {"traceparent": "00-ab-cd-01", "content-type": "application/json"}
    # the records read back through the ledger's own parser and join as one answered delivery
    delivery = join(record_from_json(arrival.to_json()), record_from_json(answer.to_json()))  # type: ignore[arg-type]
    assert (delivery.source, delivery.name, delivery.status, delivery.cut_off) == ("jobs", "cleanup", 200, False)


@pytest.mark.parametrize(
    ("method", "path", "recorded"),
    [
        ("POST", "/cron/nightly", ("binding", "nightly")),
        ("POST", "/job/a/b", ("jobs", "a/b")),
        ("OPTIONS", "/cron/nightly", None),
        ("GET", "/job/cleanup", None),
        ("POST", "/jobs/cleanup", None),
        ("POST", "/healthz", None),
    ],
)
def test_only_what_the_recorder_app_records_is_recorded(
    method: str, path: str, recorded: tuple[str, str] | None
) -> None:
    recorder = FakeRecorder()

    async def scenario() -> int:
        app = Upstream()
        async with app.serving(), hop_between(app.port, closed_port(), recorder, FakeOperationLog()) as hop:
            status, _ = await post(hop.app_listen, path, b"x", method)
        assert len(app.seen) == 1
        return status

    assert asyncio.run(scenario()) == 200
    assert [(a.source, a.name) for a in recorder.arrivals] == ([recorded] if recorded else [])
    assert len(recorder.answers) == (1 if recorded else 0)


def test_ledger_down_answers_503_journals_both_records_and_forwards_nothing() -> None:
    recorder = FakeRecorder(fail=True)

    async def scenario() -> tuple[int, int]:
        app = Upstream()
        async with app.serving(), hop_between(app.port, closed_port(), recorder, FakeOperationLog()) as hop:
            status, _ = await post(hop.app_listen, "/job/cleanup")
        return status, len(app.seen)

    assert asyncio.run(scenario()) == (503, 0)
    arrival, answer = recorder.journaled
    assert (arrival.ledger, answer.ledger, answer.status) == ("journal", "journal", 503)  # type: ignore[union-attr]


def test_an_answer_redis_cannot_take_is_journaled_and_the_apps_answer_goes_on_unchanged() -> None:
    recorder = FakeRecorder(fail_answers=True)

    async def answer(request: web.BaseRequest, body: bytes) -> web.StreamResponse:
        return web.Response(status=500, text="boom")

    async def scenario() -> tuple[int, bytes]:
        app = Upstream(answer=answer)
        async with app.serving(), hop_between(app.port, closed_port(), recorder, FakeOperationLog()) as hop:
            return await post(hop.app_listen, "/job/cleanup")

    assert asyncio.run(scenario()) == (500, b"boom")
    [journaled] = recorder.journaled
    assert (journaled.status, journaled.ledger, journaled.answer_bytes) == (500, "journal", 4)  # type: ignore[union-attr]


def test_app_down_is_answered_502_and_recorded_as_the_answer() -> None:
    recorder = FakeRecorder()

    async def scenario() -> int:
        async with hop_between(closed_port(), closed_port(), recorder, FakeOperationLog()) as hop:
            status, _ = await post(hop.app_listen, "/job/cleanup")
        return status

    assert asyncio.run(scenario()) == 502
    assert [a.status for a in recorder.answers] == [502]
    assert recorder.answers[0].delivery_id == recorder.arrivals[0].delivery_id


def test_an_app_dying_mid_handler_leaves_a_delivery_cut_off_and_daprd_a_dropped_connection() -> None:
    recorder = FakeRecorder()
    inflight: list[Any] = []

    async def dies(request: web.BaseRequest, body: bytes) -> web.StreamResponse:
        await asyncio.sleep(0.2)
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    async def scenario() -> None:
        app = Upstream(answer=dies)
        async with app.serving(), hop_between(app.port, closed_port(), recorder, FakeOperationLog()) as hop:
            delivery = asyncio.create_task(post(hop.app_listen, "/job/cleanup"))
            await asyncio.sleep(0.1)
            async with client() as session, session.get(f"http://127.0.0.1:{hop.app_listen}/.onceonly/healthz") as h:
                inflight.append(await h.json())
            with pytest.raises(aiohttp.ClientError):
                await delivery

    asyncio.run(scenario())
    assert len(recorder.arrivals) == 1 and recorder.answers == []
    assert inflight[0]["inflight"] == 1 and inflight[0]["deliveries"][0]["name"] == "cleanup"
    assert join(recorder.arrivals[0], None).cut_off


class FakeDaprd:
    """A FAKE daprd's Jobs API on a real local server (204, 409 on an existing job, 500 not found, 204 delete)
    and a state store route; every request kept by the Upstream around it."""

    def __init__(self) -> None:
        self.jobs: dict[str, bytes] = {}

    async def __call__(self, request: web.BaseRequest, body: bytes) -> web.StreamResponse:
        name = request.path.rsplit("/", 1)[-1]
        if "/jobs/" not in request.path:
            return web.json_response({"value": request.path}, headers={"X-Dapr": "state"})
        if request.method == "POST":
            if name in self.jobs and not json.loads(body).get("overwrite"):
                error = {"errorCode": "DAPR_SCHEDULER_SCHEDULE_JOB", "message": "job already exists"}
                return web.json_response(error, status=409)
            self.jobs[name] = body
            return web.Response(status=204)
        if request.method == "GET":
            if name not in self.jobs:
                error = {"errorCode": "DAPR_SCHEDULER_GET_JOB", "message": f"job not found: {name}"}
                return web.json_response(error, status=500)
            return web.Response(body=self.jobs[name], content_type="application/json")
        self.jobs.pop(name, None)
        return web.Response(status=204)


def test_the_apps_jobs_api_calls_are_forwarded_and_recorded_as_operations() -> None:
    oplog = FakeOperationLog()
    schedule = {"schedule": "@every 5s", "data": {"task": "cleanup"}}
    calls = [
        ("POST", "/v1.0-alpha1/jobs/cleanup", schedule),
        ("POST", "/v1.0-alpha1/jobs/cleanup", schedule),
        ("GET", "/v1.0/jobs/cleanup", None),
        ("DELETE", "/v1.0-alpha1/jobs/cleanup", None),
        ("GET", "/v1.0/jobs/cleanup", None),
    ]

    async def scenario() -> list[tuple[int, bytes]]:
        daprd = Upstream(answer=FakeDaprd())
        async with daprd.serving(), hop_between(closed_port(), daprd.port, FakeRecorder(), oplog) as hop:
            answers = [
                await post(hop.dapr_listen, path, json.dumps(body).encode() if body else b"", method)
                for method, path, body in calls
            ]
        assert [(s.method, s.raw_path) for s in daprd.seen] == [(m, p) for m, p, _ in calls]
        assert daprd.seen[0].body == json.dumps(schedule).encode()
        return answers

    answers = asyncio.run(scenario())
    assert [status for status, _ in answers] == [204, 409, 200, 204, 500]
    ops = [operation_from_json(row) for row in oplog.rows]
    assert all(isinstance(op, Operation) for op in ops)
    assert [(op.kind, op.phase) for op in ops] == [
        ("schedule", "invoke"),
        ("schedule", "ok"),
        ("schedule", "invoke"),
        ("schedule", "fail"),
        ("get", "invoke"),
        ("get", "ok"),
        ("delete", "invoke"),
        ("delete", "ok"),
        ("get", "invoke"),
        ("get", "fail"),
    ]
    assert {op.name for op in ops} == {"cleanup"}
    assert [op.op_id for op in ops[::2]] == [op.op_id for op in ops[1::2]]
    assert ops[0].detail == {
        "method": "POST",
        "path": "/v1.0-alpha1/jobs/cleanup",
        "replica": 2,  # the hop's replica: whose start-up call it was
        "body": schedule,
    }
    assert ops[3].detail["status"] == 409 and ops[3].detail["error_code"] == "DAPR_SCHEDULER_SCHEDULE_JOB"
    assert ops[9].detail["not_found"] is True
    body = ops[0].detail["body"]
    assert isinstance(body, dict)
    assert plan_from_body("cleanup", body, policy=None).schedule == "@every 5s"  # type: ignore[arg-type]


def test_other_calls_to_daprd_go_through_unrecorded_and_unchanged() -> None:
    oplog = FakeOperationLog()

    async def scenario() -> list[tuple[int, bytes]]:
        daprd = Upstream(answer=FakeDaprd())
        async with daprd.serving(), hop_between(closed_port(), daprd.port, FakeRecorder(), oplog) as hop:
            got = [
                await post(hop.dapr_listen, "/v1.0/state/store/key", b"", "GET"),
                await post(hop.dapr_listen, "/v1.0/metadata", b"", "GET"),
                await post(hop.dapr_listen, "/v1.0/state/store", b'[{"key":"k","value":1}]'),
            ]
        assert [s.raw_path for s in daprd.seen] == ["/v1.0/state/store/key", "/v1.0/metadata", "/v1.0/state/store"]
        assert daprd.seen[2].body == b'[{"key":"k","value":1}]'
        return got

    assert [json.loads(b)["value"] for _, b in asyncio.run(scenario())] == [
        "/v1.0/state/store/key",
        "/v1.0/metadata",
        "/v1.0/state/store",
    ]
    assert oplog.rows == []


def test_a_jobs_call_the_ledger_cannot_record_is_answered_503_and_never_reaches_daprd() -> None:
    async def scenario() -> tuple[int, bytes, int]:
        daprd = Upstream(answer=FakeDaprd())
        async with (
            daprd.serving(),
            hop_between(closed_port(), daprd.port, FakeRecorder(), FakeOperationLog(True)) as hop,
        ):
            status, body = await post(hop.dapr_listen, "/v1.0-alpha1/jobs/cleanup", b'{"schedule":"@every 5s"}')
        return status, body, len(daprd.seen)

    status, body, reached = asyncio.run(scenario())
    assert (status, reached) == (503, 0)
    assert json.loads(body)["errorCode"] == "ONCEONLY_HOP_LEDGER"


def test_daprd_down_is_answered_502_and_recorded_as_a_call_that_never_left() -> None:
    oplog = FakeOperationLog()

    async def scenario() -> int:
        async with hop_between(closed_port(), closed_port(), FakeRecorder(), oplog) as hop:
            status, _ = await post(hop.dapr_listen, "/v1.0-alpha1/jobs/cleanup", b'{"schedule":"@every 5s"}')
        return status

    assert asyncio.run(scenario()) == 502
    invoke, outcome = (operation_from_json(row) for row in oplog.rows)
    assert (invoke.phase, outcome.phase, outcome.detail["error"]) == ("invoke", "fail", "ClientConnectorError")
