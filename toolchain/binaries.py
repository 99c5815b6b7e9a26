"""Find the daprd and scheduler binaries a run uses, and say where they came from.

Order of preference for a requested version:

1. ``--dapr-bin-dir DIR``: the user's binaries, used whatever version they print (the version is reported);
2. ``~/.dapr/bin``, as ``dapr init --slim`` leaves it, when both binaries print the requested version;
3. onceonly's own build cache;
4. otherwise nothing is found and the caller builds (``toolchain.build``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from toolchain import probe
from toolchain.build import BUILD_RECORD, BuildError, is_built, version_dir

NAMES = ("daprd", "scheduler")

SOURCE_BIN_DIR = "--dapr-bin-dir"
SOURCE_DAPR_CLI = "~/.dapr/bin (dapr init --slim)"
SOURCE_CACHE = "onceonly build cache"


@dataclass(frozen=True, slots=True)
class Binaries:
    """A daprd and a scheduler, with the versions they print and where they came from."""

    daprd: Path
    scheduler: Path
    daprd_version: str
    scheduler_version: str
    source: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """One place binaries could come from, as ``onceonly dapr which`` shows it."""

    source: str
    directory: Path
    versions: dict[str, str | None]  # binary name -> printed version, None if the file is missing
    used: bool
    note: str


def dapr_cli_dir(home: Path) -> Path:
    return home / ".dapr" / "bin"


def from_dir(directory: Path, source: str) -> Binaries:
    """The binaries in ``directory``; raises BuildError naming any that is missing or does not run."""
    missing = [n for n in NAMES if not (directory / n).is_file()]
    if missing:
        raise BuildError(
            f"{directory} has no {' and no '.join(missing)}: a Dapr binaries directory must hold both "
            "daprd and scheduler (as `dapr init --slim` leaves ~/.dapr/bin, or `onceonly dapr build` does)"
        )
    versions = _versions(directory, source)
    return Binaries(
        daprd=directory / "daprd",
        scheduler=directory / "scheduler",
        daprd_version=versions["daprd"] or "",
        scheduler_version=versions["scheduler"] or "",
        source=source,
    )


def _versions(directory: Path, source: str) -> dict[str, str | None]:
    """The version each binary prints; for onceonly's own build, as recorded when the build verified it."""
    record = directory.parent / BUILD_RECORD
    if source == SOURCE_CACHE and record.is_file():
        printed: dict[str, str] = json.loads(record.read_text())["printed_versions"]
        return {n: printed.get(n) for n in NAMES}
    probes = {"daprd": probe.daprd_version, "scheduler": probe.scheduler_version}
    return {n: probes[n](directory / n) if (directory / n).is_file() else None for n in NAMES}


def candidates(version: str, cache_root: Path, home: Path, bin_dir: Path | None = None) -> list[Candidate]:
    """Every place binaries for ``version`` could come from, in order of preference, the chosen one marked."""
    places: list[tuple[str, Path]] = []
    if bin_dir is not None:
        places.append((SOURCE_BIN_DIR, bin_dir))
    places += [(SOURCE_DAPR_CLI, dapr_cli_dir(home)), (SOURCE_CACHE, version_dir(cache_root, version) / "bin")]
    result: list[Candidate] = []
    chosen = False
    for source, directory in places:
        if source == SOURCE_CACHE and not is_built(cache_root, version):
            versions: dict[str, str | None] = dict.fromkeys(NAMES)
        else:
            versions = _versions(directory, source)
        usable, note = _judge(source, versions, version)
        used = usable and not chosen
        chosen = chosen or used
        result.append(Candidate(source, directory, versions, used, note))
    return result


def locate(version: str, cache_root: Path, home: Path, bin_dir: Path | None = None) -> Binaries | None:
    """The binaries to use for ``version``, or None when they must be built first."""
    if bin_dir is not None:
        return from_dir(bin_dir, SOURCE_BIN_DIR)
    for cand in candidates(version, cache_root, home):
        if cand.used:
            return from_dir(cand.directory, cand.source)
    return None


def _judge(source: str, versions: dict[str, str | None], wanted: str) -> tuple[bool, str]:
    missing = [n for n, v in versions.items() if v is None]
    if missing:
        return False, "not built" if source == SOURCE_CACHE else f"no {' / '.join(missing)} here"
    if source == SOURCE_BIN_DIR:
        return True, "given on the command line; used whatever version it prints"
    if any(v != wanted for v in versions.values()):
        return False, f"prints a different version than {wanted}"
    return True, "version matches"


def build_record(bins: Binaries) -> dict[str, str]:
    """The commit and the Go version a build of ours used (its ``build.json``: ``<cache>/<version>/bin/daprd``'s
    ``../build.json``); empty for binaries we did not build (a ``--dapr-bin-dir``, ``~/.dapr/bin``)."""
    path = bins.daprd.parent.parent / BUILD_RECORD
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: str(record[k]) for k in ("commit", "go") if isinstance(record, dict) and k in record}
