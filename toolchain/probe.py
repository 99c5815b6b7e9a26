"""Ask a binary (Dapr's, the control plane's) which version it is, the way the binary itself says it.

- ``daprd --version`` prints the bare version (``1.18.2``).
- ``scheduler`` has no ``--version`` flag (v1.18.3:cmd/scheduler/options/options.go; it exits with
  "unknown flag: --version"). It prints its version in the first line it logs:
  ``Starting Dapr Scheduler Service -- version 1.18.2 -- commit <sha>``. So onceonly starts it for a moment,
  on free loopback ports with a throw-away data dir, reads that line and kills it.
- The control plane's binaries name their version in a line of ``--version`` (``Kubernetes v1.37.2``,
  ``etcd Version: 3.6.16``, kwok's ``v0.8.0 go1.26.8 (linux/amd64)``): ``says_version`` looks for it as a word.
"""

from __future__ import annotations

import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SCHEDULER_BANNER = re.compile(r"Starting Dapr Scheduler Service -- version (\S+) -- commit (\S*)")
DAPRD_BANNER = re.compile(r"Starting Dapr Runtime -- version (\S+) -- commit (\S*)")


class ProbeError(RuntimeError):
    """The binary could not be run or did not say its version."""


def daprd_version(binary: Path, timeout: float = 20.0) -> str:
    return version_output(binary, timeout)[-1]


def version_output(binary: Path, timeout: float = 20.0) -> list[str]:
    """The non-empty lines ``BINARY --version`` prints (stdout, else stderr); it must exit 0 and print something."""
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=timeout, check=False)
    except OSError as exc:
        raise ProbeError(f"{binary} cannot be run: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ProbeError(f"{binary} --version did not answer within {timeout:.0f} s") from exc
    lines = [ln.strip() for ln in (out.stdout or out.stderr).splitlines() if ln.strip()]
    if out.returncode != 0 or not lines:
        raise ProbeError(f"{binary} --version failed (exit {out.returncode}): {' '.join(lines)[-300:]}")
    return lines


def says_version(lines: list[str], version: str) -> bool:
    """Whether ``--version``'s lines name ``version`` ("3.6.16") as a word of its own, with or without a "v"."""
    word = re.compile(rf"(?<![\w.])v?{re.escape(version)}(?![\w.])")
    return any(word.search(line) for line in lines)


def scheduler_version(binary: Path, timeout: float = 15.0) -> str:
    with tempfile.TemporaryDirectory(prefix="onceonly-probe-") as tmp:
        log = Path(tmp) / "scheduler.log"
        argv = [
            str(binary),
            "--id=probe",
            "--listen-address=127.0.0.1",
            f"--port={_free_port()}",
            f"--healthz-port={_free_port()}",
            f"--metrics-port={_free_port()}",
            "--metrics-listen-address=127.0.0.1",
            f"--etcd-client-port={_free_port()}",
            f"--etcd-initial-cluster=probe=http://127.0.0.1:{_free_port()}",
            f"--etcd-data-dir={tmp}/data",
            f"--identity-directory-write={tmp}/tls",
        ]
        try:
            with log.open("wb") as fh:
                proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise ProbeError(f"{binary} cannot be run: {exc}") from exc
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                match = SCHEDULER_BANNER.search(log.read_text(errors="replace"))
                if match:
                    return match.group(1)
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
        finally:
            proc.kill()
            proc.wait()
        tail = log.read_text(errors="replace")[-400:]
        raise ProbeError(f"{binary} did not log its version (no 'Starting Dapr Scheduler Service'): {tail}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
