"""harness.cluster.local.processes: the Supervisor with real tiny neighbour processes (`sleep`, `sh -c` scripts).

The children here are stand-ins, not the system under test: they only have to be started, signalled and
stopped. Every test stops what it started (the ``supervisor`` fixture runs ``stop_all`` whatever happened).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from harness.cluster.local.processes import Interrupted, ProcessError, Supervisor, exit_on_signals

ROOT = Path(__file__).resolve().parents[2]
ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    sup = Supervisor(tmp_path / "logs")
    try:
        yield sup
    finally:
        sup.stop_all(grace=0.5)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def gone(pid: int) -> bool:
    """The process no longer runs (a zombie counts as gone: it runs nothing and only waits to be reaped)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def proc_state(pid: int) -> str:
    """The one-letter state of /proc/<pid>/stat (R, S, T, Z...)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0]


# --- start and logs ------------------------------------------------------------------------------------------


def test_start_writes_marker_line_and_output_to_the_log(supervisor: Supervisor) -> None:
    child = supervisor.start("talker", ["sh", "-c", "echo to-stdout; echo to-stderr >&2"], ENV)
    assert child.popen.wait(timeout=5) == 0

    assert child.log_path == supervisor.log_dir / "talker.log"
    lines = child.log_path.read_text().splitlines()
    assert lines[0].startswith("--- onceonly: starting talker at ")
    assert lines[0].endswith(": sh")
    assert lines[1:] == ["to-stdout", "to-stderr"]
    assert supervisor.get("talker") is child
    assert supervisor.history == [child]


def test_a_restart_appends_to_the_log_after_a_new_marker(supervisor: Supervisor) -> None:
    supervisor.start("talker", ["sh", "-c", "echo first-life"], ENV).popen.wait(timeout=5)
    supervisor.start("talker", ["sh", "-c", "echo second-life"], ENV).popen.wait(timeout=5)

    lines = (supervisor.log_dir / "talker.log").read_text().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("--- onceonly: starting talker")
    assert lines[1] == "first-life"
    assert lines[2].startswith("--- onceonly: starting talker")
    assert lines[3] == "second-life"
    assert len(supervisor.history) == 2


def test_start_passes_only_the_given_environment_and_cwd(supervisor: Supervisor, tmp_path: Path) -> None:
    env = {**ENV, "ONCEONLY_TEST_VALUE": "xyz"}
    child = supervisor.start("env", ["sh", "-c", 'echo "$ONCEONLY_TEST_VALUE $(pwd)"'], env, cwd=tmp_path)
    child.popen.wait(timeout=5)
    assert supervisor.log_tail("env", lines=1) == f"xyz {tmp_path}"


def test_each_child_is_its_own_process_group(supervisor: Supervisor) -> None:
    child = supervisor.start("sleeper", ["sleep", "30"], ENV)
    assert os.getpgid(child.pid) == child.pid
    assert os.getpgid(child.pid) != os.getpgid(0)


def test_starting_a_name_that_is_alive_raises(supervisor: Supervisor) -> None:
    first = supervisor.start("a", ["sleep", "30"], ENV)
    with pytest.raises(ProcessError, match=rf"a is already running \(pid {first.pid}\)"):
        supervisor.start("a", ["sleep", "30"], ENV)
    assert supervisor.get("a") is first
    assert supervisor.history == [first]


def test_starting_a_missing_binary_raises_naming_it(supervisor: Supervisor, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "no-such-binary"
    with pytest.raises(ProcessError) as info:
        supervisor.start("ghost", [str(missing), "--flag"], ENV)
    assert "ghost" in str(info.value)
    assert str(missing) in str(info.value)
    assert "ghost" not in supervisor.children
    assert supervisor.history == []


def test_get_unknown_name_raises(supervisor: Supervisor) -> None:
    supervisor.start("known", ["sleep", "30"], ENV)
    with pytest.raises(ProcessError, match="no process named 'unknown'; known: known"):
        supervisor.get("unknown")
    with pytest.raises(ProcessError, match="unknown"):
        supervisor.send_signal("unknown", signal.SIGTERM)


def test_on_change_is_called_on_start_and_kill(supervisor: Supervisor) -> None:
    calls: list[int] = []
    supervisor.on_change = lambda s: calls.append(len(s.history))
    supervisor.start("a", ["sleep", "30"], ENV)
    assert calls == [1]
    supervisor.kill("a")
    assert calls == [1, 1]


def test_log_tail_returns_the_last_lines(supervisor: Supervisor) -> None:
    script = "i=1; while [ $i -le 40 ]; do echo line-$i; i=$((i+1)); done"
    supervisor.start("counter", ["sh", "-c", script], ENV).popen.wait(timeout=5)

    assert supervisor.log_tail("counter", lines=3) == "line-38\nline-39\nline-40"
    default = supervisor.log_tail("counter").splitlines()
    assert len(default) == 25
    assert default[-1] == "line-40"
    assert default[0] == "line-16"


def test_log_tail_of_a_process_without_log(supervisor: Supervisor) -> None:
    assert supervisor.log_tail("never-started") == "(no log)"


# --- signals, kill, stop -------------------------------------------------------------------------------------


def test_sigstop_pauses_and_sigcont_resumes(supervisor: Supervisor) -> None:
    child = supervisor.start("sleeper", ["sleep", "30"], ENV)

    supervisor.send_signal("sleeper", signal.SIGSTOP)
    assert child.paused
    wait_for(lambda: proc_state(child.pid) == "T", what="state T")
    assert psutil.Process(child.pid).status() == psutil.STATUS_STOPPED

    supervisor.send_signal("sleeper", signal.SIGCONT)
    assert not child.paused
    wait_for(lambda: proc_state(child.pid) != "T", what="state other than T")
    assert child.alive()


def test_kill_returns_the_code_and_the_process_is_gone(supervisor: Supervisor) -> None:
    child = supervisor.start("sleeper", ["sleep", "30"], ENV)
    pid = child.pid

    assert supervisor.kill("sleeper") == -signal.SIGKILL
    assert not child.alive()
    assert child.returncode == -9
    assert not psutil.pid_exists(pid)


def test_kill_with_sigterm_reaches_a_paused_process(supervisor: Supervisor) -> None:
    child = supervisor.start("sleeper", ["sleep", "30"], ENV)
    supervisor.send_signal("sleeper", signal.SIGSTOP)
    wait_for(lambda: proc_state(child.pid) == "T", what="state T")

    assert supervisor.kill("sleeper", signal.SIGTERM, wait=5) == -signal.SIGTERM


def test_send_signal_to_an_exited_process_is_a_no_op(supervisor: Supervisor) -> None:
    child = supervisor.start("quick", ["sh", "-c", "exit 3"], ENV)
    child.popen.wait(timeout=5)
    supervisor.send_signal("quick", signal.SIGSTOP)
    assert not child.paused
    assert supervisor.kill("quick") == 3


def test_stop_escalates_to_sigkill_when_sigterm_is_ignored(supervisor: Supervisor) -> None:
    child = supervisor.start("stubborn", ["sh", "-c", "trap '' TERM; echo ready; exec sleep 30"], ENV)
    wait_for(lambda: "ready" in child.log_path.read_text(), what="the trap to be set")

    started = time.monotonic()
    supervisor.stop("stubborn", grace=0.5)
    took = time.monotonic() - started

    assert child.returncode == -signal.SIGKILL
    assert 0.5 <= took < 5
    assert not psutil.pid_exists(child.pid)


def test_stop_of_a_cooperative_process_needs_only_sigterm(supervisor: Supervisor) -> None:
    child = supervisor.start("sleeper", ["sleep", "30"], ENV)
    started = time.monotonic()
    supervisor.stop("sleeper", grace=5)
    assert time.monotonic() - started < 2
    assert child.returncode == -signal.SIGTERM
    supervisor.stop("sleeper")  # already gone: a no-op


def test_stop_all_stops_everything_including_earlier_lives(supervisor: Supervisor) -> None:
    first = supervisor.start("a", ["sleep", "30"], ENV)
    assert supervisor.kill("a") == -9
    second = supervisor.start("a", ["sleep", "30"], ENV)
    other = supervisor.start("b", ["sleep", "30"], ENV)
    stubborn = supervisor.start("c", ["sh", "-c", "trap '' TERM; echo ready; exec sleep 30"], ENV)
    wait_for(lambda: "ready" in stubborn.log_path.read_text(), what="the trap to be set")
    supervisor.send_signal("b", signal.SIGSTOP)  # a paused child must be stopped too

    assert supervisor.history == [first, second, other, stubborn]
    supervisor.stop_all(order=[["b"], ["a"]], grace=0.5)

    for child in supervisor.history:
        assert not child.alive(), child.name
        assert not psutil.pid_exists(child.pid), child.name
    supervisor.stop_all(grace=0.5)  # idempotent


def test_stop_all_with_nothing_started(supervisor: Supervisor) -> None:
    supervisor.stop_all(order=[["x"]], grace=0.1)
    assert supervisor.history == []


# --- the harness dies: its children die with it --------------------------------------------------------------

HARNESS_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from harness.cluster.local.processes import Supervisor

    sup = Supervisor(Path(sys.argv[1]))
    child = sup.start("sleeper", ["sleep", "60"], {"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    print(child.pid, flush=True)
    time.sleep(60)
    """
)


