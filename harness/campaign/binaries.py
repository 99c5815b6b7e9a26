"""The binaries one scenario runs on: the command line's version or binaries directory, else the scenario's
``dapr`` section, else the default; and its rolling upgrade's. Checks the environment first (a known version,
redis-server on PATH); errors are raised before any process starts (``toolchain.selection`` finds or builds)."""

from __future__ import annotations

from pathlib import Path

from harness.cluster.local.cluster import find_redis_server
from harness.errors import InputError
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


OVERRIDE_FLAG = "--override-scenario-dapr"


def override_note(sc: Scenario, version: str | None, bin_dir: Path | None) -> str | None:
    """What the command line's Dapr (``--dapr-version`` / ``--dapr-bin-dir`` or their environment variables)
    changes of the scenario's own ``dapr`` section, in words; None when it changes nothing."""
    own = sc.dapr.version or sc.dapr.bin_dir
    asked = version or (str(bin_dir) if bin_dir is not None else None)
    if own is None or asked is None or asked == own:
        return None
    return f"scenario {sc.name} runs on Dapr {own} (its dapr section); the command line asks for {asked}"


def case_binaries(
    sc: Scenario, version: str | None, bin_dir: Path | None, display: SelectionDisplay, *, override: bool = False
) -> tuple[Binaries, Binaries | None]:
    """The binaries one scenario runs on: the command line's version or binaries directory, else the scenario's
    ``dapr`` section, else the default; and its rolling upgrade's, if any.

    No silent override (``InputError``, exit 3, before anything is built or started): the command line may not
    replace a version the scenario names itself unless ``override`` (the caller prints ``override_note``), and a
    rolling upgrade from a version to the same version is refused whatever was asked (it would prove nothing)."""
    note = override_note(sc, version, bin_dir)
    if note is not None and not override:
        raise InputError(f"{note}: remove the override, or pass {OVERRIDE_FLAG} to run it on that Dapr anyway")
    if bin_dir is None and sc.dapr.bin_dir is None:
        start = version or sc.dapr.version or DEFAULT_VERSION
        if start == sc.dapr.upgrade_to:
            raise InputError(f"scenario {sc.name} would upgrade Dapr {start} to {sc.dapr.upgrade_to}: {_NO_OP}")
    bin_dir = bin_dir or (Path(sc.dapr.bin_dir) if sc.dapr.bin_dir else None)
    bins = prepare_binaries(version or sc.dapr.version or DEFAULT_VERSION, bin_dir, display)
    upgrade = prepare_upgrade(sc, display)
    if upgrade is not None and (upgrade.daprd_version, upgrade.scheduler_version) == (
        bins.daprd_version,
        bins.scheduler_version,
    ):
        raise InputError(f"scenario {sc.name} would upgrade Dapr {bins.daprd_version} to itself: {_NO_OP}")
    return bins, upgrade


_NO_OP = "the same version, so the upgrade would prove nothing; run it on the version it starts from"


def prepare_upgrade(sc: Scenario, display: SelectionDisplay) -> Binaries | None:
    """The binaries a rolling upgrade switches to (``dapr.upgrade_to`` / ``upgrade_bin_dir``), built if needed."""
    if not sc.dapr.upgrades:
        return None
    bin_dir = Path(sc.dapr.upgrade_bin_dir) if sc.dapr.upgrade_bin_dir else None
    return prepare_binaries(sc.dapr.upgrade_to or DEFAULT_VERSION, bin_dir, display)
