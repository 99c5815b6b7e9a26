"""toolchain.probe and toolchain.binaries with FAKE daprd / scheduler shell scripts: no real Dapr is run."""

from __future__ import annotations

import json
import os
import shlex
import stat
import time
from pathlib import Path

import pytest

from toolchain import binaries, probe
from toolchain.binaries import SOURCE_BIN_DIR, SOURCE_CACHE, SOURCE_DAPR_CLI, candidates, from_dir, locate
from toolchain.build import BUILD_RECORD, BuildError

WANTED = "1.18.2"


def _executable(path: Path, script: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def fake_daprd(directory: Path, version: str) -> Path:
    """A FAKE daprd: prints ``version`` on --version, fails otherwise."""
    return _executable(
        directory / "daprd",
        f'#!/bin/sh\n# FAKE daprd\nif [ "$1" = "--version" ]; then echo {shlex.quote(version)}; exit 0; fi\nexit 2\n',
    )


def fake_scheduler(directory: Path, version: str, pid_file: Path | None = None) -> Path:
    """A FAKE scheduler: logs its start-up banner like the real one, then stays up (as `sleep 30`)."""
    banner = (
        f'time="2026-11-29T00:00:00.000000000Z" level=info msg="Starting Dapr Scheduler Service -- '
        f'version {version} -- commit abc" instance=probe scope=dapr.scheduler type=log ver={version}'
    )
    record_pid = f"echo $$ > {shlex.quote(str(pid_file))}\n" if pid_file else ""
    return _executable(
        directory / "scheduler",
        f"#!/bin/sh\n# FAKE scheduler\n{record_pid}echo {shlex.quote(banner)}\nexec sleep 30\n",
    )


def fake_pair(directory: Path, daprd_version: str, scheduler_version: str | None = None) -> Path:
    fake_daprd(directory, daprd_version)
    fake_scheduler(directory, scheduler_version or daprd_version)
    return directory


def loud_failing_pair(directory: Path) -> Path:
    """Binaries that fail if run at all: proves a version was read from build.json, not probed."""
    for name in binaries.NAMES:
        _executable(directory / name, f"#!/bin/sh\necho 'FAKE {name} must not be run' >&2\nexit 99\n")
    return directory


def write_cache_build(cache_root: Path, version: str, printed: str | None = None) -> Path:
    bin_dir = loud_failing_pair(cache_root / version / "bin")
    record = {"version": version, "printed_versions": {"daprd": printed or version, "scheduler": printed or version}}
    (cache_root / version / BUILD_RECORD).write_text(json.dumps(record) + "\n")
    return bin_dir


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def cache_root(tmp_path: Path) -> Path:
    return tmp_path / "cache"


# --- probe ---------------------------------------------------------------------------------------------------


def test_daprd_version(tmp_path: Path) -> None:
    assert probe.daprd_version(fake_daprd(tmp_path, "1.18.2")) == "1.18.2"


def test_daprd_version_failing(tmp_path: Path) -> None:
    broken = _executable(tmp_path / "daprd", "#!/bin/sh\necho 'boom' >&2\nexit 3\n")
    with pytest.raises(probe.ProbeError, match="exit 3"):
        probe.daprd_version(broken)


def test_daprd_version_missing_file(tmp_path: Path) -> None:
    with pytest.raises(probe.ProbeError, match="cannot be run"):
        probe.daprd_version(tmp_path / "nope")


def test_scheduler_version_reads_the_banner_and_kills_the_scheduler(tmp_path: Path) -> None:
    pid_file = tmp_path / "scheduler.pid"
    scheduler = fake_scheduler(tmp_path / "bin", "1.18.2", pid_file)

    started = time.monotonic()
    assert probe.scheduler_version(scheduler) == "1.18.2"
    assert time.monotonic() - started < 10

    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # killed and reaped by the probe
        os.kill(pid, 0)


def test_scheduler_version_exiting_without_banner(tmp_path: Path) -> None:
    silent = _executable(tmp_path / "scheduler", "#!/bin/sh\necho 'unknown flag: --id'\nexit 1\n")
    started = time.monotonic()
    with pytest.raises(probe.ProbeError, match="unknown flag"):
        probe.scheduler_version(silent)
    assert time.monotonic() - started < 10


def test_scheduler_version_times_out_without_banner(tmp_path: Path) -> None:
    mute = _executable(tmp_path / "scheduler", "#!/bin/sh\nexec sleep 30\n")
    started = time.monotonic()
    with pytest.raises(probe.ProbeError, match="did not log its version"):
        probe.scheduler_version(mute, timeout=0.3)
    assert time.monotonic() - started < 10


# --- candidates / locate -------------------------------------------------------------------------------------


def test_bin_dir_is_used_whatever_its_version(tmp_path: Path, home: Path, cache_root: Path) -> None:
    bin_dir = fake_pair(tmp_path / "mine", "1.16.0")
    fake_pair(binaries.dapr_cli_dir(home), WANTED)  # would match, but --dapr-bin-dir comes first

    rows = candidates(WANTED, cache_root, home, bin_dir)

    assert [r.source for r in rows] == [SOURCE_BIN_DIR, SOURCE_DAPR_CLI, SOURCE_CACHE]
    assert [r.used for r in rows] == [True, False, False]
    assert rows[0].directory == bin_dir
    assert rows[0].versions == {"daprd": "1.16.0", "scheduler": "1.16.0"}
    assert rows[2].note == "not built"


def test_locate_with_bin_dir_uses_it(tmp_path: Path, home: Path, cache_root: Path) -> None:
    bin_dir = fake_pair(tmp_path / "mine", "1.17.0", "1.17.1")
    found = locate(WANTED, cache_root, home, bin_dir)
    assert found is not None
    assert found.source == SOURCE_BIN_DIR
    assert (found.daprd, found.scheduler) == (bin_dir / "daprd", bin_dir / "scheduler")
    assert (found.daprd_version, found.scheduler_version) == ("1.17.0", "1.17.1")


def test_dapr_cli_dir_used_when_both_print_the_version(home: Path, cache_root: Path) -> None:
    fake_pair(binaries.dapr_cli_dir(home), WANTED)
    rows = candidates(WANTED, cache_root, home)
    assert [r.source for r in rows] == [SOURCE_DAPR_CLI, SOURCE_CACHE]
    assert [r.used for r in rows] == [True, False]
    assert rows[0].note == "version matches"

    found = locate(WANTED, cache_root, home)
    assert found is not None
    assert found.source == SOURCE_DAPR_CLI
    assert found.daprd == home / ".dapr" / "bin" / "daprd"
    assert (found.daprd_version, found.scheduler_version) == (WANTED, WANTED)


@pytest.mark.parametrize(("daprd", "scheduler"), [("1.18.1", WANTED), (WANTED, "1.17.0"), ("1.16.0", "1.16.0")])
def test_dapr_cli_dir_not_used_when_a_version_differs(home: Path, cache_root: Path, daprd: str, scheduler: str) -> None:
    fake_pair(binaries.dapr_cli_dir(home), daprd, scheduler)
    rows = candidates(WANTED, cache_root, home)
    assert not rows[0].used
    assert rows[0].note == f"prints a different version than {WANTED}"
    assert locate(WANTED, cache_root, home) is None


def test_dapr_cli_dir_without_scheduler_is_not_used(home: Path, cache_root: Path) -> None:
    fake_daprd(binaries.dapr_cli_dir(home), WANTED)
    rows = candidates(WANTED, cache_root, home)
    assert not rows[0].used
    assert rows[0].versions == {"daprd": WANTED, "scheduler": None}
    assert rows[0].note == "no scheduler here"
    assert locate(WANTED, cache_root, home) is None


def test_cache_used_when_build_record_exists(home: Path, cache_root: Path) -> None:
    bin_dir = write_cache_build(cache_root, WANTED)
    fake_pair(binaries.dapr_cli_dir(home), "1.17.0")  # present but the wrong version

    rows = candidates(WANTED, cache_root, home)
    assert [r.used for r in rows] == [False, True]
    assert rows[1].source == SOURCE_CACHE
    assert rows[1].directory == bin_dir
    assert rows[1].versions == {"daprd": WANTED, "scheduler": WANTED}  # read from build.json, not probed

    found = locate(WANTED, cache_root, home)
    assert found is not None
    assert found.source == SOURCE_CACHE
    assert found.daprd == bin_dir / "daprd"
    assert (found.daprd_version, found.scheduler_version) == (WANTED, WANTED)


def test_dapr_cli_dir_preferred_over_cache(home: Path, cache_root: Path) -> None:
    write_cache_build(cache_root, WANTED)
    fake_pair(binaries.dapr_cli_dir(home), WANTED)
    assert [r.used for r in candidates(WANTED, cache_root, home)] == [True, False]


def test_cache_of_another_version_is_not_used(home: Path, cache_root: Path) -> None:
    write_cache_build(cache_root, "1.18.3")
    rows = candidates(WANTED, cache_root, home)
    assert not any(r.used for r in rows)
    assert locate(WANTED, cache_root, home) is None


def test_locate_returns_none_when_nothing_usable(home: Path, cache_root: Path) -> None:
    rows = candidates(WANTED, cache_root, home)
    assert not any(r.used for r in rows)
    assert rows[0].versions == {"daprd": None, "scheduler": None}
    assert locate(WANTED, cache_root, home) is None


# --- from_dir ------------------------------------------------------------------------------------------------


def test_from_dir_without_scheduler_names_it(tmp_path: Path) -> None:
    fake_daprd(tmp_path / "bins", WANTED)
    with pytest.raises(BuildError, match="has no scheduler") as info:
        from_dir(tmp_path / "bins", SOURCE_BIN_DIR)
    assert "has no daprd" not in str(info.value)
    assert str(tmp_path / "bins") in str(info.value)


def test_from_dir_without_either_names_both(tmp_path: Path) -> None:
    (tmp_path / "bins").mkdir()
    with pytest.raises(BuildError, match="has no daprd and no scheduler"):
        from_dir(tmp_path / "bins", SOURCE_BIN_DIR)


def test_from_dir_probes_outside_the_cache(tmp_path: Path) -> None:
    directory = fake_pair(tmp_path / "bins", "1.16.5")
    found = from_dir(directory, SOURCE_DAPR_CLI)
    assert (found.daprd_version, found.scheduler_version, found.source) == ("1.16.5", "1.16.5", SOURCE_DAPR_CLI)
