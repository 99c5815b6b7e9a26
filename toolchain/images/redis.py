"""The ledger's Redis image: Debian's own ``redis-server`` (bookworm: 7.0) and exactly the shared libraries it
loads, taken from an mmdebstrap'd Debian rootfs; nothing else (no shell, no package manager).

Why not the whole rootfs: Redis needs its binary, its loader and 16 libraries (17 MB on disk, a 7 MB archive;
measured); the essential rootfs with Redis is about 120 MB, the rest of it unused. Why not the host's binary: the
image would depend on what this machine has installed; the rootfs comes from Debian's mirror, and the record names
every package's version. The libraries are the ones ``ldd`` lists when run inside the rootfs (``chroot``), each
copied to the path the loader looks for it at (no symlinks to dangle).

k8s/base/redis.yaml runs it with ``args: [redis-server, /etc/redis/redis.conf]`` (config from a Secret at
``/etc/redis``, data on a volume at ``/data``) as uid 999: ``redis-server`` is found on ``PATH``, ``/data`` and
``/etc/redis`` exist, owned by 999.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from toolchain.gocmd import BuildError, last_lines
from toolchain.images import debian
from toolchain.images.blobs import BlobStore
from toolchain.images.cache import Built, ImageCache, Made
from toolchain.images.layer import Entry, write_layer
from toolchain.images.oci import ImageConfig
from toolchain.images.trees import file_entries

NAME = f"onceonly.local/redis:{debian.SUITE}"
PACKAGES = ("redis-server",)
PROGRAM = "/usr/bin/redis-server"
UID = 999  # k8s/base/redis.yaml's runAsUser / runAsGroup
RECIPE = "redis/1"
LIST_LIBRARIES = 'for f in $(ldd "$1" | grep -o "/[^ ]*"); do echo "$f $(readlink -f "$f")"; done'


def inputs() -> dict[str, object]:
    return {"recipe": RECIPE, "rootfs": debian.recipe(PACKAGES), "program": PROGRAM, "uid": UID}


def libraries(root: Path, program: str) -> list[tuple[str, str]]:
    """(the path the loader opens, the file it is in the rootfs) for each library ``program`` loads and for the
    loader itself, from ``ldd`` run in the rootfs.

    Raises:
        BuildError: ldd failed (the program is missing, or not a dynamic executable).
    """
    done = subprocess.run(
        ["chroot", str(root), "/bin/sh", "-c", LIST_LIBRARIES, "sh", program],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"},
        check=False,
    )
    pairs = [tuple(line.split()) for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not pairs or any(len(p) != 2 for p in pairs):
        raise BuildError(f"ldd {program} in {root} did not list its libraries: {last_lines(done.stdout + done.stderr)}")
    return [(p[0], p[1]) for p in pairs]


def make(cache: ImageCache, store: BlobStore) -> Made:
    """Build the rootfs, copy Redis and its libraries out of it into one layer, remove the rootfs."""
    target = cache.work() / "redis-rootfs"
    debian.remove(target)
    rootfs = debian.build_rootfs(PACKAGES, target)
    try:
        libs = libraries(target, PROGRAM)
        files = [(target / PROGRAM.lstrip("/"), PROGRAM)]
        files += [(target / real.lstrip("/"), opened) for opened, real in libs]
        entries = [*file_entries(files)]
        entries += [Entry(d, "dir", 0o755, uid=UID, gid=UID) for d in ("data", "etc/redis")]
        entries.append(Entry("tmp", "dir", 0o1777))
        layer = write_layer(entries, store)
    finally:
        debian.remove(target)
    config = ImageConfig(cmd=("redis-server",), user=f"{UID}:{UID}", workdir="/data", ports=("6379/tcp",))
    version = rootfs.packages.get("redis-server", "?")
    facts: dict[str, object] = {
        "redis_server": version,
        "libraries": [opened for opened, _ in libs],
        "debian_packages": rootfs.packages,
        "rootfs_seconds": round(rootfs.seconds, 1),
    }
    return [layer], config, facts


def build(cache: ImageCache) -> Built:
    return cache.get(NAME, inputs(), lambda store: make(cache, store))
