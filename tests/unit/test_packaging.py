"""What the wheel installs: nothing named like another project's package (issue 12: the Dapr Python SDK's import
name is ``dapr``; an app that uses it must be able to install onceonly beside it)."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_nothing_the_wheel_installs_is_called_dapr() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert packages == ["harness", "target_app", "toolchain", "hop"]
    assert not (ROOT / "dapr").exists()
    spec = importlib.util.find_spec("dapr")  # the SDK, if installed here: never this repository
    assert spec is None or ROOT not in Path(spec.origin or "").parents


def test_the_readme_has_two_commands_and_ci_calls_its_test_command() -> None:
    """Issue 12: the quick start is exactly two commands, each doing its own set-up; CI runs the test one."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The two commands", 1)[1].split("### The same by hand", 1)[0]
    blocks = [b.split("```", 1)[0].strip() for b in section.split("```sh\n")[1:]]
    assert blocks == ["./run-demo", "./run-tests"]
    for command in ("run-demo", "run-tests"):
        script = ROOT / command
        assert script.stat().st_mode & 0o111, f"{command} is not executable"
        assert ". scripts/setup.sh" in script.read_text()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "./run-tests" in ci


def test_nothing_in_the_repo_refers_to_documents_outside_it() -> None:
    """Issue 12: what the code needs from outside documents is written into the repo's own docs
    (docs/dapr-facts.md, docs/decisions.md); a newcomer with only the clone can follow every reference."""
    outside = ("DESIGN.md", "../shared", "field-notes", "dapr-runtime.md", "reference/", "reference §")
    found = []
    for path in sorted(ROOT.rglob("*")):
        parts = path.relative_to(ROOT).parts
        if not path.is_file() or parts[0] in (".git", ".venv", "reports") or "__pycache__" in parts:
            continue
        if path.suffix not in (".py", ".md", ".yaml", ".toml", ".sh") and path.name not in ("run-demo", "run-tests"):
            continue
        if path == Path(__file__):
            continue
        text = path.read_text(errors="replace")
        found += [f"{path.relative_to(ROOT)}: {word}" for word in outside if word in text]
    assert found == []


def test_modules_stay_rooms_not_halls() -> None:
    """Issue 12: the package code's median module is at most 200 lines and none is over 500, except the scenario
    schema (one pydantic model per section of the format, kept together)."""
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text().splitlines())
        for package in ("harness", "target_app", "toolchain", "hop")
        for p in (ROOT / package).rglob("*.py")
        if p.name != "__init__.py" or p.stat().st_size > 200
    }
    ordered = sorted(sizes.values())
    assert ordered[len(ordered) // 2] <= 200, ordered
    assert {name: n for name, n in sizes.items() if n > 500} == {
        "harness/scenario/schema.py": sizes["harness/scenario/schema.py"]
    }
