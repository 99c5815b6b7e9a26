"""The pipeline examples in docs/ci run as written (issue 13, item 8): every ``uv run onceonly ...`` command in them
parses with the real CLI (its options, arguments and subcommands; nothing is run), and every file of this
repository they name exists. A renamed option or a moved suite breaks this test, not somebody's pipeline."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from typer._click.core import Command, Context
from typer._click.exceptions import UsageError  # typer >= 0.26 vendors click; its errors are not click's
from typer.core import TyperGroup

from harness import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "docs" / "ci").glob("*.yml"))


def scripts(node: Any) -> Iterator[str]:
    """Every shell text of a workflow or a GitLab job: ``run:`` values and ``script`` / ``before_script`` items."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                yield value
            elif key in ("script", "before_script", "after_script") and isinstance(value, list):
                yield from (item for item in value if isinstance(item, str))
            else:
                yield from scripts(value)
    elif isinstance(node, list):
        for item in node:
            yield from scripts(item)


def onceonly_commands(path: Path) -> list[list[str]]:
    commands = []
    for text in scripts(yaml.safe_load(path.read_text())):
        for line in re.split(r"\n|&&|;", text.replace("\\\n", " ")):
            words = shlex.split(line)
            if words[:3] == ["uv", "run", "onceonly"]:
                commands.append(words[3:])
    return commands


def parse(args: list[str]) -> Context:
    """Parse ``onceonly ARGS`` as the CLI would, down to the last subcommand, without running anything."""
    command: Command = typer.main.get_command(cli.app)
    ctx = command.make_context("onceonly", list(args))
    while isinstance(command, TyperGroup):
        rest = [*ctx._protected_args, *ctx.args]
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None
        command, ctx = sub, sub.make_context(name, rest, parent=ctx)
    return ctx


def test_there_are_examples_for_github_and_gitlab() -> None:
    assert [p.name for p in EXAMPLES] == ["github-actions.yml", "gitlab-ci.yml"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_command_is_one_the_cli_accepts(example: Path) -> None:
    commands = onceonly_commands(example)
    assert {c[0] for c in commands} >= {"dapr", "suite", "compare"}  # the build, the gate and the comparison
    for args in commands:
        try:
            parse(args)
        except UsageError as exc:
            pytest.fail(f"{example.name}: `onceonly {' '.join(args)}` is refused by the CLI: {exc.format_message()}")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_file_it_names_exists(example: Path) -> None:
    named = [a for args in onceonly_commands(example) for a in args if a.startswith("scenarios/")]
    assert named and all((ROOT / a).is_file() for a in named), [a for a in named if not (ROOT / a).is_file()]
    text = example.read_text()
    for pattern in re.findall(r"hashFiles\('([^']+)'\)", text) + re.findall(r"files: \[([^\]]+)\]", text):
        for each in pattern.split(","):
            assert list(ROOT.glob(each.strip())), f"{example.name}: {each.strip()} matches no file"


def test_a_command_the_cli_refuses_is_caught() -> None:
    """The check can fail: an option that does not exist is a usage error."""
    with pytest.raises(UsageError):
        parse(["suite", "scenarios/regression.yaml", "--junit-xml", "reports/junit.xml"])
