"""One image layer, written deterministically: a tar of entries in sorted path order, every mtime the same fixed
time, owners as given (0:0 unless said), gzip with no name and mtime 0, so that identical entries give identical
bytes and so identical digests.

A layer is written once into the blob store (``toolchain.images.blobs``) while both digests are computed on the
fly: the compressed one names the blob, the uncompressed one (``diff_id``) goes into the image config. Large
rootfs layers are streamed, never held in memory.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from toolchain.images.blobs import BlobStore, Descriptor

MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
FIXED_MTIME = 0  # 1970-01-01: no clock in a layer
Kind = Literal["dir", "file", "symlink", "hardlink"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One path in a layer. ``path`` is relative (``usr/bin/x``, no leading slash); a file's bytes are ``data`` or
    the file at ``source``; a link's target is ``target`` (a hard link's is a path in the same layer)."""

    path: str
    kind: Kind
    mode: int = 0o755
    uid: int = 0
    gid: int = 0
    data: bytes | None = None
    source: Path | None = None
    target: str = ""

    def tarinfo(self) -> tarfile.TarInfo:
        info = tarfile.TarInfo(self.path if self.kind != "dir" else self.path.rstrip("/") + "/")
        info.mode, info.uid, info.gid, info.mtime = self.mode, self.uid, self.gid, FIXED_MTIME
        info.uname = info.gname = ""
        if self.kind == "dir":
            info.type = tarfile.DIRTYPE
        elif self.kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, self.target
        elif self.kind == "hardlink":
            info.type, info.linkname = tarfile.LNKTYPE, self.target
        else:
            info.type = tarfile.REGTYPE
            info.size = len(self.data) if self.data is not None else self.source.stat().st_size if self.source else 0
        return info

    def open(self) -> BinaryIO | None:
        if self.kind != "file":
            return None
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.source is None:
            return io.BytesIO(b"")
        return self.source.open("rb")


@dataclass(frozen=True, slots=True)
class Layer:
    blob: Descriptor  # the compressed tar, as the manifest names it
    diff_id: str  # sha256 of the uncompressed tar, as the config names it
    entries: int


class _Hashing(io.RawIOBase):
    """A writable stream that hashes and counts what passes through it to ``sink``."""

    def __init__(self, sink: BinaryIO) -> None:
        self.sink, self.sha, self.size = sink, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.sha.update(b)
        self.size += len(b)
        return self.sink.write(b)


def parents(path: str) -> list[str]:
    """Every directory above ``path`` (``a/b/c`` → ``a``, ``a/b``)."""
    parts = path.strip("/").split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def complete(entries: Iterable[Entry]) -> list[Entry]:
    """``entries`` sorted by path with every missing parent directory added (0755, root), each path once; hard
    links last (each after the file it names).

    Raises:
        ValueError: a path given twice, absolute, or with ``..``; a hard link to no file of the layer.
    """
    by_path: dict[str, Entry] = {}
    for entry in entries:
        key = entry.path.strip("/")
        if entry.path.startswith("/") or ".." in key.split("/") or not key:
            raise ValueError(f"a layer path must be relative and inside the image: {entry.path!r}")
        if key in by_path:
            raise ValueError(f"{key!r} is given twice in one layer")
        by_path[key] = entry
    for key in list(by_path):
        for parent in parents(key):
            by_path.setdefault(parent, Entry(parent, "dir"))
    links = sorted(k for k, e in by_path.items() if e.kind == "hardlink")
    for key in links:
        target = by_path.get(by_path[key].target.strip("/"))
        if target is None or target.kind != "file":
            raise ValueError(f"the hard link {key!r} names {by_path[key].target!r}, not a file of the same layer")
    # a hard link must come after the file it names: every link goes after every other entry
    return [by_path[k] for k in sorted(by_path) if k not in set(links)] + [by_path[k] for k in links]


def write_layer(entries: Iterable[Entry], store: BlobStore) -> Layer:
    """Write ``entries`` as one gzip-compressed tar layer into ``store``; the same entries give the same bytes."""
    ordered = complete(entries)
    with store.writer() as (sink, finish):
        compressed = _Hashing(sink)
        with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=6) as gz:
            plain = _Hashing(gz)  # type: ignore[arg-type]
            with tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for entry in ordered:
                    content = entry.open()
                    try:
                        tar.addfile(entry.tarinfo(), content)
                    finally:
                        if content is not None:
                            content.close()
        digest = f"sha256:{compressed.sha.hexdigest()}"
        finish(digest)
    return Layer(Descriptor(MEDIA_TYPE, digest, compressed.size), f"sha256:{plain.sha.hexdigest()}", len(ordered))
