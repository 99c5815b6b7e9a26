"""Shell completion (issue 13, item 7: it was turned off): ``onceonly --show-completion`` / ``--install-completion``,
and the console script (``harness.cli:main``, which runs the app with ``standalone_mode=False``) answering a real
bash that sources the script it printed.

A scenario, a suite file, a run directory complete as files: the program answers nothing there, which the bash
script (``complete -o default``) turns into file-name completion, and zsh's answer is ``_files``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ONCEONLY = Path(sys.executable).parent / "onceonly"  # the console script the wheel installs: harness.cli:main
BASH = shutil.which("bash")


def onceonly(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "HOME": str(tmp_path),
        "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1",  # the shell is named, not guessed from the process tree
        **env,
    }
    return subprocess.run([str(ONCEONLY), *args], env=environ, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> str:
    """What `onceonly --show-completion bash` prints (one process for the module: each takes about a second)."""
    shown = onceonly(["--show-completion", "bash"], tmp_path_factory.mktemp("home"))
    assert shown.returncode == 0, shown.stderr
    assert "complete -o default -F _onceonly_completion onceonly" in shown.stdout
    return shown.stdout


@pytest.mark.skipif(BASH is None, reason="no bash")
@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["ru"], ["run"]),
        (["dapr", "w"], ["which"]),
        (["run", "--se"], ["--set"]),
        (["run", "scen"], []),  # a scenario path: nothing from onceonly, so bash completes file names (-o default)
    ],
    ids=["ru", "dapr-w", "run--se", "run-path"],
)
def test_bash_completes_through_the_real_entry_point(
    words: list[str], expected: list[str], bash_script: str, tmp_path: Path
) -> None:
    script = bash_script
    comp_words = " ".join(["onceonly", *words])
    line = (
        f"{script}\nCOMP_WORDS=({comp_words}); COMP_CWORD={len(words)}\n"
        f'_onceonly_completion {shlex.quote(str(ONCEONLY))} {shlex.quote(words[-1])} onceonly\nprintf "%s\\n" '
        '"${COMPREPLY[@]}"'
    )
    assert BASH is not None
    done = subprocess.run(
        [BASH, "--norc", "--noprofile", "-c", line],
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.split()) == sorted(expected)


def test_zsh_completes_a_scenario_path_as_files(tmp_path: Path) -> None:
    done = onceonly([], tmp_path, _ONCEONLY_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS="onceonly run scen")
    assert (done.returncode, done.stdout.strip()) == (0, "_files")
    commands = onceonly([], tmp_path, _ONCEONLY_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS="onceonly su")
    assert '"suite"' in commands.stdout


def test_install_completion_writes_the_script_for_bash(tmp_path: Path) -> None:
    done = onceonly(["--install-completion", "bash"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "bash completion installed in" in done.stdout
    installed = (tmp_path / ".bash_completions" / "onceonly.sh").read_text()
    assert "_ONCEONLY_COMPLETE=complete_bash" in installed
    assert "onceonly.sh" in (tmp_path / ".bashrc").read_text()


def test_completion_never_runs_a_command(tmp_path: Path) -> None:
    """Completing after ``--version`` lists commands; it does not print the version (its callback waits for a real
    command line)."""
    done = onceonly(
        [], tmp_path, _ONCEONLY_COMPLETE="complete_bash", COMP_WORDS="onceonly --version va", COMP_CWORD="2"
    )
    assert done.returncode == 0
    assert done.stdout.split() == ["validate"]
