"""onceonly's own version, as installed (for ``--version``, JUnit properties and run.json)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def onceonly_version() -> str:
    try:
        return version("onceonly")
    except PackageNotFoundError:  # pragma: no cover - run from a tree that was never installed
        return "unknown"