def test_children_die_when_the_harness_is_sigkilled(tmp_path: Path) -> None:
    harness = subprocess.Popen(
        [sys.executable, "-c", HARNESS_SCRIPT, str(tmp_path / "logs")],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    child_pid: int | None = None
    try:
        assert harness.stdout is not None
        line = harness.stdout.readline()
        assert line.strip().isdigit(), f"harness script printed {line!r}"
        child_pid = int(line)
        child = psutil.Process(child_pid)
        assert child.name() == "sleep"
        assert child.ppid() == harness.pid

        harness.kill()
        harness.wait(timeout=5)

        wait_for(lambda: gone(child_pid), timeout=5, what=f"sleep (pid {child_pid}) to die with its parent")
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait(timeout=5)
        if harness.stdout is not None:
            harness.stdout.close()
        if child_pid is not None and not gone(child_pid):  # only if the test failed: do not leak it
            os.kill(child_pid, signal.SIGKILL)


# --- exit_on_signals -----------------------------------------------------------------------------------------


def _raise_signal_and_wait(sig: signal.Signals) -> None:
    os.kill(os.getpid(), sig)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:  # the handler runs between bytecodes, at once in practice
        time.sleep(0.01)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_exit_on_signals_raises_interrupted_and_restores_the_handler(sig: signal.Signals) -> None:
    before = signal.getsignal(sig)
    finally_ran = False

    with pytest.raises(Interrupted) as info, exit_on_signals():
        try:
            _raise_signal_and_wait(sig)
        finally:
            finally_ran = True

    assert isinstance(info.value, SystemExit)
    assert info.value.code == 128 + sig
    assert finally_ran
    assert signal.getsignal(sig) is before


def test_exit_on_signals_restores_the_handler_without_a_signal() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with exit_on_signals():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
