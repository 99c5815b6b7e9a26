"""Images cached by content key: an image is built again only when what it is made of changes.

Layout (``<root>`` is ``<cache>/images``, beside ``<cache>/dapr`` and ``<cache>/kube``)::

    <root>/store/blobs/sha256/<hex>        every layer, config and manifest (shared: a layer is stored once)
    <root>/archives/<name>_<tag>.tar       each image's OCI archive, for `ctr images import`
    <root>/records/<name>_<tag>.json       what it was built from (its inputs and their key), when, in how long
    <root>/work/                           a build's scratch space (a Debian rootfs while it is made)

The key is the sha256 of the recipe's inputs as canonical JSON: binaries and files by digest, package lists,
the Debian suite and mirrors, the recipe's own version. A record whose key matches and whose blobs and archive
are all there is the image; anything else is built again (and the record written last).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from toolchain.gocmd import locked
from toolchain.images.blobs import BlobStore, Descriptor, canonical_json
from toolchain.images.layer import MEDIA_TYPE, Layer
from toolchain.images.oci import MANIFEST_TYPE, Image, ImageConfig, blobs_of, write_archive, write_image

# what a recipe's make returns: its layers, its config, and facts for the record (e.g. Debian package versions)
Made = tuple[list[Layer], ImageConfig, dict[str, object]]


@dataclass(frozen=True, slots=True)
class CachedLayer:
    layer: Layer
    facts: dict[str, object]
    seconds: float
    built_now: bool


@dataclass(frozen=True, slots=True)
class Built:
    image: Image
    archive: Path
    key: str
    seconds: float  # how long the build took (when it was built, even if that was earlier)
    built_now: bool
    facts: dict[str, object]

    @property
    def archive_size(self) -> int:
        return self.archive.stat().st_size


def content_key(inputs: dict[str, object]) -> str:
    return hashlib.sha256(canonical_json(inputs)).hexdigest()


def file_name(image_name: str) -> str:
    """``onceonly.local/dapr/daprd:1.18.2`` → ``onceonly.local_dapr_daprd_1.18.2``."""
    return image_name.replace("/", "_").replace(":", "_")


class ImageCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = BlobStore(root / "store")

    def archive(self, name: str) -> Path:
        return self.root / "archives" / f"{file_name(name)}.tar"

    def record_path(self, name: str) -> Path:
        return self.root / "records" / f"{file_name(name)}.json"

    def work(self) -> Path:
        path = self.root / "work"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def cached(self, name: str, key: str) -> Built | None:
        """The image as built before when its record has ``key`` and everything it names is still there."""
        path = self.record_path(name)
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("key") != key or not self.archive(name).is_file():
            return None
        manifest = Descriptor(MANIFEST_TYPE, str(record["manifest"]), int(record["manifest_size"]))
        image = Image(name, manifest, int(record["size"]))
        if not self.store.has(manifest.digest) or not all(self.store.has(d) for d in blobs_of(self.store, image)):
            return None
        facts = record.get("facts")
        return Built(
            image, self.archive(name), key, float(record["seconds"]), False, facts if isinstance(facts, dict) else {}
        )

    def layer(
        self, label: str, inputs: dict[str, object], make: Callable[[BlobStore], tuple[Layer, dict[str, object]]]
    ) -> CachedLayer:
        """One layer that several image builds share (a Debian rootfs), cached by its own key: an image whose
        other inputs change reuses it."""
        key = content_key(inputs)
        path = self.root / "records" / "layers" / f"{label}-{key[:32]}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        with locked(path.with_suffix(".lock")):
            if path.is_file() and (hit := _layer_record(json.loads(path.read_bytes()), self.store)) is not None:
                return hit
            started = time.monotonic()
            layer, facts = make(self.store)
            seconds = time.monotonic() - started
            record = {
                "label": label,
                "key": key,
                "inputs": inputs,
                "digest": layer.blob.digest,
                "size": layer.blob.size,
                "diff_id": layer.diff_id,
                "seconds": round(seconds, 1),
                "facts": facts,
            }
            _write_last(path, record)
            return CachedLayer(layer, facts, seconds, True)

    def get(self, name: str, inputs: dict[str, object], make: Callable[[BlobStore], Made]) -> Built:
        """The image ``name`` made from ``inputs``: from the cache, or made now by ``make`` (its layers written
        into the store), its archive written, its record last."""
        key = content_key(inputs)
        if (hit := self.cached(name, key)) is not None:
            return hit
        (self.root / "records").mkdir(parents=True, exist_ok=True)
        with locked(self.root / "records" / f"{file_name(name)}.lock"):
            if (hit := self.cached(name, key)) is not None:
                return hit
            started = time.monotonic()
            layers, config, facts = make(self.store)
            image = write_image(self.store, name, layers, config)
            write_archive(self.store, [image], self.archive(name))
            seconds = time.monotonic() - started
            record = {
                "name": name,
                "key": key,
                "inputs": inputs,
                "manifest": image.manifest.digest,
                "manifest_size": image.manifest.size,
                "size": image.size,
                "seconds": round(seconds, 1),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "facts": facts,
            }
            _write_last(self.record_path(name), record)
            return Built(image, self.archive(name), key, seconds, True, facts)


def _write_last(path: Path, record: dict[str, object]) -> None:
    """A record written whole or not at all (a partial file renamed into place)."""
    partial = path.with_suffix(".partial")
    partial.write_bytes(canonical_json(record))
    partial.replace(path)


def _layer_record(record: object, store: BlobStore) -> CachedLayer | None:
    if not isinstance(record, dict) or not store.has(str(record.get("digest"))):
        return None
    layer = Layer(Descriptor(MEDIA_TYPE, str(record["digest"]), int(record["size"])), str(record["diff_id"]), 0)
    facts = record.get("facts")
    return CachedLayer(layer, facts if isinstance(facts, dict) else {}, float(record["seconds"]), False)


def copy_out(built: Built, out: Path) -> Path:
    """The archive copied into ``out`` (a hard link when on the same file system)."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / built.archive.name
    target.unlink(missing_ok=True)
    try:
        target.hardlink_to(built.archive)
    except OSError:
        shutil.copyfile(built.archive, target)
    return target
