"""The process supervisor: starts every child of a run, signals it by name, and guarantees teardown.

Guarantees, and how:

- **No child outlives the harness, even a SIGKILLed one.** Every child is started with a parent-death signal
  (``prctl(PR_SET_PDEATHSIG, SIGKILL)``, Linux) set between fork and exec, and exits at once if the harness was
  already gone by then. The kernel sends the signal when the *thread* that forked the child ends, so children
  must be started from a thread that lives as long as the run: the main thread, as the CLI and the tests do.
- **Each child is its own process group** (``start_new_session``), so a Ctrl-C typed at the terminal reaches
  only the harness, which then stops the children in order instead of all at once.
- **Stop always runs**: ``stop_all`` is idempotent and is called from ``finally``/``__exit__``; SIGTERM and
  SIGHUP are turned into ``SystemExit`` by ``exit_on_signals`` so ``finally`` blocks run for them too.
- **One log file per process** in the run's ``logs/`` directory; a restarted process appends to its log after a
  marker line, so nothing of an earlier life is lost.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

import psutil

PR_SET_PDEATHSIG = 1


class ProcessError(RuntimeError):
    """A child could not be started or signalled."""


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


@dataclass
class Child:
    """One supervised process (one life of it: a restart makes a new Child under the same name)."""

    name: str
    argv: list[str]
    popen: subprocess.Popen[bytes]
    log_path: Path
    started_at: float
    paused: bool = False

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()


@dataclass
class Supervisor:
    """Starts and stops the children of one run. Not thread-safe: drive it from the main thread."""

    log_dir: Path
    children: dict[str, Child] = field(default_factory=dict)
    history: list[Child] = field(default_factory=list)  # every life of every child, for teardown checks
    on_change: Callable[[Supervisor], None] | None = None

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> Child:
        """Start ``argv`` as ``name``; its stdout and stderr go to ``logs/<name>.log``."""
        if name in self.children and self.children[name].alive():
            raise ProcessError(f"{name} is already running (pid {self.children[name].pid})")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        log: IO[bytes]
        with log_path.open("ab") as log:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            log.write(f"--- onceonly: starting {name} at {stamp}: {Path(argv[0]).name}\n".encode())
            log.flush()
            try:
                popen = subprocess.Popen(
                    list(argv),
                    env=dict(env),
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent(os.getpid()),
                )
            except OSError as exc:
                raise ProcessError(f"cannot start {name} ({argv[0]}): {exc}") from exc
        child = Child(name, list(argv), popen, log_path, time.monotonic())
        self.children[name] = child
        self.history.append(child)
        self._changed()
        return child

    def get(self, name: str) -> Child:
        try:
            return self.children[name]
        except KeyError:
            raise ProcessError(f"no process named {name!r}; known: {', '.join(self.children)}") from None

    def send_signal(self, name: str, sig: signal.Signals) -> None:
        """Send ``sig`` to the process group of ``name`` (a no-op for a process that already exited)."""
        child = self.get(name)
        if not child.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, sig)
        if sig == signal.SIGSTOP:
            child.paused = True
            _wait_state(child.pid, stopped=True)  # signals are delivered asynchronously: the fault starts now
        elif sig == signal.SIGCONT:
            child.paused = False
            _wait_state(child.pid, stopped=False)

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL, wait: float = 10.0) -> int | None:
        """Signal ``name`` and wait up to ``wait`` seconds for it to exit; its return code, or None."""
        child = self.get(name)
        self.send_signal(name, sig)
        if child.paused and sig != signal.SIGKILL:
            self.send_signal(name, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        try:
            code = child.popen.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return None
        self._changed()
        return code

    def stop(self, name: str, grace: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns its exit code once the process is gone."""
        child = self.get(name)
        if child.alive() and self.kill(name, signal.SIGTERM, wait=grace) is None:
            self.kill(name, signal.SIGKILL, wait=30.0)
        return child.popen.returncode

    def stop_many(self, names: Sequence[str], grace: float = 10.0) -> None:
        """Stop several processes at once: SIGTERM to all, then SIGKILL to whoever is left after ``grace``."""
        live = [self.children[n] for n in names if n in self.children and self.children[n].alive()]
        for child in live:
            self.send_signal(child.name, signal.SIGTERM)
            if child.paused:
                self.send_signal(child.name, signal.SIGCONT)
        deadline = time.monotonic() + grace
        for child in live:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
        for child in live:
            if child.alive():
                self.send_signal(child.name, signal.SIGKILL)
                child.popen.wait(timeout=30.0)
        self._changed()

    def stop_all(self, order: Sequence[Sequence[str]] = (), grace: float = 10.0) -> None:
        """Stop every child: the groups in ``order`` first (each group at once), then everything else."""
        for group in order:
            self.stop_many([n for n in group if n in self.children], grace)
        self.stop_many(list(self.children), grace)
        # also reap earlier lives (restarted processes), which were waited for when they were replaced
        for child in self.history:
            if child.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.popen.wait(timeout=30.0)

    def log_tail(self, name: str, lines: int = 25) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return "(no log)"
        text = path.read_bytes()[-64_000:].decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)


class Interrupted(SystemExit):
    """Raised in the main thread when the harness receives SIGTERM or SIGHUP."""


@contextlib.contextmanager
def exit_on_signals(signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGHUP)) -> Iterator[None]:
    """Turn ``signals`` into ``Interrupted`` (a SystemExit) so ``finally`` blocks and ``__exit__`` run.

    SIGINT already raises KeyboardInterrupt. The previous handlers are restored on exit.
    """

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise Interrupted(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def deaf_to_signals(say: Callable[[str], None]) -> Iterator[None]:
    """While stopping: Ctrl-C, SIGTERM and SIGHUP are said, not obeyed, so a second Ctrl-C (or ``uv run`` passing
    the terminal's on) cannot cut a teardown short and leave processes or mounts behind. Main thread only (where
    the handlers are set); the previous handlers are restored on exit."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        say(f"still stopping ({signal.Signals(signum).name} ignored until the teardown is done)")

    watched = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, handler) for sig in watched}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _wait_state(pid: int, *, stopped: bool, timeout: float = 2.0) -> None:
    """Wait (briefly) until ``pid`` is stopped, or no longer stopped; a process that is gone counts as done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (psutil.Process(pid).status() == psutil.STATUS_STOPPED) == stopped:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.01)
