"""The app as the recorder (FakeRecorder, in memory; RedisRecorder over fakeredis, a fake of the neighbour) and the
ledger reader joining arrivals and answers."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import fakeredis
import fakeredis.aioredis
import httpx
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from harness.cluster.local.inventory import read_journals
from harness.io.ledger import GAPS, Ledger, ledger_gaps
from harness.model import Operation
from target_app import contract
from target_app.app import TOKEN_HEADER, create_app
from target_app.contract import AnswerRecord, ArrivalRecord, RecordError, record_from_json
from target_app.recorder import FakeRecorder, Recorder, RedisRecorder, append_journal
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


def arrival(i: str, received_ns: int = 1_000, **kw: object) -> ArrivalRecord:
    return ArrivalRecord(i, "jobs", "a", 0, 10, received_ns, **kw)  # type: ignore[arg-type]


def answer(i: str, status: int = 200, **kw: object) -> AnswerRecord:
    return AnswerRecord(i, 0, 10, status, 2_000, **kw)  # type: ignore[arg-type]


def test_a_delivery_gets_an_arrival_and_an_answer(recorder: FakeRecorder) -> None:
    with client_for(recorder) as client:
        assert client.post("/job/j1", headers=AUTH | {"traceparent": "00-ab-cd-01"}).status_code == 200
        assert client.post("/cron/c1", headers=AUTH).status_code == 200
    jobs, cron = recorder.arrivals
    assert (jobs.source, jobs.name, jobs.replica) == ("jobs", "j1", 1)
    assert jobs.headers["traceparent"] == "00-ab-cd-01"
    assert TOKEN_HEADER not in jobs.headers  # the token is checked, never stored
    assert (cron.source, cron.name) == ("binding", "c1")
    assert [a.delivery_id for a in recorder.answers] == [jobs.delivery_id, cron.delivery_id]
    first = recorder.answers[0]
    assert first.status == 200 and first.effects == ("naive", "idempotent") and first.answered_ns >= jobs.received_ns


async def _cut_off_mid_handler(rec: Recorder) -> tuple[dict[str, object], httpx.Response]:
    """POST a delivery whose handler takes a minute, look at the app while it is in flight, then cancel it as a
    dying app would; also deliver one that finishes. Returns /healthz as seen mid-handler and the finished one."""
    behaviour = Behaviour(delay_ms=60_000, fail_first=1)
    app = create_app(Settings(replica=3, app_token=TOKEN, behaviour=behaviour), rec)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
        slow = asyncio.create_task(client.post("/job/j1", headers=AUTH))
        health: dict[str, object] = {}
        for _ in range(500):
            health = (await client.get("/healthz")).json()
            if health["inflight"]:
                break
            await asyncio.sleep(0.01)
        slow.cancel()  # the app dies mid-handler: nothing after the delay runs
        with pytest.raises(asyncio.CancelledError):
            await slow
    quick = create_app(Settings(replica=4, app_token=TOKEN), rec)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=quick), base_url="http://app") as client:
        done = await client.post("/job/j1", headers=AUTH)
    return health, done


def test_the_arrival_is_recorded_before_the_handler_and_a_delivery_cut_off_has_no_answer(
    recorder: FakeRecorder,
) -> None:
    """Fails if the arrival were written after the handler's work: mid-handler it must already be on record."""
    health, done = asyncio.run(_cut_off_mid_handler(recorder))
    slow, quick = recorder.arrivals
    assert health["inflight"] == 1
    assert health["deliveries"] == [
        {"delivery_id": slow.delivery_id, "source": "jobs", "name": "j1", "received_ns": slow.received_ns}
    ]
    assert recorder.attempts == {("jobs", "j1"): 1}  # counted with the arrival, before the delay
    assert done.status_code == 200
    assert [a.delivery_id for a in recorder.answers] == [quick.delivery_id]  # no answer for the cut-off one
    assert recorder.naive == {("jobs", "j1"): 1} and recorder.journaled == []


def test_a_delivery_cut_off_reads_back_as_cut_off(tmp_path: Path) -> None:
    server = fakeredis.FakeServer()
    rec = RedisRecorder(fakeredis.aioredis.FakeRedis(server=server), "run1", tmp_path / "journal" / "app-3.jsonl")
    asyncio.run(_cut_off_mid_handler(rec))
    sync = fakeredis.FakeRedis(server=server)
    (slow, quick), stats = Ledger(sync, "run1", partial(read_journals, tmp_path / "journal")).deliveries()
    assert (slow.replica, slow.status, slow.answered_ns, slow.cut_off) == (3, None, None, True)
    assert (quick.replica, quick.status, quick.effects, quick.cut_off) == (4, 200, ("naive", "idempotent"), False)
    assert (stats["arrivals"], stats["answers"], stats["cut_off"]) == (2, 1, 1)
    assert ledger_gaps(stats) == []  # cut off is a finding, not a gap
    sync.close()


def test_without_the_token_nothing_is_recorded(recorder: FakeRecorder) -> None:
    with client_for(recorder) as client:
        assert client.post("/job/j1").status_code == 401
        assert client.post("/cron/c1", headers={TOKEN_HEADER: "wrong"}).status_code == 401
    assert recorder.arrivals == [] and recorder.answers == [] and recorder.journaled == [] and not recorder.attempts


