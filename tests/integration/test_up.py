"""`onceonly up` as a user runs it: a real harness process, stopped by Ctrl-C, SIGTERM, or killed outright."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cluster.local.ports import is_listening
from tests.integration.helpers import wait_gone
from toolchain.binaries import Binaries

pytestmark = pytest.mark.integration


def _start_up(run_dir: Path, bins: Binaries, *args: str, sigint: int = signal.SIG_DFL) -> subprocess.Popen[str]:
    """Start `onceonly up` with a known SIGINT disposition (``sigint``), whatever this test process has."""
    env = {**os.environ, "ONCEONLY_DAPR_BIN_DIR": str(bins.daprd.parent)}
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "up", "--run-dir", str(run_dir), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: _set_sigint(sigint),
    )


def _set_sigint(disposition: int) -> None:
    signal.signal(signal.SIGINT, disposition)


def _wait_ready(proc: subprocess.Popen[str], run_dir: Path, timeout: float = 120) -> tuple[list[int], list[int]]:
    """Wait for endpoints.json (written once ready); the pids and ports of the run."""
    deadline = time.monotonic() + timeout
    while not (run_dir / "endpoints.json").exists():
        if proc.poll() is not None:
            raise AssertionError(f"onceonly up exited {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}")
        assert time.monotonic() < deadline, "onceonly up did not become ready"
        time.sleep(0.2)
    listing = json.loads((run_dir / "processes.json").read_text())
    return [p["pid"] for p in listing["processes"]], listing["ports"]


@pytest.mark.parametrize(
    ("sig", "args", "inherited"),
    [
        (signal.SIGINT, ("--replicas", "3"), signal.SIG_DFL),  # Ctrl-C
        (signal.SIGTERM, ("--replicas", "3", "--schedulers", "3"), signal.SIG_DFL),
        # started as a background job of a non-interactive shell: SIGINT inherited ignored (issue 12, item 8)
        (signal.SIGINT, ("--replicas", "1"), signal.SIG_IGN),
    ],
    ids=["ctrl-c-3-replicas", "sigterm-3-replicas-3-schedulers", "ctrl-c-with-sigint-inherited-ignored"],
)
def test_up_runs_until_signalled_and_leaves_nothing(
    dapr_bins: Binaries, tmp_path: Path, sig: signal.Signals, args: tuple[str, ...], inherited: int
) -> None:
    run_dir = tmp_path / "up"
    proc = _start_up(run_dir, dapr_bins, *args, sigint=inherited)
    try:
        pids, ports = _wait_ready(proc, run_dir)
        endpoints = json.loads((run_dir / "endpoints.json").read_text())
        assert len(endpoints["replicas"]) == int(args[1])
        assert len(endpoints["schedulers"]) == (3 if "--schedulers" in args else 1)
        assert endpoints["ready_seconds"] > 0
        time.sleep(1)
        assert proc.poll() is None, "up must stay up until signalled"
        proc.send_signal(sig)
        output, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 0, output
    assert "ready in" in output and "stopped; no process of the run is left" in output
    assert wait_gone(pids, timeout=5) == []
    assert [p for p in ports if is_listening(p)] == []
    assert oct((run_dir / "cluster.env").stat().st_mode & 0o777) == "0o600"


def test_sigkilled_harness_leaves_no_process(dapr_bins: Binaries, tmp_path: Path) -> None:
    run_dir = tmp_path / "up"
    proc = _start_up(run_dir, dapr_bins, "--replicas", "2")
    try:
        pids, ports = _wait_ready(proc, run_dir)
        proc.kill()  # SIGKILL: no handler, no finally; only the parent-death signal can clean up
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.communicate()
    assert wait_gone(pids, timeout=10) == []
    deadline = time.monotonic() + 10
    while [p for p in ports if is_listening(p)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [p for p in ports if is_listening(p)] == []
