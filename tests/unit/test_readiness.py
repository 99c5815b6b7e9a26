"""harness.cluster.local.readiness with FAKE probes and a FAKE daprd/scheduler behind httpx.MockTransport.

The only real processes are `sleep`/`sh` neighbours the Supervisor watches; nothing listens on a port.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from harness.cluster.local import readiness
from harness.cluster.local.members import ReplicaMember, SchedulerMember
from harness.cluster.local.processes import Supervisor
from harness.cluster.local.readiness import Check
from harness.errors import ClusterError, EnvironmentProblem, ExitCode

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
TOKEN = "fake-dapr-api-token"


def wait_until_ready(
    checks: list[Check],
    supervisor: Supervisor,
    watch: list[str],
    timeout: float,
    on_wait: Callable[[str], None] | None = None,
) -> float:
    """``readiness.wait_until_ready`` with short stability and poll times, so a test takes well under a second."""
    return readiness.wait_until_ready(checks, supervisor, watch, timeout, stable_for=0.2, poll=0.02, on_wait=on_wait)


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    sup = Supervisor(tmp_path / "logs")
    sup.start("scheduler-0", ["sleep", "30"], ENV)
    sup.start("daprd-0", ["sleep", "30"], ENV)
    try:
        yield sup
    finally:
        sup.stop_all(grace=0.5)


def passing() -> str | None:
    return None


def failing(reason: str) -> Callable[[], str | None]:
    return lambda: reason


# --- wait_until_ready ----------------------------------------------------------------------------------------


def test_returns_once_all_checks_pass_for_stable_for(supervisor: Supervisor) -> None:
    calls: list[float] = []

    def probe() -> str | None:
        calls.append(time.monotonic())
        return None

    checks = [Check("scheduler-0", "scheduler up", probe), Check("daprd-0", "daprd up", passing)]
    started = time.monotonic()
    took = wait_until_ready(checks, supervisor, ["scheduler-0", "daprd-0"], timeout=5)
    elapsed = time.monotonic() - started

    assert 0.2 <= took <= elapsed < 1.5
    assert len(calls) >= 2  # polled again while the stability clock ran


def test_waits_for_a_check_that_is_failing_at_first(supervisor: Supervisor) -> None:
    ready_at = time.monotonic() + 0.3
    messages: list[str] = []

    def probe() -> str | None:
        return None if time.monotonic() >= ready_at else "not yet"

    took = wait_until_ready(
        [Check("daprd-0", "daprd up", probe)], supervisor, ["daprd-0"], timeout=5, on_wait=messages.append
    )
    assert took >= 0.5  # 0.3 s failing, then 0.2 s stable
    assert messages == ["waiting for daprd-0: daprd up (not yet)"]  # said once, not at every poll


def test_a_check_that_flips_to_failing_resets_the_stability_clock(supervisor: Supervisor) -> None:
    calls = 0
    failed_at: list[float] = []

    def flaky() -> str | None:
        nonlocal calls
        calls += 1
        if calls == 4:  # passes three times (about 0.06 s), fails once, then passes for good
            failed_at.append(time.monotonic())
            return "stream reconnecting"
        return None

    took = wait_until_ready([Check("daprd-0", "streams", flaky)], supervisor, ["daprd-0"], timeout=5)
    returned_at = time.monotonic()

    assert len(failed_at) == 1
    assert returned_at - failed_at[0] >= 0.2  # a full stable_for after the failure, not after the first pass
    assert took >= 0.2 + 0.06


def test_all_checks_must_pass_at_once(supervisor: Supervisor) -> None:
    """The second check is probed only when the first passes; the wait ends when both pass together."""
    first_ready = time.monotonic() + 0.1
    second_ready = time.monotonic() + 0.3
    checks = [
        Check("scheduler-0", "one", lambda: None if time.monotonic() >= first_ready else "one not yet"),
        Check("daprd-0", "two", lambda: None if time.monotonic() >= second_ready else "two not yet"),
    ]
    took = wait_until_ready(checks, supervisor, ["scheduler-0", "daprd-0"], timeout=5)
    assert took >= 0.5


def test_timeout_names_the_process_what_why_and_shows_its_log(supervisor: Supervisor) -> None:
    log = supervisor.log_dir / "scheduler-0.log"
    log.write_text("".join(f"known-line-{i:02d}\n" for i in range(1, 41)))
    check = Check("scheduler-0", "scheduler /healthz 200", failing("ConnectError on http://127.0.0.1:1/healthz"))

    started = time.monotonic()
    with pytest.raises(ClusterError) as info:
        wait_until_ready([check], supervisor, ["scheduler-0"], timeout=0.3)
    assert time.monotonic() - started < 2

    message = str(info.value)
    first_line = message.splitlines()[0]
    assert first_line.startswith("scheduler-0 not ready after ")
    assert "waiting for scheduler /healthz 200, " in first_line
    assert "but ConnectError on http://127.0.0.1:1/healthz." in first_line
    assert f"Last lines of {log}:" in message
    assert message.endswith("known-line-40")
    assert "known-line-16" in message
    assert "known-line-15" not in message  # only the tail (25 lines)
    assert isinstance(info.value, EnvironmentProblem)
    assert info.value.exit_code == ExitCode.ENVIRONMENT


def test_timeout_names_the_first_failing_check(supervisor: Supervisor) -> None:
    checks = [
        Check("scheduler-0", "scheduler up", passing),
        Check("daprd-0", "daprd connected to every scheduler", failing("connected to no scheduler")),
    ]
    with pytest.raises(ClusterError, match=r"^daprd-0 not ready .* waiting for daprd connected to every scheduler"):
        wait_until_ready(checks, supervisor, ["scheduler-0", "daprd-0"], timeout=0.2)


def test_timeout_for_a_process_without_log(supervisor: Supervisor) -> None:
    with pytest.raises(ClusterError, match=r"(?s)daprd-9 not ready.*\(no log\)$"):
        wait_until_ready([Check("daprd-9", "x", failing("y"))], supervisor, [], timeout=0.1)


def test_a_watched_process_that_exits_fails_the_wait_at_once(supervisor: Supervisor) -> None:
    supervisor.start("app-0", ["sh", "-c", "echo 'boom: address already in use'; exit 7"], ENV)
    checks = [Check("daprd-0", "daprd up", failing("not yet"))]

    started = time.monotonic()
    with pytest.raises(ClusterError) as info:
        wait_until_ready(checks, supervisor, ["daprd-0", "app-0"], timeout=30)
    assert time.monotonic() - started < 5  # far from the 30 s timeout

    message = str(info.value)
    assert message.startswith("app-0 exited with code 7 while waiting for the cluster to be ready.")
    assert f"Last lines of {supervisor.log_dir / 'app-0.log'}:" in message
    assert message.endswith("boom: address already in use")
    assert "--- onceonly: starting app-0" in message


def test_a_watched_process_killed_by_a_signal(supervisor: Supervisor) -> None:
    supervisor.kill("daprd-0")
    with pytest.raises(ClusterError, match="daprd-0 exited with code -9"):
        wait_until_ready([Check("daprd-0", "x", passing)], supervisor, ["daprd-0"], timeout=30)


def test_an_unwatched_process_may_exit(supervisor: Supervisor) -> None:
    supervisor.kill("daprd-0")
    took = wait_until_ready([Check("scheduler-0", "x", passing)], supervisor, ["scheduler-0"], timeout=5)
    assert took >= 0.2


# --- probes against a FAKE daprd and scheduler ---------------------------------------------------------------

SCHEDULER = SchedulerMember(0, 24000, 24001, 24002, 24003, 24004, Path("/nonexistent"))
REPLICA = ReplicaMember(0, 25000, 25001, 25002, 25003, 25004)

METRICS = f"""\
# HELP dapr_scheduler_sidecars_connected The total number of dapr sidecars actively connected to the scheduler.
# TYPE dapr_scheduler_sidecars_connected gauge
dapr_scheduler_sidecars_connected 9
# HELP dapr_scheduler_jobs_created_total The total number of jobs scheduled.
# TYPE dapr_scheduler_jobs_created_total counter
dapr_scheduler_jobs_created_total{{app_id="onceonly"}} 4
# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds {SCHEDULER.port}
"""

Handler = Callable[[httpx.Request], httpx.Response]


def client(routes: dict[str, Handler], seen: list[httpx.Request]) -> httpx.Client:
    """A FAKE daprd/scheduler: routes ``"<port> <path>"`` to a handler; others fail like a closed port."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert request.url.host == "127.0.0.1"
        route = routes.get(f"{request.url.port} {request.url.path}")
        if route is None:
            raise httpx.ConnectError("connection refused", request=request)
        return route(request)

    return httpx.Client(transport=httpx.MockTransport(handle))


