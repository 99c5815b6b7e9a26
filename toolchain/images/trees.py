"""Layer entries from what is on disk: a whole directory tree (a Debian rootfs, a site-packages folder, a source
folder), or named files copied to named places (a static binary, a program with its shared libraries).

A tree keeps each path's mode, owner and kind (directory, file, symlink; a second name of the same inode becomes
a hard link to the first in sorted order). What an image must not carry is left out: device nodes, fifos and
sockets (the runtime makes ``/dev``), the contents of ``proc``, ``sys``, ``dev`` and ``run`` and the package
manager's caches, and Python's ``__pycache__`` unless asked for (``bytecode``: compiled for the image by
``toolchain.images.bytecode``; any other holds timestamps that no longer match files dated 1970).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from toolchain.images.layer import Entry

# kept as empty directories when they are in a tree's root: each is a mount point or a cache
EMPTIED = ("dev", "proc", "sys", "run", "tmp", "var/cache/apt/archives", "var/lib/apt/lists", "var/log")
NEVER = ("__pycache__",)


@dataclass(slots=True)
class TreeEntries:
    """A tree's entries, and what was left out (kind → count), for the build record."""

    entries: list[Entry] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)

    def leave_out(self, why: str) -> None:
        self.left_out[why] = self.left_out.get(why, 0) + 1


def tree_entries(
    root: Path, prefix: str = "", *, uid: int | None = None, gid: int | None = None, bytecode: bool = False
) -> TreeEntries:
    """Every path under ``root`` as entries under ``prefix`` (``opt/app`` puts ``root/x`` at ``opt/app/x``);
    owners as on disk unless ``uid``/``gid`` are given."""
    found = TreeEntries()
    first_of_inode: dict[tuple[int, int], str] = {}
    prefix = prefix.strip("/")

    def place(relative: str) -> str:
        return f"{prefix}/{relative}" if prefix else relative

    for directory, dirs, files in os.walk(root):
        here = Path(directory)
        relative_dir = here.relative_to(root).as_posix()
        dirs[:] = sorted(d for d in dirs if bytecode or d not in NEVER)
        emptied = relative_dir in EMPTIED
        for name in [*dirs, *sorted(files)]:
            path = here / name
            relative = name if relative_dir == "." else f"{relative_dir}/{name}"
            if emptied:
                found.leave_out(f"the contents of {relative_dir}/")
                continue
            info = path.lstat()
            u, g = (info.st_uid if uid is None else uid), (info.st_gid if gid is None else gid)
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISDIR(info.st_mode):
                found.entries.append(Entry(place(relative), "dir", mode, uid=u, gid=g))
            elif stat.S_ISLNK(info.st_mode):
                target = str(path.readlink())
                found.entries.append(Entry(place(relative), "symlink", 0o777, target=target, uid=u, gid=g))
            elif stat.S_ISREG(info.st_mode):
                inode = (info.st_dev, info.st_ino)
                if info.st_nlink > 1 and inode in first_of_inode:
                    found.entries.append(
                        Entry(place(relative), "hardlink", mode, target=first_of_inode[inode], uid=u, gid=g)
                    )
                else:
                    first_of_inode[inode] = place(relative)
                    found.entries.append(Entry(place(relative), "file", mode, source=path, uid=u, gid=g))
            else:
                found.leave_out("a device, fifo or socket")
        if emptied:
            dirs[:] = []
    if prefix:
        found.entries.insert(0, Entry(prefix, "dir"))
    return found


def file_entries(files: Iterable[tuple[Path, str]], *, mode: int = 0o755) -> list[Entry]:
    """Each ``(source, path in the image)`` as a file (a symlink's target's bytes: images from copied files hold
    no links that could dangle)."""
    return [Entry(place.strip("/"), "file", mode, source=source.resolve()) for source, place in files]