def test_fail_first_k_counts_per_name_and_records_the_500s(recorder: FakeRecorder) -> None:
    with client_for(recorder, fail_first=2) as client:
        codes = [client.post("/job/a", headers=AUTH).status_code for _ in range(3)]
        other = client.post("/job/b", headers=AUTH).status_code
    assert codes == [500, 500, 200] and other == 500
    assert [r.status for r in recorder.answers] == [500, 500, 200, 500]
    assert [r.effects for r in recorder.answers] == [(), (), ("naive", "idempotent"), ()]
    assert recorder.naive == {("jobs", "a"): 1}  # side effects run only on success


def test_fixed_status_and_side_effect_flavours(recorder: FakeRecorder) -> None:
    with client_for(recorder, status=404, side_effect="naive") as client:
        assert client.post("/job/a", headers=AUTH).status_code == 404
    assert recorder.naive == {} and recorder.answers[0].status == 404
    rec2 = FakeRecorder()
    with client_for(rec2, side_effect="idempotent", effect_window_ms=3_600_000) as client:
        for _ in range(3):
            client.post("/job/a", headers=AUTH)
    assert rec2.naive == {} and len(rec2.idempotent_keys) == 1  # one occurrence key within the hour
    assert [r.effects for r in rec2.answers] == [("idempotent",), (), ()]


def test_arrival_not_recordable_journals_both_records_and_answers_503_without_handler_work(
    recorder: FakeRecorder,
) -> None:
    recorder.fail = True
    with client_for(recorder, delay_ms=5_000, fail_first=1) as client:  # no delay either: it returns at once
        assert client.post("/job/a", headers=AUTH).status_code == 503
    assert recorder.arrivals == [] and recorder.answers == [] and not recorder.attempts
    first, second = recorder.journaled
    assert isinstance(first, ArrivalRecord) and isinstance(second, AnswerRecord)
    assert (first.ledger, first.name, second.delivery_id) == ("journal", "a", first.delivery_id)
    assert (second.status, second.effects, second.ledger) == (503, (), "journal")


def test_answer_not_recordable_is_journaled_as_503_and_answered_503(recorder: FakeRecorder) -> None:
    recorder.fail_answers = True
    with client_for(recorder) as client:
        assert client.post("/job/a", headers=AUTH).status_code == 503
    (arrived,) = recorder.arrivals
    (journaled,) = recorder.journaled
    assert isinstance(journaled, AnswerRecord) and journaled.delivery_id == arrived.delivery_id
    assert (journaled.status, journaled.ledger, journaled.effects) == (503, "journal", ("naive", "idempotent"))
    assert recorder.answers == []


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
        assert await rec.arrive(arrival("d1"), count_attempt=True) == 1
        assert await rec.arrive(arrival("d1"), count_attempt=False) is None  # a retried write of the same arrival
        assert await rec.side_effects("jobs", "a", "17", "d1", naive=True, idempotent=True) == ("naive", "idempotent")
        assert await rec.side_effects("jobs", "a", "17", "d9", naive=True, idempotent=True) == ("naive",)
        assert await rec.side_effects("jobs", "a", "18", "d9", naive=False, idempotent=True) == ("idempotent",)
        await rec.answer(answer("d1", effects=("naive", "idempotent")))
        await rec.answer(answer("d1", effects=("naive", "idempotent")))  # a retried answer write
        await rec.arrive(ArrivalRecord("d0", "binding", "c", 2, 11, 500), count_attempt=False)
        await rec.answer(AnswerRecord("d0", 2, 11, 200, 600))
        rec.journal(arrival("d2", 2_000, ledger="journal"), answer("d2", 503, ledger="journal"))
        await rec.close()

    asyncio.run(write())
    sync = fakeredis.FakeRedis(server=server)
    ledger = Ledger(sync, "run1", partial(read_journals, tmp_path / "journal"))
    deliveries, stats = ledger.deliveries()
    assert [(d.delivery_id, d.status) for d in deliveries] == [("d0", 200), ("d1", 200), ("d2", 503)]
    assert deliveries[1].effects == ("naive", "idempotent") and deliveries[1].answered_ns == 2_000
    assert {k: v for k, v in stats.items() if v} == {
        "stream_entries": 6,
        "journal_files": 1,
        "journal_entries": 2,
        "arrivals": 3,
        "answers": 3,
        "duplicate_writes": 2,
    }
    assert ledger.side_effects() == {("jobs", "a"): {"naive": 2, "idempotent": 2}}
    assert sync.get(contract.idempotency_guard_key("run1", "jobs", "a", "17")) == b"d1"  # who ran it
    op = Operation("o1", "schedule", "a", "ok", 5, {"status": 204})
    ledger.record_op(op)
    assert ledger.operations() == [op]
    other_run = Ledger(sync, "run2", partial(read_journals, tmp_path / "nothing"))
    assert other_run.deliveries() == ([], dict.fromkeys(stats, 0)) and other_run.operations() == []
    sync.close()


