"""The example service (examples/cleanup-service/main.py) run unmodified with FastAPI's TestClient against a FAKE
daprd (a real local HTTP server on ``DAPR_HTTP_PORT``): it schedules its own recurring job on start-up, carries on
when another replica was first (409), handles the job's trigger, and imports nothing of onceonly."""

from __future__ import annotations

import ast
import importlib.util
import json
import threading
import time
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest
from starlette.exceptions import StarletteDeprecationWarning

# Starlette >= 1.x asks for its `httpx2` fork for the TestClient and warns once, at import (as test_target_app.py).
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", r"Using `httpx` with `starlette\.testclient`", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

SERVICE = Path(__file__).resolve().parents[2] / "examples" / "cleanup-service" / "main.py"


class FakeDaprd(ThreadingHTTPServer):
    """A FAKE daprd: outbound health 204, the alpha Jobs API (204 for a new job, 409 for an existing one)."""

    def __init__(self, existing: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.jobs: dict[str, dict[str, object]] = {"cleanup": {}} if existing else {}
        self.calls: list[tuple[str, str, dict[str, str], bytes]] = []


class _Handler(BaseHTTPRequestHandler):
    server: FakeDaprd

    def _answer(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.calls.append(("GET", self.path, dict(self.headers), b""))
        self._answer(204 if self.path == "/v1.0/healthz/outbound" else 404)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.calls.append(("POST", self.path, dict(self.headers), body))
        name = self.path.rsplit("/", 1)[-1]
        if not self.path.startswith("/v1.0-alpha1/jobs/"):
            self._answer(404)
        elif name in self.server.jobs:
            self._answer(409, b'{"errorCode":"DAPR_SCHEDULER_SCHEDULE_JOB","message":"job already exists"}')
        else:
            self.server.jobs[name] = json.loads(body)
            self._answer(204)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(params=[False, True], ids=["first replica", "job already exists"])
def daprd(request: pytest.FixtureRequest) -> Iterator[FakeDaprd]:
    server = FakeDaprd(existing=request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def load_service() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cleanup_service_main", SERVICE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wait_for_schedule(daprd: FakeDaprd) -> tuple[str, str, dict[str, str], bytes]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        posts = [c for c in daprd.calls if c[0] == "POST"]
        if posts:
            return posts[0]
        time.sleep(0.02)
    raise AssertionError(f"the service never scheduled its job; daprd saw {daprd.calls}")


def test_it_schedules_its_job_on_start_up_and_handles_the_trigger(
    daprd: FakeDaprd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAPR_HTTP_PORT", str(daprd.server_address[1]))
    monkeypatch.setenv("DAPR_API_TOKEN", "tok")
    monkeypatch.setenv("CLEANUP_WORK_SECONDS", "0.05")
    service = load_service()
    with TestClient(service.app) as app:
        _method, path, headers, body = wait_for_schedule(daprd)
        started = time.monotonic()
        trigger = app.post("/job/cleanup", content=b'{"data":{"task":"remove expired sessions"}}')
        took = time.monotonic() - started
        health = app.get("/health")
    assert path == "/v1.0-alpha1/jobs/cleanup"
    assert json.loads(body) == {"schedule": "@every 5s", "data": {"task": "remove expired sessions"}}
    assert headers.get("dapr-api-token") == "tok"
    assert daprd.calls[0][1] == "/v1.0/healthz/outbound"  # it waited for its sidecar first
    assert (trigger.status_code, trigger.json()["status"]) == (200, "SUCCESS")
    assert took >= 0.05  # the "work" ran inside the handler
    assert (health.status_code, health.json()) == (200, {"status": "ok"})


def test_it_imports_nothing_of_onceonly() -> None:
    tree = ast.parse(SERVICE.read_text())
    roots = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    roots |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert roots.isdisjoint({"harness", "target_app", "hop", "toolchain"})
    assert {"fastapi", "httpx"} <= roots