def test_sidecars_connected_parses_the_gauge() -> None:
    routes = {f"{SCHEDULER.metrics_port} /metrics": lambda _r: httpx.Response(200, text=METRICS)}
    with client(routes, []) as http:
        assert readiness.sidecars_connected(http, SCHEDULER) == 9.0
        assert readiness.scheduler_streams(http, SCHEDULER, 9).probe() is None
        check = readiness.scheduler_streams(http, SCHEDULER, 6)
        assert check.process == "scheduler-0"
        assert check.what == "6 job streams connected"
        assert check.probe() == "dapr_scheduler_sidecars_connected is 9, want 6"


def test_sidecars_connected_is_zero_before_the_first_stream() -> None:
    text = "# TYPE go_goroutines gauge\ngo_goroutines 12\n"
    routes = {f"{SCHEDULER.metrics_port} /metrics": lambda _r: httpx.Response(200, text=text)}
    with client(routes, []) as http:
        assert readiness.sidecars_connected(http, SCHEDULER) == 0.0


@pytest.mark.parametrize("body", ["Internal Server Error", "", "<html>oops</html>"])
def test_sidecars_connected_on_a_500_gives_a_reason(body: str) -> None:
    routes = {f"{SCHEDULER.metrics_port} /metrics": lambda _r: httpx.Response(500, text=body)}
    with client(routes, []) as http:
        got = readiness.sidecars_connected(http, SCHEDULER)
        assert got == "/metrics answered 500"
        assert readiness.scheduler_streams(http, SCHEDULER, 3).probe() == "/metrics answered 500"