def test_the_journal_answer_is_what_the_app_answered(server: fakeredis.FakeServer, tmp_path: Path) -> None:
    """The answer's stream write failed after it landed (reply lost): the app journaled 503 and answered 503."""
    sync = fakeredis.FakeRedis(server=server)
    key = contract.deliveries_key("run1")
    sync.xadd(key, {"d": arrival("d1").to_json()})
    sync.xadd(key, {"d": answer("d1", 200).to_json()})
    append_journal(tmp_path / "j" / "app-0.jsonl", answer("d1", 503, ledger="journal"))
    (d,), stats = Ledger(sync, "run1", partial(read_journals, tmp_path / "j")).deliveries()
    assert d.status == 503 and stats["answers_from_journal"] == 1 and ledger_gaps(stats) == []
    sync.close()


def test_records_round_trip_and_anything_else_is_refused() -> None:
    a = arrival("x", headers={"traceparent": "t"}, body_bytes=3)
    b = answer("x", effects=("naive",))
    assert record_from_json(a.to_json()) == a and record_from_json(b.to_json().encode()) == b
    assert json.loads(b.to_json())["kind"] == "answer"
    good = json.loads(b.to_json())
    for bad in (
        "",
        "[]",
        a.to_json()[:40],
        json.dumps({**good, "kind": "delivery"}),
        json.dumps({k: v for k, v in good.items() if k != "status"}),
        json.dumps({**good, "extra": 1}),
        json.dumps({**good, "status": "200"}),
        json.dumps({**good, "status": True}),
    ):
        with pytest.raises(RecordError):
            record_from_json(bad)


def test_a_pod_identity_round_trips_and_a_record_without_one_keeps_its_bytes() -> None:
    """The optional ``pod`` field (Kubernetes): written only when set, so a local run's records (and every kept
    run re-judged) read and write exactly as before; when set, it reads back."""
    plain = arrival("x", headers={"traceparent": "t"})
    assert "pod" not in json.loads(plain.to_json())
    assert plain.to_json() == (
        '{"body_bytes":0,"delivery_id":"x","headers":{"traceparent":"t"},"kind":"arrival","ledger":"redis",'
        '"name":"a","pid":10,"received_ns":1000,"replica":0,"source":"jobs"}'
    )
    in_pod = arrival("y", pod={"name": "app-abc", "node": "n1", "ip": "10.0.0.9"})
    assert json.loads(in_pod.to_json())["pod"] == {"name": "app-abc", "node": "n1", "ip": "10.0.0.9"}
    assert record_from_json(in_pod.to_json()) == in_pod and record_from_json(plain.to_json()) == plain
    with pytest.raises(RecordError):
        record_from_json(json.dumps({**json.loads(in_pod.to_json()), "pod": "app-abc"}))
    with pytest.raises(RecordError):  # an answer has no pod field
        record_from_json(json.dumps({**json.loads(answer("z").to_json()), "pod": {}}))


def test_every_ledger_gap_is_named_with_its_count(server: fakeredis.FakeServer, tmp_path: Path) -> None:
    sync = fakeredis.FakeRedis(server=server)
    key = contract.deliveries_key("run1")
    for i in range(3):
        sync.xadd(key, {"d": arrival(f"t{i}").to_json()})
    sync.xtrim(key, maxlen=2, approximate=False)  # one record gone
    sync.xadd(key, {"d": b"{not json"})
    sync.xadd(key, {"other": b"x"})
    sync.xadd(key, {"d": answer("ghost").to_json()})  # no arrival
    journal = tmp_path / "journal"
    append_journal(journal / "app-0.jsonl", arrival("d1"))
    with (journal / "app-0.jsonl").open("a") as fh:
        fh.write(answer("d1").to_json()[:40])  # the app died mid-write
    (journal / "app-1.jsonl").write_bytes(b"\xff\xfe not utf-8")
    deliveries, stats = Ledger(sync, "run1", partial(read_journals, journal)).deliveries()
    assert sorted(d.delivery_id for d in deliveries) == ["d1", "t1", "t2"]
    assert all(d.cut_off for d in deliveries)
    gaps = {k: stats[k] for k in GAPS}
    assert gaps == {
        "stream_missing_entries": 1,
        "stream_unparseable": 2,
        "journal_unreadable_files": 1,
        "journal_torn_lines": 1,
        "answers_without_arrival": 1,
    }
    reasons = ledger_gaps(stats)
    assert len(reasons) == 5 and reasons[0].startswith("1 record(s) the apps added to the stream")
    assert "2 stream entr(y/ies) could not be read" in reasons[1]
    assert ledger_gaps({"stream_entries": 9, "cut_off": 2, "duplicate_writes": 1}) == []
    sync.close()


def test_journal_is_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "j" / "app-3.jsonl"
    append_journal(path, arrival("x", ledger="journal"), answer("x", 503, ledger="journal"))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["kind"], r["delivery_id"], r["ledger"]) for r in rows] == [
        ("arrival", "x", "journal"),
        ("answer", "x", "journal"),
    ]
    assert contract.deliveries_key("r") == "onceonly:r:deliveries"
