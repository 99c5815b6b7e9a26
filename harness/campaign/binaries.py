"""The binaries one scenario runs on: the command line's version or binaries directory, else the scenario's
``dapr`` section, else the default; and its rolling upgrade's. Checks the environment first (a known version,
redis-server on PATH); errors are raised before any process starts (``toolchain.selection`` finds or builds)."""

from __future__ import annotations

from pathlib import Path

from harness.cluster.local.cluster import find_redis_server
from harness.scenario.schema import Scenario
from toolchain.binaries import Binaries
from toolchain.selection import SelectionDisplay, resolve_binaries
from toolchain.versions import DEFAULT_VERSION, lookup


def prepare_binaries(version: str, bin_dir: Path | None, display: SelectionDisplay) -> Binaries:
    """Check the environment before a run (known version, redis-server on PATH) and find or build Dapr.

    Raises ``HarnessError``, ``UnknownVersionError``, ``BuildError`` or ``ProbeError`` before a process is started.
    """
    if bin_dir is None:
        lookup(version)
    find_redis_server()
    return resolve_binaries(version, bin_dir, display)


def case_binaries(
    sc: Scenario, version: str | None, bin_dir: Path | None, display: SelectionDisplay
) -> tuple[Binaries, Binaries | None]:
    """The binaries one scenario runs on, as ``run`` picks them: the command line's version or binaries
    directory, else the scenario's ``dapr`` section, else the default; and its rolling upgrade's, if any."""
    bin_dir = bin_dir or (Path(sc.dapr.bin_dir) if sc.dapr.bin_dir else None)
    return prepare_binaries(version or sc.dapr.version or DEFAULT_VERSION, bin_dir, display), prepare_upgrade(
        sc, display
    )


def prepare_upgrade(sc: Scenario, display: SelectionDisplay) -> Binaries | None:
    """The binaries a rolling upgrade switches to (``dapr.upgrade_to`` / ``upgrade_bin_dir``), built if needed."""
    if not sc.dapr.upgrades:
        return None
    bin_dir = Path(sc.dapr.upgrade_bin_dir) if sc.dapr.upgrade_bin_dir else None
    return prepare_binaries(sc.dapr.upgrade_to or DEFAULT_VERSION, bin_dir, display)