def test_sidecars_connected_on_text_that_is_not_prometheus_gives_a_reason() -> None:
    routes = {f"{SCHEDULER.metrics_port} /metrics": lambda _r: httpx.Response(200, text="404 page not found\n")}
    with client(routes, []) as http:
        got = readiness.sidecars_connected(http, SCHEDULER)
        assert isinstance(got, str)
        assert got.startswith("/metrics is not Prometheus text")


def test_sidecars_connected_when_nothing_listens() -> None:
    with client({}, []) as http:
        got = readiness.sidecars_connected(http, SCHEDULER)
    assert got == f"ConnectError on http://127.0.0.1:{SCHEDULER.metrics_port}/metrics"


def test_scheduler_healthy() -> None:
    status = {"code": 503}
    routes = {f"{SCHEDULER.healthz_port} /healthz": lambda _r: httpx.Response(status["code"])}
    with client(routes, []) as http:
        check = readiness.scheduler_healthy(http, SCHEDULER)
        assert (check.process, check.what) == ("scheduler-0", "scheduler /healthz 200")
        assert check.probe() == "/healthz answered 503"
        status["code"] = 200
        assert check.probe() is None


def test_daprd_healthy() -> None:
    status = {"code": 500}
    routes = {f"{REPLICA.http_port} /v1.0/healthz": lambda _r: httpx.Response(status["code"], text="init failed")}
    with client(routes, []) as http:
        check = readiness.daprd_healthy(http, REPLICA)
        assert (check.process, check.what) == ("daprd-0", "daprd /v1.0/healthz 204")
        assert check.probe() == "/v1.0/healthz answered 500: init failed"
        status["code"] = 204
        assert check.probe() is None


def test_daprd_healthy_when_nothing_listens() -> None:
    with client({}, []) as http:
        reason = readiness.daprd_healthy(http, REPLICA).probe()
    assert reason == f"ConnectError on http://127.0.0.1:{REPLICA.http_port}/v1.0/healthz"


def metadata(addresses: list[str] | None) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.headers.get("dapr-api-token") != TOKEN:
            return httpx.Response(401)
        body: dict[str, object] = {"id": "onceonly", "runtimeVersion": "1.18.2"}
        if addresses is not None:
            body["scheduler"] = {"connected_addresses": addresses}
        return httpx.Response(200, content=json.dumps(body).encode(), headers={"content-type": "application/json"})

    return handle


