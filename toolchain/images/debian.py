"""A minimal Debian rootfs made by ``mmdebstrap`` from Debian's mirror: the ``essential`` variant (the packages
marked Essential, no apt) plus the packages asked for and their dependencies, documentation, man pages and
translations left out, every file dated ``SOURCE_DATE_EPOCH=0``.

Reproducible to the extent Debian's mirror is: the same suite and packages give the same rootfs while the mirror
serves the same versions; each build records every package's version (``dpkg-query`` on the rootfs), so a
changed image can be told from its record. mmdebstrap runs as root here (its ``root`` mode), mounting ``/proc``
and ``/sys`` in the rootfs while it installs and unmounting them before it exits.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from toolchain.gocmd import BuildError, last_lines

SUITE = "bookworm"  # Debian 12, this machine's own: Python 3.11 and Redis 7.0 come from it
MIRRORS = (
    f"deb http://deb.debian.org/debian {SUITE} main",
    f"deb http://deb.debian.org/debian-security {SUITE}-security main",
)
EXCLUDED = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*", "/usr/share/info/*")
INSTALL_HINT = "apt-get install mmdebstrap (Debian 12 has 1.3.5)"


@dataclass(frozen=True, slots=True)
class Rootfs:
    path: Path
    packages: dict[str, str]  # every installed package → its version
    seconds: float


def recipe(packages: tuple[str, ...]) -> dict[str, object]:
    """What a rootfs of ``packages`` is made from, for a content key: the suite, mirrors, variant, exclusions."""
    return {
        "suite": SUITE,
        "mirrors": list(MIRRORS),
        "variant": "essential",
        "include": sorted(packages),
        "exclude": list(EXCLUDED),
    }


def command(packages: tuple[str, ...], target: Path, mmdebstrap: str = "mmdebstrap") -> list[str]:
    args = [mmdebstrap, "--quiet", "--mode=root", "--variant=essential", f"--include={','.join(sorted(packages))}"]
    args += [f"--dpkgopt=path-exclude={pattern}" for pattern in EXCLUDED]
    return [*args, SUITE, str(target), *MIRRORS]


def build_rootfs(packages: tuple[str, ...], target: Path, *, timeout: float = 900.0) -> Rootfs:
    """A rootfs of ``packages`` in ``target`` (which must not exist).

    Raises:
        BuildError: mmdebstrap missing, not root, the mirror unreachable or a package unknown; the message says
            which, with mmdebstrap's last lines.
    """
    found = shutil.which("mmdebstrap")
    if found is None:
        raise BuildError(f"mmdebstrap is not installed: {INSTALL_HINT}")
    if os.geteuid() != 0:
        raise BuildError("mmdebstrap's root mode needs root: run `onceonly k8s images` as root")
    started = time.monotonic()
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "LC_ALL": "C.UTF-8"}
    try:
        done = subprocess.run(
            command(packages, target, found), env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"mmdebstrap did not finish in {timeout:.0f} s (is Debian's mirror slow?)") from exc
    if done.returncode != 0:
        said = last_lines(done.stdout + done.stderr, 8)
        raise BuildError(f"mmdebstrap of {', '.join(packages)} failed (exit {done.returncode}):\n{said}")
    return Rootfs(target, installed(target), time.monotonic() - started)


def installed(root: Path) -> dict[str, str]:
    """Every package installed in ``root``, with its version, read from its own dpkg database."""
    done = subprocess.run(
        ["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f", "${Package} ${Version}\\n"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BuildError(f"dpkg-query could not read {root}'s packages: {last_lines(done.stderr)}")
    pairs = (line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    return dict(sorted((name, version) for name, version in pairs))


def remove(root: Path) -> None:
    """Remove a rootfs; refuses one with anything still mounted under it (mmdebstrap unmounts; a kill might not)."""
    resolved = str(root.resolve())
    with Path("/proc/self/mounts").open() as mounts:
        held = [line.split()[1] for line in mounts if line.split()[1].startswith(resolved + "/")]
    if held:
        raise BuildError(f"{root} still has mounts ({', '.join(held)}): unmount them (umount -R), then remove it")
    shutil.rmtree(root, ignore_errors=True)
