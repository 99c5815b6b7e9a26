"""Whether a binary can run in an empty (scratch) image: an ELF executable with no program interpreter
(``PT_INTERP``), so no dynamic loader and no shared library is needed. Read from the ELF header and program
headers directly (64-bit little-endian, as Go builds for linux/amd64), no ``file`` or ``readelf``."""

from __future__ import annotations

import struct
from pathlib import Path

PT_INTERP = 3


class NotStatic(ValueError):
    """The file is not an ELF executable, or it names a program interpreter (it is dynamically linked)."""


def interpreter(path: Path) -> str | None:
    """The program interpreter ``path`` names (``/lib64/ld-linux-x86-64.so.2``), or None for a static binary.

    Raises:
        NotStatic: not a 64-bit little-endian ELF file.
    """
    with path.open("rb") as f:
        header = f.read(64)
        if len(header) < 64 or header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1:
            raise NotStatic(f"{path} is not a 64-bit little-endian ELF executable")
        (phoff,) = struct.unpack_from("<Q", header, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", header, 0x36)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack("<IIQQQQ", f.read(40))
            if p_type == PT_INTERP:
                f.seek(p_offset)
                return f.read(p_filesz).rstrip(b"\0").decode(errors="replace")
    return None


def require_static(path: Path) -> None:
    """Raises ``NotStatic`` unless ``path`` runs without a loader (the Dapr binaries are ``CGO_ENABLED=0``)."""
    named = interpreter(path)
    if named is not None:
        raise NotStatic(
            f"{path} is dynamically linked (interpreter {named}): a scratch image cannot run it; "
            "build it with CGO_ENABLED=0 (toolchain/gocmd.py sets it for Dapr's binaries)"
        )
