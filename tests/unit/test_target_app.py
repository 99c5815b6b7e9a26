"""target_app: the FastAPI app each replica runs, driven in-process by FastAPI's TestClient (no Dapr, no port)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from target_app.app import TOKEN_HEADER, create_app, create_app_from_env
from target_app.recorder import FakeRecorder
from target_app.settings import Behaviour, Settings, SettingsError

# Starlette >= 1.x asks for its `httpx2` fork for the TestClient and warns once, at import, when it falls back to
# httpx (the project's dependency). The fallback is what this project runs; only that one warning is silenced.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", r"Using `httpx` with `starlette\.testclient`", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

TOKEN = "app-token-for-tests"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(replica=2, app_token=TOKEN))) as test_client:
        yield test_client


def deliveries(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_healthz_returns_the_replica(client: TestClient) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "replica": 2, "inflight": 0, "deliveries": []}


def test_job_with_the_token_is_accepted_and_logged_once(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    resp = client.post("/job/some-name", headers={TOKEN_HEADER: TOKEN}, content=b'{"data": 1}')
    assert resp.status_code == 200

    out = capsys.readouterr().out
    assert out.endswith("\n")
    (line,) = deliveries(out)
    assert line["event"] == "delivery"
    assert line["source"] == "jobs"
    assert line["name"] == "some-name"
    assert line["replica"] == 2
    assert line["status"] == 200
    assert line["body_bytes"] == len(b'{"data": 1}')
    assert isinstance(line["delivery_id"], str)
    assert len(line["delivery_id"]) == 32
    assert isinstance(line["received_ns"], int)


def test_every_delivery_gets_its_own_id(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(3):
        assert client.post("/job/some-name", headers={TOKEN_HEADER: TOKEN}).status_code == 200
    lines = deliveries(capsys.readouterr().out)
    assert len(lines) == 3
    assert len({str(line["delivery_id"]) for line in lines}) == 3


def test_job_name_may_contain_slashes(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    assert client.post("/job/a/b", headers={TOKEN_HEADER: TOKEN}).status_code == 200
    (line,) = deliveries(capsys.readouterr().out)
    assert line["name"] == "a/b"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {TOKEN_HEADER: ""},
        {TOKEN_HEADER: "wrong"},
        {TOKEN_HEADER: TOKEN + "x"},
        {TOKEN_HEADER: TOKEN.upper()},
        {"authorization": f"Bearer {TOKEN}"},
    ],
    ids=["missing", "empty", "wrong", "longer", "case", "other-header"],
)
def test_job_without_the_right_token_is_refused(
    client: TestClient, capsys: pytest.CaptureFixture[str], headers: dict[str, str]
) -> None:
    resp = client.post("/job/some-name", headers=headers)
    assert resp.status_code == 401
    assert capsys.readouterr().out == ""


def test_job_with_a_non_ascii_token_is_refused_not_an_error(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    resp = client.post("/job/some-name", headers={TOKEN_HEADER: "t\xf6ken".encode("latin-1")})
    assert resp.status_code == 401
    assert capsys.readouterr().out == ""


def test_job_without_a_configured_token_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    with TestClient(create_app(Settings(replica=0))) as open_client:
        assert open_client.post("/job/x").status_code == 200
    (line,) = deliveries(capsys.readouterr().out)
    assert (line["name"], line["replica"]) == ("x", 0)


def test_only_post_delivers(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    assert client.get("/job/some-name", headers={TOKEN_HEADER: TOKEN}).status_code == 405
    assert client.get("/docs").status_code == 404
    assert capsys.readouterr().out == ""


# --- settings ------------------------------------------------------------------------------------------------


def test_settings_from_env() -> None:
    assert Settings.from_env({"ONCEONLY_REPLICA": "3", "ONCEONLY_APP_TOKEN": "t"}) == Settings(3, "t")
    assert Settings.from_env({"ONCEONLY_REPLICA": "0"}) == Settings(0, None)
    assert Settings.from_env({"ONCEONLY_REPLICA": "0", "ONCEONLY_APP_TOKEN": ""}).app_token is None


def test_settings_missing_replica_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="ONCEONLY_REPLICA is missing"):
        Settings.from_env({"ONCEONLY_APP_TOKEN": "t"})


@pytest.mark.parametrize("raw", ["one", "", "1.5", "0x1"])
def test_settings_non_integer_replica_names_the_variable(raw: str) -> None:
    with pytest.raises(SettingsError, match=f"ONCEONLY_REPLICA has value {raw!r}, not an integer"):
        Settings.from_env({"ONCEONLY_REPLICA": raw})


def test_settings_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONCEONLY_REPLICA", "7")
    monkeypatch.setenv("ONCEONLY_APP_TOKEN", "env-token")
    assert Settings.from_env() == Settings(7, "env-token")
    with TestClient(create_app_from_env()) as env_client:
        assert env_client.get("/healthz").json()["replica"] == 7
        assert env_client.post("/job/x").status_code == 401


def test_app_from_env_without_replica_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONCEONLY_REPLICA", raising=False)
    with pytest.raises(SettingsError, match="ONCEONLY_REPLICA"):
        create_app_from_env()


# --- per-job answer bodies -------------------------------------------------------------------------------------

BODIES = Behaviour(bodies={"job-retry": {"status": "RETRY"}, "job-dropped": {"status": "DROPPED"}})


def test_a_job_named_in_bodies_is_answered_200_with_its_json_body_after_the_record() -> None:
    recorder = FakeRecorder()
    with TestClient(create_app(Settings(replica=1, app_token=TOKEN, behaviour=BODIES), recorder)) as app:
        retry = app.post("/job/job-retry", headers={TOKEN_HEADER: TOKEN})
        dropped = app.post("/job/job-dropped", headers={TOKEN_HEADER: TOKEN})
        plain = app.post("/job/other", headers={TOKEN_HEADER: TOKEN})
        cron = app.post("/cron/job-retry", headers={TOKEN_HEADER: TOKEN})  # bodies are for jobs only
    assert (retry.status_code, retry.json()) == (200, {"status": "RETRY"})
    assert retry.headers["content-type"] == "application/json"
    assert (dropped.status_code, dropped.json()) == (200, {"status": "DROPPED"})
    assert (plain.status_code, plain.content, cron.content) == (200, b"", b"")
    assert [(a.name, r.status) for a, r in zip(recorder.arrivals, recorder.answers, strict=True)] == [
        ("job-retry", 200),
        ("job-dropped", 200),
        ("other", 200),
        ("job-retry", 200),
    ]
    assert recorder.naive[("jobs", "job-retry")] == 1  # a 200 with a body is a success: the side effect ran


def test_a_body_keeps_the_behaviours_status_and_the_journal_fallback_still_answers_503() -> None:
    failing = Behaviour(fail_first=1, bodies={"job-retry": {"status": "RETRY"}})
    recorder = FakeRecorder()
    with TestClient(create_app(Settings(replica=0, behaviour=failing), recorder)) as app:
        first = app.post("/job/job-retry")
        second = app.post("/job/job-retry")
    assert (first.status_code, first.json()) == (500, {"status": "RETRY"})
    assert (second.status_code, second.json()) == (200, {"status": "RETRY"})
    down = FakeRecorder(fail=True)
    with TestClient(create_app(Settings(replica=0, behaviour=BODIES), down)) as app:
        lost = app.post("/job/job-retry")
    assert (lost.status_code, lost.content) == (503, b"")  # not acknowledged: Dapr must deliver again
    assert [getattr(r, "status", "arrival") for r in down.journaled] == ["arrival", 503]


def test_behaviour_with_bodies_round_trips_through_json() -> None:
    assert Behaviour.from_json(BODIES.to_json()) == BODIES
    env = {"ONCEONLY_REPLICA": "0", "ONCEONLY_BEHAVIOUR": BODIES.to_json()}
    assert Settings.from_env(env).behaviour.bodies == {
        "job-retry": {"status": "RETRY"},
        "job-dropped": {"status": "DROPPED"},
    }


# --- Kubernetes: the Redis host and the pod identity (optional; a local run's records are unchanged) -----------

POD_ENV = {"ONCEONLY_POD_NAME": "onceonly-app-7d9-x2x", "ONCEONLY_NODE_NAME": "node-1", "ONCEONLY_POD_IP": "10.0.0.7"}


def test_settings_read_the_redis_host_and_the_pod_identity_only_when_given() -> None:
    local = Settings.from_env({"ONCEONLY_REPLICA": "0"})
    assert (local.redis_host, local.pod) == ("127.0.0.1", {})
    pod = Settings.from_env({"ONCEONLY_REPLICA": "-1", "ONCEONLY_REDIS_HOST": "onceonly-redis", **POD_ENV})
    assert pod.redis_host == "onceonly-redis"
    assert pod.pod == {"name": "onceonly-app-7d9-x2x", "node": "node-1", "ip": "10.0.0.7"}
    some = Settings.from_env({"ONCEONLY_REPLICA": "0", "ONCEONLY_POD_NAME": "p", "ONCEONLY_POD_IP": ""})
    assert some.pod == {"name": "p"}  # an empty variable is not an identity


def test_a_pod_identity_is_in_every_delivery_and_absent_without_one(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings.from_env({"ONCEONLY_REPLICA": "-1", **POD_ENV})
    recorder = FakeRecorder()
    with TestClient(create_app(settings, recorder)) as app:
        assert app.post("/job/j").status_code == 200
        assert app.post("/cron/c").status_code == 200
    assert [a.pod["name"] for a in recorder.arrivals] == ["onceonly-app-7d9-x2x"] * 2
    assert [d["pod"]["ip"] for d in deliveries(capsys.readouterr().out)] == ["10.0.0.7"] * 2  # type: ignore[index]
    with TestClient(create_app(Settings(replica=0))) as app:
        app.post("/job/j")
    (line,) = deliveries(capsys.readouterr().out)
    assert "pod" not in line
