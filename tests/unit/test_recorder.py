"""The app as the recorder (FakeRecorder, in memory) and the ledger reader (fakeredis, a fake of the neighbour)."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import fakeredis.aioredis
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from harness.ledger import Ledger
from harness.model import Operation
from target_app import contract
from target_app.app import TOKEN_HEADER, create_app
from target_app.contract import DeliveryRecord
from target_app.recorder import FakeRecorder, RedisRecorder, append_journal
from target_app.settings import Behaviour, Settings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", r"Using `httpx` with `starlette\.testclient`", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

TOKEN = "t0ken"
AUTH = {TOKEN_HEADER: TOKEN}


def client_for(recorder: FakeRecorder, **behaviour: int | str) -> TestClient:
    settings = Settings(replica=1, app_token=TOKEN, behaviour=Behaviour(**behaviour))  # type: ignore[arg-type]
    return TestClient(create_app(settings, recorder))


@pytest.fixture
def recorder() -> FakeRecorder:
    return FakeRecorder()


def test_a_delivery_is_recorded_before_the_answer(recorder: FakeRecorder) -> None:
    with client_for(recorder) as client:
        assert client.post("/job/j1", headers=AUTH | {"traceparent": "00-ab-cd-01"}).status_code == 200
        assert client.post("/cron/c1", headers=AUTH).status_code == 200
    jobs, cron = recorder.records
    assert (jobs.source, jobs.name, jobs.replica, jobs.status) == ("jobs", "j1", 1, 200)
    assert jobs.headers["traceparent"] == "00-ab-cd-01"
    assert TOKEN_HEADER not in jobs.headers  # the token is checked, never stored
    assert (cron.source, cron.name) == ("binding", "c1")
    assert jobs.delivery_id != cron.delivery_id


def test_without_the_token_nothing_is_recorded(recorder: FakeRecorder) -> None:
    with client_for(recorder) as client:
        assert client.post("/job/j1").status_code == 401
        assert client.post("/cron/c1", headers={TOKEN_HEADER: "wrong"}).status_code == 401
    assert recorder.records == [] and recorder.journaled == [] and recorder.attempts == {}


def test_fail_first_k_counts_per_name_and_records_the_500s(recorder: FakeRecorder) -> None:
    with client_for(recorder, fail_first=2) as client:
        codes = [client.post("/job/a", headers=AUTH).status_code for _ in range(3)]
        other = client.post("/job/b", headers=AUTH).status_code
    assert codes == [500, 500, 200] and other == 500
    assert [r.status for r in recorder.records] == [500, 500, 200, 500]
    assert recorder.naive == {("jobs", "a"): 1}  # side effects run only on success


def test_fixed_status_and_side_effect_flavours(recorder: FakeRecorder) -> None:
    with client_for(recorder, status=404, side_effect="naive") as client:
        assert client.post("/job/a", headers=AUTH).status_code == 404
    assert recorder.naive == {} and recorder.records[0].status == 404
    rec2 = FakeRecorder()
    with client_for(rec2, side_effect="idempotent", effect_window_ms=3_600_000) as client:
        for _ in range(3):
            client.post("/job/a", headers=AUTH)
    assert rec2.naive == {} and len(rec2.idempotent_keys) == 1  # one occurrence key within the hour


def test_ledger_down_answers_503_and_journals(recorder: FakeRecorder) -> None:
    recorder.fail = True
    with client_for(recorder) as client:
        assert client.post("/job/a", headers=AUTH).status_code == 503
    assert recorder.records == []
    (journaled,) = recorder.journaled
    assert (journaled.status, journaled.ledger, journaled.name) == (503, "journal", "a")


def test_metrics_count_deliveries_by_source_name_and_answer(recorder: FakeRecorder) -> None:
    with client_for(recorder, fail_first=1) as client:
        client.post("/job/a", headers=AUTH)
        client.post("/job/a", headers=AUTH)
        text = client.get("/metrics").text
    assert 'onceonly_deliveries_total{name="a",source="jobs",status="500"} 1.0' in text
    assert 'onceonly_deliveries_total{name="a",source="jobs",status="200"} 1.0' in text


@pytest.fixture
def server() -> Iterator[fakeredis.FakeServer]:
    yield fakeredis.FakeServer()


def test_redis_recorder_and_ledger_round_trip(server: fakeredis.FakeServer, tmp_path: Path) -> None:
    async def write() -> None:
        client = fakeredis.aioredis.FakeRedis(server=server)
        rec = RedisRecorder(client, "run1", tmp_path / "journal" / "app-0.jsonl")
        assert await rec.next_attempt("jobs", "a") == 1
        assert await rec.next_attempt("jobs", "a") == 2
        await rec.side_effect("jobs", "a", "17", naive=True, idempotent=True)
        await rec.side_effect("jobs", "a", "17", naive=True, idempotent=True)
        await rec.side_effect("jobs", "a", "18", naive=False, idempotent=True)
        first = DeliveryRecord("d1", "jobs", "a", 0, 10, 1_000, 200)
        await rec.record(first)
        await rec.record(first)  # a retried write of the same delivery
        await rec.record(DeliveryRecord("d0", "binding", "c", 2, 11, 500, 200))
        rec.journal(DeliveryRecord("d2", "jobs", "a", 1, 12, 2_000, 503, ledger="journal"))
        await rec.close()

    asyncio.run(write())
    sync = fakeredis.FakeRedis(server=server)
    ledger = Ledger(sync, "run1", tmp_path / "journal")
    deliveries, stats = ledger.deliveries()
    assert [d.delivery_id for d in deliveries] == ["d0", "d1", "d2"]  # received order, one d1
    assert stats == {"stream_entries": 3, "journal_entries": 1, "duplicate_writes": 1}
    assert ledger.side_effects() == {("jobs", "a"): {"naive": 2, "idempotent": 2}}
    op = Operation("o1", "schedule", "a", "ok", 5, {"status": 204})
    ledger.record_op(op)
    assert ledger.operations() == [op]
    other_run = Ledger(sync, "run2", tmp_path / "nothing")
    assert other_run.deliveries()[0] == [] and other_run.operations() == []
    sync.close()


def test_journal_is_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "j" / "app-3.jsonl"
    append_journal(path, DeliveryRecord("x", "jobs", "a", 3, 1, 2, 503, ledger="journal"))
    row = json.loads(path.read_text())
    assert row["delivery_id"] == "x" and row["ledger"] == "journal"
    assert contract.deliveries_key("r") == "onceonly:r:deliveries"


def test_a_torn_journal_line_is_counted_not_fatal(server: fakeredis.FakeServer, tmp_path: Path) -> None:
    journal = tmp_path / "journal" / "app-0.jsonl"
    append_journal(journal, DeliveryRecord("d1", "jobs", "a", 0, 10, 1_000, 503, ledger="journal"))
    with journal.open("a") as fh:
        fh.write(DeliveryRecord("d2", "jobs", "a", 0, 10, 2_000, 503, ledger="journal").to_json()[:40])  # mid-write
    sync = fakeredis.FakeRedis(server=server)
    deliveries, stats = Ledger(sync, "run1", tmp_path / "journal").deliveries()
    assert [d.delivery_id for d in deliveries] == ["d1"]
    assert (stats["journal_entries"], stats["journal_torn_lines"]) == (1, 1)
    sync.close()
