"""An OCI image from its layers, and an OCI image-layout archive that ``ctr images import`` (and umoci, skopeo's
``oci-archive:``) read.

The image: its config (``application/vnd.oci.image.config.v1+json``: platform, entrypoint, command, env, user,
working directory, exposed ports, the layers' diff ids; no creation time, so no clock) and its manifest, both in
the blob store. The archive: a tar of ``oci-layout``, ``index.json`` (one manifest per image, each annotated with
``org.opencontainers.image.ref.name``, the tag, and ``io.containerd.image.name``, the full name containerd records)
and the blobs they reach, entries sorted and dated 1970, so the same images give the same archive bytes.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from toolchain.images.blobs import BlobStore, Descriptor, canonical_json
from toolchain.images.layer import FIXED_MTIME, Layer

CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """How a container of the image starts when its pod says nothing else."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)
    user: str = ""
    workdir: str = "/"
    ports: tuple[str, ...] = ()  # "8000/tcp"
    labels: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        doc: dict[str, object] = {"Env": list(self.env), "WorkingDir": self.workdir}
        if self.entrypoint:
            doc["Entrypoint"] = list(self.entrypoint)
        if self.cmd:
            doc["Cmd"] = list(self.cmd)
        if self.user:
            doc["User"] = self.user
        if self.ports:
            doc["ExposedPorts"] = {port: {} for port in self.ports}
        if self.labels:
            doc["Labels"] = dict(self.labels)
        return doc


@dataclass(frozen=True, slots=True)
class Image:
    """An image in the store: its full name (``registry/path:tag``) and its manifest."""

    name: str
    manifest: Descriptor
    size: int  # config + compressed layers: what the archive holds for it beside the manifest

    @property
    def tag(self) -> str:
        return self.name.rsplit(":", 1)[1]


def split_name(name: str) -> tuple[str, str]:
    """``registry/path:tag`` → (``registry/path``, ``tag``).

    Raises:
        ValueError: no tag, or a tag that is not a valid OCI tag.
    """
    repository, sep, tag = name.rpartition(":")
    if not sep or "/" in tag or not tag or len(tag) > 128 or not repository:
        raise ValueError(f"an image name needs a repository and a tag (registry/path:tag): {name!r}")
    return repository, tag


def write_image(store: BlobStore, name: str, layers: Sequence[Layer], config: ImageConfig) -> Image:
    """The config and manifest of ``layers`` under ``config``, written into ``store``."""
    split_name(name)
    document = {
        "architecture": "amd64",
        "os": "linux",
        "config": config.as_json(),
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created_by": f"onceonly images: layer {i}", "empty_layer": False} for i in range(len(layers))],
    }
    config_blob = store.put_json(document, CONFIG_TYPE)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": config_blob.as_json(),
        "layers": [layer.blob.as_json() for layer in layers],
    }
    manifest_blob = store.put_json(manifest, MANIFEST_TYPE)
    size = config_blob.size + sum(layer.blob.size for layer in layers)
    return Image(name, manifest_blob, size)


def blobs_of(store: BlobStore, image: Image) -> list[str]:
    """Every digest ``image`` reaches: its manifest, its config, its layers."""
    manifest = store.read_json(image.manifest.digest)
    assert isinstance(manifest, dict)
    return [image.manifest.digest, manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])]


def index_document(images: Sequence[Image]) -> dict[str, object]:
    entries = []
    for image in images:
        _, tag = split_name(image.name)
        desc = image.manifest.as_json()
        desc["platform"] = {"architecture": "amd64", "os": "linux"}
        desc["annotations"] = {REF_NAME: tag, CONTAINERD_NAME: image.name}
        entries.append(desc)
    return {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": entries}


def write_archive(store: BlobStore, images: Sequence[Image], path: Path) -> None:
    """An OCI image-layout tar of ``images`` at ``path`` (written beside it, then renamed: never half a file)."""
    digests = sorted({d for image in images for d in blobs_of(store, image)})
    partial = path.with_name(f".{path.name}.partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        _add_dir(tar, "blobs")
        _add_dir(tar, "blobs/sha256")
        for digest in digests:
            info = _info(f"blobs/sha256/{digest.split(':', 1)[1]}", store.path(digest).stat().st_size)
            with store.path(digest).open("rb") as f:
                tar.addfile(info, f)
        index = canonical_json(index_document(images))
        tar.addfile(_info("index.json", len(index)), io.BytesIO(index))
        tar.addfile(_info("oci-layout", len(LAYOUT)), io.BytesIO(LAYOUT))
    partial.replace(path)


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, FIXED_MTIME
    return info


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name + "/")
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, FIXED_MTIME
    tar.addfile(info)
