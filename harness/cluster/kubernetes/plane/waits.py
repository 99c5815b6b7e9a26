"""Waiting for a component of the local control plane to be ready, or failing with its name and its log's tail.

A wait ends when its check returns true. It fails at once when the component's process has exited (its exit code
and last log lines are in the error), and after its deadline otherwise (with the last thing the check saw).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx

from harness.cluster.local.processes import Supervisor
from harness.errors import ClusterError

POLL = 0.1


def wait_until(
    supervisor: Supervisor,
    process: str,
    what: str,
    check: Callable[[], bool],
    timeout: float,
) -> float:
    """Poll ``check`` until it is true; the seconds it took. ``process`` is the supervised process it depends on."""
    started = time.monotonic()
    last = "never checked"
    while True:
        child = supervisor.get(process)
        if not child.alive():
            raise ClusterError(
                f"{process} exited (code {child.returncode}) before {what}.\n"
                f"Last lines of {child.log_path}:\n{supervisor.log_tail(process)}"
            )
        try:
            if check():
                return time.monotonic() - started
            last = "not yet"
        except Exception as exc:  # any failure of a check is "not ready yet" until the deadline
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() - started > timeout:
            raise ClusterError(
                f"{process}: {what} did not happen within {timeout:.0f} s (last check: {last[:300]}).\n"
                f"Last lines of {child.log_path}:\n{supervisor.log_tail(process)}"
            )
        time.sleep(POLL)


def http_ok(url: str, *, verify: bool | str = False) -> Callable[[], bool]:
    """A check: ``GET url`` answers 200. Health endpoints only: ``verify=False`` accepts a component's self-signed
    serving certificate (kube-controller-manager and kube-scheduler make one in their --cert-dir)."""

    def check() -> bool:
        return httpx.get(url, verify=verify, timeout=2.0).status_code == 200

    return check


def listening(host: str, port: int) -> Callable[[], bool]:
    """A check: a TCP connection to ``host:port`` is accepted."""

    def check() -> bool:
        with socket.create_connection((host, port), timeout=2.0):
            return True

    return check
