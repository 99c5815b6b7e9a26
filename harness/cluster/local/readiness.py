"""Readiness as onceonly defines it (docs/decisions.md, "Readiness is strict"): read-only probes, and a wait that
names what is not ready and why.

A cluster is ready when every scheduler answers ``/healthz`` 200, every daprd answers ``/v1.0/healthz`` 204,
every daprd's metadata lists every live scheduler in ``scheduler.connected_addresses``, and every scheduler's
``dapr_scheduler_sidecars_connected`` gauge equals job-streams x live replicas, all of it holding for a while.
The last two matter because job streams connect asynchronously after ``/v1.0/healthz`` turns 204, and Dapr's
own framework waits for the same thing (v1.18.3:tests/integration/framework/process/scheduler/scheduler.go
WaitUntilSidecarsConnected) because of a duplicate-delivery window while streams are still reconnecting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from harness.cluster.local.members import ReplicaMember, SchedulerMember
from harness.cluster.local.processes import Supervisor
from harness.errors import ClusterError

SIDECARS_METRIC = "dapr_scheduler_sidecars_connected"
TOKEN_HEADER = "dapr-api-token"

Probe = Callable[[], str | None]  # None when satisfied, otherwise what is missing


@dataclass(frozen=True, slots=True)
class Check:
    process: str  # the process whose log explains a failure
    what: str  # what is awaited, in words
    probe: Probe


def _get(http: httpx.Client, url: str, headers: dict[str, str] | None = None) -> httpx.Response | str:
    try:
        return http.get(url, headers=headers, timeout=2.0)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__} on {url}"


def scheduler_healthy(http: httpx.Client, member: SchedulerMember) -> Check:
    def probe() -> str | None:
        resp = _get(http, f"http://127.0.0.1:{member.healthz_port}/healthz")
        if isinstance(resp, str):
            return resp
        return None if resp.status_code == 200 else f"/healthz answered {resp.status_code}"

    return Check(member.name, "scheduler /healthz 200", probe)


def daprd_healthy(http: httpx.Client, replica: ReplicaMember) -> Check:
    def probe() -> str | None:
        resp = _get(http, f"{replica.dapr_http}/v1.0/healthz")
        if isinstance(resp, str):
            return resp
        return None if resp.status_code == 204 else f"/v1.0/healthz answered {resp.status_code}: {resp.text[:200]}"

    return Check(replica.daprd_name, "daprd /v1.0/healthz 204", probe)


def connected_addresses(http: httpx.Client, replica: ReplicaMember, token: str) -> list[str] | str:
    """The scheduler addresses a daprd says it is connected to, or why they could not be read."""
    resp = _get(http, f"{replica.dapr_http}/v1.0/metadata", headers={TOKEN_HEADER: token})
    if isinstance(resp, str):
        return resp
    if resp.status_code != 200:
        return f"/v1.0/metadata answered {resp.status_code}"
    scheduler = resp.json().get("scheduler") or {}
    return sorted(scheduler.get("connected_addresses") or [])


def daprd_connected(http: httpx.Client, replica: ReplicaMember, token: str, expected: Sequence[str]) -> Check:
    want = sorted(expected)

    def probe() -> str | None:
        got = connected_addresses(http, replica, token)
        if isinstance(got, str):
            return got
        return None if got == want else f"connected to {got or 'no scheduler'}, want {want}"

    return Check(replica.daprd_name, "daprd connected to every scheduler", probe)


def sidecars_connected(http: httpx.Client, member: SchedulerMember) -> float | str:
    resp = _get(http, f"http://127.0.0.1:{member.metrics_port}/metrics")
    if isinstance(resp, str):
        return resp
    if resp.status_code != 200:
        return f"/metrics answered {resp.status_code}"
    try:
        families = list(text_string_to_metric_families(resp.text))
    except ValueError as exc:  # not Prometheus text: say so instead of failing the wait with a traceback
        return f"/metrics is not Prometheus text ({exc})"
    for family in families:
        for sample in family.samples:
            if sample.name == SIDECARS_METRIC:
                return sample.value
    return 0.0  # the gauge appears with the first stream


def scheduler_streams(http: httpx.Client, member: SchedulerMember, expected: int) -> Check:
    def probe() -> str | None:
        got = sidecars_connected(http, member)
        if isinstance(got, str):
            return got
        return None if int(got) == expected else f"{SIDECARS_METRIC} is {int(got)}, want {expected}"

    return Check(member.name, f"{expected} job streams connected", probe)


def wait_until_ready(
    checks: Sequence[Check],
    supervisor: Supervisor,
    watch: Sequence[str],
    timeout: float,
    stable_for: float = 1.0,
    poll: float = 0.1,
    on_wait: Callable[[str], None] | None = None,
) -> float:
    """Poll ``checks`` until all pass for ``stable_for`` seconds; the seconds it took.

    ``watch`` names the processes that must stay alive meanwhile (one that exits fails the wait at once).

    Raises:
        ClusterError: a watched process exited, or ``timeout`` passed. The message names the process, what
            was awaited, and ends with the tail of that process's log.
    """
    start = time.monotonic()
    passing_since: float | None = None
    last_reason = ""
    while True:
        for child in (supervisor.get(name) for name in watch):
            if not child.alive():
                raise ClusterError(
                    f"{child.name} exited with code {child.returncode} while waiting for the cluster to be ready."
                    f"\nLast lines of {child.log_path}:\n{supervisor.log_tail(child.name)}"
                )
        failing = None
        for check in checks:
            reason = check.probe()
            if reason is not None:
                failing = (check, reason)
                break
        now = time.monotonic()
        if failing is None:
            passing_since = passing_since or now
            if now - passing_since >= stable_for:
                return now - start
        else:
            passing_since = None
            check, reason = failing
            if on_wait is not None and reason != last_reason:
                on_wait(f"waiting for {check.process}: {check.what} ({reason})")
            last_reason = reason
            if now - start > timeout:
                raise ClusterError(
                    f"{check.process} not ready after {timeout:.0f} s: waiting for {check.what}, but {reason}."
                    f"\nLast lines of {supervisor.log_dir / (check.process + '.log')}:\n"
                    f"{supervisor.log_tail(check.process)}"
                )
        time.sleep(poll)
