"""A user's own app on the local backend: each replica's hop, app and daprd wired port to port, as data (nothing
here starts a process; the readiness probe is asked against a FAKE app through httpx's MockTransport)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from harness.cluster.local.byo import HopMember, app_env, app_ready
from harness.cluster.local.members import ReplicaMember
from harness.cluster.local.ports import PortAllocator
from harness.cluster.user_app import UserApp, user_app_of
from harness.errors import InputError
from harness.scenario.loader import load_scenario
from hop.settings import HopSettings

ROOT = Path(__file__).resolve().parents[2]
APP = UserApp("uvicorn main:app --port {app_port}", ROOT / "examples" / "cleanup-service", {"LOG": "1"}, "/health")


def wired() -> tuple[ReplicaMember, HopMember]:
    ports = PortAllocator()
    replica = ReplicaMember.allocate(1, ports)
    return replica, HopMember.allocate(replica, ports)


def test_daprd_sends_to_the_hop_and_the_hop_to_the_app_and_daprd() -> None:
    replica, hop = wired()
    argv = replica.daprd_argv(Path("daprd"), "onceonly", [], Path("c.yaml"), Path("r"), "info")
    assert f"--app-port={hop.app_listen}" in argv  # daprd's app is the hop
    assert hop.dapr_port == replica.http_port
    assert len({hop.app_listen, hop.app_port, hop.dapr_listen, hop.dapr_port}) == 4
    settings = HopSettings.parse(hop.argv("run-1", 6379, Path("/j/hop-1.jsonl"))[3:], {})
    assert (settings.app_listen, settings.app_port, settings.dapr_listen, settings.dapr_port) == (
        hop.app_listen,
        hop.app_port,
        hop.dapr_listen,
        hop.dapr_port,
    )
    assert (settings.replica, settings.run_id, settings.redis_port) == (1, "run-1", 6379)
    assert settings.redis_password is None  # the password goes in the environment, never on the command line


def test_the_app_gets_daprs_variables_pointing_at_the_hop() -> None:
    replica, hop = wired()
    env = app_env(hop, replica, APP, "onceonly", "dapr-secret", "app-secret")
    assert env["DAPR_HTTP_PORT"] == str(hop.dapr_listen)  # its Jobs API calls go through the hop
    assert env["DAPR_GRPC_PORT"] == str(replica.grpc_port)
    assert env["APP_PORT"] == str(hop.app_port)
    assert (env["DAPR_API_TOKEN"], env["APP_API_TOKEN"], env["APP_ID"], env["LOG"]) == (
        "dapr-secret",
        "app-secret",
        "onceonly",
        "1",
    )
    assert APP.argv(hop.app_port) == ["uvicorn", "main:app", "--port", str(hop.app_port)]


def test_readiness_asks_the_health_path_through_the_hop() -> None:
    _, hop = wired()
    seen: list[str] = []
    answers = iter([503, 200])

    def fake_app(request: httpx.Request) -> httpx.Response:  # a FAKE app behind the hop
        seen.append(str(request.url))
        return httpx.Response(next(answers))

    with httpx.Client(transport=httpx.MockTransport(fake_app)) as http:
        check = app_ready(http, hop, APP, "app-1")
        assert check.probe() == "/health (through the hop) answered 503"
        assert check.probe() is None
    assert seen == [f"http://127.0.0.1:{hop.app_listen}/health"] * 2


def test_the_scenarios_app_becomes_the_clusters_and_a_missing_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: x\ncluster: {replicas: 2}\nsources: {}\nobserve: {duration: 10s}\n"
        "app: {command: 'python -m http.server {app_port}', cwd: nowhere}\n"
    )
    app = user_app_of(load_scenario(path))
    assert app is not None and app.cwd == tmp_path.resolve() / "nowhere" and app.health is None
    with pytest.raises(InputError, match=r"app\.cwd .* is not a directory"):
        app.check()
    path.write_text(path.read_text().replace("nowhere", "."))
    app = user_app_of(load_scenario(path))
    assert app is not None
    app.check()
