"""Help that says what an option takes (issue 13, item 7): ``--set KEY=VALUE``, ``--only NAME``, ``--dapr VERSION|DIR``,
never typer's ``--help <bool>``, ``--set <list[str]>``, ``SCENARIO <path>`` or click's ``TEXT`` / ``INTEGER``.

Every command's ``--help`` is rendered through the real entry point (``harness.cli.main``); the commands are found by
walking the app, so a new command or option is checked without being listed here.
"""

from __future__ import annotations

import re

import pytest
import typer

from harness import cli

# a Python type as typer renders it (<bool>, <path>, <list[str]>, <int>, <float>, <str>), or click's upper-case type
PYTHON_TYPE = re.compile(r"<[a-z_]+(\[[^\]<>\s]*\])?>|\b(TEXT|INTEGER|FLOAT|BOOLEAN|PATH|FILENAME|DIRECTORY)\b")


def command_paths(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command's argv prefix: () for the app, ("run",), ("dapr", "build"), ..."""
    found = [path]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += command_paths(sub, (*path, name))
    return found


COMMANDS = command_paths(typer.main.get_command(cli.app))


def help_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as info:
        cli.main([*argv, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def test_every_command_is_walked() -> None:
    names = {" ".join(p) for p in COMMANDS}
    assert {
        "",
        "run",
        "demo",
        "load",
        "check",
        "suite",
        "compare",
        "validate",
        "up",
        "dapr build",
        "dapr which",
    } <= names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "onceonly")
def test_help_names_what_each_option_takes_never_a_python_type(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one line per option: a type is not split across lines
    text = help_of(list(path), capsys)
    assert "--help" in text
    found = [m.group(0) for m in PYTHON_TYPE.finditer(text)]
    assert found == [], f"`onceonly {' '.join(path)} --help` renders a Python type: {found}\n{text}"


@pytest.mark.parametrize(
    ("path", "wanted"),
    [
        (("run",), ["SCENARIO", "--set", "KEY=VALUE", "--dapr-version", "VERSION", "--reports", "DIR"]),
        (("suite",), ["SUITE_FILE", "--only", "NAME", "--skip", "NAME", "--junit", "FILE"]),
        (("compare",), ["TARGET | OLD_RUN NEW_RUN", "--dapr", "VERSION|DIR", "--lateness-threshold", "PERCENT"]),
        (("check",), ["RUN_DIR"]),
        (("up",), ["--replicas", "N", "--schedulers", "1|3", "--ready-timeout", "SECONDS"]),
        (("dapr", "build"), ["--version,--dapr-version", "VERSION", "--proxy", "--no-proxy"]),
        (("dapr", "which"), ["--dapr-bin-dir", "DIR"]),
        (("k8s", "build"), ["--version", "VERSION", "ONCEONLY_K8S_VERSION"]),
        (("k8s", "up"), ["--node", "--host-dapr", "--no-host-dapr", "--dir", "DIR"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else "",
)
def test_help_shows_the_names_of_values(
    path: tuple[str, ...], wanted: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    text = help_of(list(path), capsys)
    for word in wanted:
        assert word in text, f"{word!r} missing from `onceonly {' '.join(path)} --help`:\n{text}"


def test_the_check_catches_an_option_without_a_metavar(capsys: pytest.CaptureFixture[str]) -> None:
    """The pattern above matches what typer renders for an option that names no value (so the test can fail): a
    command of a bare app, whose options have no metavar, shows ``<list[str]>`` and ``<int>``."""
    bare = typer.Typer(add_completion=False)

    @bare.command()
    def go(names: list[str] | None = None, count: int = 1) -> None:
        """A command with two options, no metavars."""

    @bare.command()
    def other() -> None:
        """A second command, so the app is a group."""

    with pytest.raises(SystemExit):
        bare(["go", "--help"], prog_name="bare")
    found = {m.group(0) for m in PYTHON_TYPE.finditer(capsys.readouterr().out)}
    assert {"<list[str]>", "<int>"} <= found