def test_connected_addresses_are_sorted_and_sent_with_the_token() -> None:
    seen: list[httpx.Request] = []
    routes = {f"{REPLICA.http_port} /v1.0/metadata": metadata(["127.0.0.1:3", "127.0.0.1:1", "127.0.0.1:2"])}
    with client(routes, seen) as http:
        got = readiness.connected_addresses(http, REPLICA, TOKEN)
    assert got == ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]
    assert seen[0].headers["dapr-api-token"] == TOKEN
    assert seen[0].method == "GET"


def test_connected_addresses_with_the_wrong_token_gives_a_reason() -> None:
    routes = {f"{REPLICA.http_port} /v1.0/metadata": metadata(["127.0.0.1:1"])}
    with client(routes, []) as http:
        assert readiness.connected_addresses(http, REPLICA, "wrong") == "/v1.0/metadata answered 401"


def test_connected_addresses_on_a_500_gives_a_reason() -> None:
    routes = {f"{REPLICA.http_port} /v1.0/metadata": lambda _r: httpx.Response(500, text="boom")}
    with client(routes, []) as http:
        assert readiness.connected_addresses(http, REPLICA, TOKEN) == "/v1.0/metadata answered 500"
        check = readiness.daprd_connected(http, REPLICA, TOKEN, ["127.0.0.1:1"])
        assert check.probe() == "/v1.0/metadata answered 500"


@pytest.mark.parametrize("addresses", [None, []])
def test_connected_addresses_before_any_scheduler(addresses: list[str] | None) -> None:
    routes = {f"{REPLICA.http_port} /v1.0/metadata": metadata(addresses)}
    with client(routes, []) as http:
        assert readiness.connected_addresses(http, REPLICA, TOKEN) == []
        check = readiness.daprd_connected(http, REPLICA, TOKEN, ["127.0.0.1:1"])
        assert check.probe() == "connected to no scheduler, want ['127.0.0.1:1']"


def test_daprd_connected_compares_sets_of_addresses() -> None:
    routes = {f"{REPLICA.http_port} /v1.0/metadata": metadata(["127.0.0.1:2", "127.0.0.1:1"])}
    with client(routes, []) as http:
        check = readiness.daprd_connected(http, REPLICA, TOKEN, ["127.0.0.1:1", "127.0.0.1:2"])
        assert (check.process, check.what) == ("daprd-0", "daprd connected to every scheduler")
        assert check.probe() is None
        three = readiness.daprd_connected(http, REPLICA, TOKEN, ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"])
        assert three.probe() == (
            "connected to ['127.0.0.1:1', '127.0.0.1:2'], want ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3']"
        )


def test_wait_until_ready_with_fake_http_probes(supervisor: Supervisor) -> None:
    """The probes and the wait together: the fake daprd reports its streams only after a while."""
    connected_at = time.monotonic() + 0.2

    def metrics(_r: httpx.Request) -> httpx.Response:
        n = 3 if time.monotonic() >= connected_at else 0
        text = f"# TYPE {readiness.SIDECARS_METRIC} gauge\n{readiness.SIDECARS_METRIC} {n}\n"
        return httpx.Response(200, text=text)

    routes: dict[str, Handler] = {
        f"{SCHEDULER.healthz_port} /healthz": lambda _r: httpx.Response(200),
        f"{SCHEDULER.metrics_port} /metrics": metrics,
        f"{REPLICA.http_port} /v1.0/healthz": lambda _r: httpx.Response(204),
        f"{REPLICA.http_port} /v1.0/metadata": metadata([SCHEDULER.address]),
    }
    messages: list[str] = []
    with client(routes, []) as http:
        checks = [
            readiness.scheduler_healthy(http, SCHEDULER),
            readiness.daprd_healthy(http, REPLICA),
            readiness.daprd_connected(http, REPLICA, TOKEN, [SCHEDULER.address]),
            readiness.scheduler_streams(http, SCHEDULER, 3),
        ]
        took = wait_until_ready(checks, supervisor, ["scheduler-0", "daprd-0"], timeout=5, on_wait=messages.append)
    assert took >= 0.4
    assert messages == [
        "waiting for scheduler-0: 3 job streams connected (dapr_scheduler_sidecars_connected is 0, want 3)"
    ]
