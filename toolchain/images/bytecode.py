"""Python bytecode compiled when the recorder's image is built, so that a container start does not compile the
standard library, the wheels and the app again each time (it cannot write ``__pycache__``: the image is read-only
to its user). Measured in the image on this machine (loaded: load average 9 on 2 cores), importing the app,
the hop and uvicorn took 3.4-4.2 s without bytecode and 0.9-1.5 s with it.

Every ``.pyc`` is ``unchecked-hash`` (PEP 552): Python loads it without comparing it with its source's time or
hash, which is right in an image whose sources never change and whose files are all dated 1970. Compiled with
``PYTHONHASHSEED=0`` and each file's in-image path (``-d``), so the same sources give the same bytes. The
standard library is compiled by the rootfs's own Python (in a chroot); the wheels and the app by this machine's
Python only when its bytecode is Debian 12's (CPython 3.11: same magic number and cache tag), else left out (the
image still works, and starts slower).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from toolchain.gocmd import BuildError, last_lines

DEBIAN_MAGIC = b"\xa7\r\r\n"  # CPython 3.11's, Debian 12's python3
DEBIAN_TAG = "cpython-311"
COMPILE = ["-m", "compileall", "-q", "-f", "-j", "0", "--invalidation-mode", "unchecked-hash"]
ENV = {"PYTHONHASHSEED": "0", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8"}


def host_tag() -> str | None:
    """This Python's cache tag when its bytecode is what Debian 12's Python loads, else None."""
    if importlib.util.MAGIC_NUMBER == DEBIAN_MAGIC and sys.implementation.cache_tag == DEBIAN_TAG:
        return DEBIAN_TAG
    return None


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, env=ENV, check=False)
    if done.returncode != 0:
        raise BuildError(f"compiling {what} to bytecode failed: {last_lines(done.stdout + done.stderr)}")


def compile_tree(folder: Path, image_path: str) -> bool:
    """Compile every ``.py`` under ``folder`` (which the image holds at ``image_path``) with this Python; False
    (nothing compiled) when this Python's bytecode is not Debian 12's."""
    if host_tag() is None:
        return False
    _run([sys.executable, *COMPILE, "-d", image_path, str(folder)], f"{folder} ({image_path})")
    return True


def compile_in_rootfs(root: Path, folders: tuple[str, ...]) -> list[str]:
    """Compile ``folders`` (paths inside the rootfs) with the rootfs's own ``python3``, in a chroot (root only);
    the folders that exist there, compiled."""
    present = [f for f in folders if (root / f.lstrip("/")).is_dir()]
    if present:
        if os.geteuid() != 0:
            raise BuildError("compiling the rootfs's Python needs a chroot: run `onceonly k8s images` as root")
        _run(["chroot", str(root), "/usr/bin/python3", *COMPILE, *present], f"{', '.join(present)} in {root}")
    return present
