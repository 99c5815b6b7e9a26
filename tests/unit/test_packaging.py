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
    assert packages == ["harness", "target_app", "toolchain"]
    assert not (ROOT / "dapr").exists()
    spec = importlib.util.find_spec("dapr")  # the SDK, if installed here: never this repository
    assert spec is None or ROOT not in Path(spec.origin or "").parents
