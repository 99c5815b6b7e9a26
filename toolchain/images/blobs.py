"""Content-addressed blobs on disk, as an OCI image layout keeps them: ``<root>/blobs/sha256/<hex>``.

One store (``<cache>/images/store``) holds every image's layers, configs and manifests, so a layer two images share
(or two builds of one image) is written once. A blob is written to a temporary file and renamed to its digest only
when complete: a blob in the store is always whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


@dataclass(frozen=True, slots=True)
class Descriptor:
    """What an OCI document says of a blob: its media type, digest and size."""

    media_type: str
    digest: str
    size: int

    def as_json(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


def canonical_json(document: object) -> bytes:
    """The one serialisation every document is written with: sorted keys, no spaces, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_file(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
    return f"sha256:{sha.hexdigest()}"


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        if algorithm != "sha256" or len(hexdigest) != 64:
            raise ValueError(f"not a sha256 digest: {digest!r}")
        return self.root / "blobs" / "sha256" / hexdigest

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def put(self, data: bytes, media_type: str) -> Descriptor:
        digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
        if not self.has(digest):
            with self.writer() as (sink, finish):
                sink.write(data)
                finish(digest)
        return Descriptor(media_type, digest, len(data))

    def put_json(self, document: object, media_type: str) -> Descriptor:
        return self.put(canonical_json(document), media_type)

    def read_json(self, digest: str) -> object:
        return json.loads(self.path(digest).read_bytes())

    @contextmanager
    def writer(self) -> Iterator[tuple[BinaryIO, Callable[[str], None]]]:
        """A temporary file to write a blob into and ``finish(digest)`` to call when its digest is known; a blob
        not finished is removed."""
        folder = self.root / "blobs" / "sha256"
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".partial-", dir=folder)
        done: list[str] = []
        try:
            with os.fdopen(fd, "wb") as sink:
                yield sink, done.append
            if not done:
                raise RuntimeError("a blob was written but never given its digest")
            Path(name).replace(self.path(done[0]))
        finally:
            Path(name).unlink(missing_ok=True)
