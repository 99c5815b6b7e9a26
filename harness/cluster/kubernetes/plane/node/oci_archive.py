"""A one-layer OCI image archive (an OCI image layout in a tar), enough for ``ctr images import``: the node's pause
and busybox images. Small on purpose: issue 16's general image writer (the images work) is meant to replace it.

The layout: ``oci-layout``, ``index.json`` naming the one manifest with ``io.containerd.image.name`` (the full
reference ctr gives the image) and ``org.opencontainers.image.ref.name`` (its tag), and three blobs under
``blobs/sha256/``: the uncompressed layer tar (so its digest is also its diff_id), the config, the manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

LAYER = "application/vnd.oci.image.layer.v1.tar"
CONFIG = "application/vnd.oci.image.config.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EPOCH = 0  # every mtime, so the same files give the same digests


@dataclass(frozen=True, slots=True)
class Entry:
    """One file of the layer: ``data`` with ``mode``, or a symbolic link to ``link``."""

    path: str  # inside the image, without a leading "/"
    data: bytes = b""
    mode: int = 0o755
    link: str | None = None


def layer_tar(entries: list[Entry]) -> bytes:
    """The layer: each entry's parent directories first, then the entry; owned by root, mtime 0."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        made: set[str] = set()
        for entry in entries:
            parts = entry.path.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                directory = "/".join(parts[:depth])
                if directory not in made:
                    made.add(directory)
                    tar.addfile(_info(directory, tarfile.DIRTYPE, 0o755))
            if entry.link is not None:
                info = _info(entry.path, tarfile.SYMTYPE, 0o777)
                info.linkname = entry.link
                tar.addfile(info)
            else:
                info = _info(entry.path, tarfile.REGTYPE, entry.mode)
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
    return buffer.getvalue()


def _info(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime, info.uid, info.gid = kind, mode, EPOCH, 0, 0
    return info


def write(archive: Path, reference: str, layer: bytes, entrypoint: list[str]) -> str:
    """``archive`` written: image ``reference`` ("onceonly.local/pause:1.37.2") of one ``layer``; its manifest's
    digest returned."""
    tag = reference.rsplit(":", 1)[1]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": entrypoint, "Env": ["PATH=/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [_digest(layer)]},
    }
    config_blob = _json(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": _descriptor(CONFIG, config_blob),
        "layers": [_descriptor(LAYER, layer)],
    }
    manifest_blob = _json(manifest)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                **_descriptor(MANIFEST, manifest_blob),
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"io.containerd.image.name": reference, "org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    files = {
        "oci-layout": _json({"imageLayoutVersion": "1.0.0"}),
        "index.json": _json(index),
        **{
            f"blobs/sha256/{_digest(blob).removeprefix('sha256:')}": blob
            for blob in (layer, config_blob, manifest_blob)
        },
    }
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_info("blobs", tarfile.DIRTYPE, 0o755))
        tar.addfile(_info("blobs/sha256", tarfile.DIRTYPE, 0o755))
        for name, data in files.items():
            info = _info(name, tarfile.REGTYPE, 0o644)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return _digest(manifest_blob)


def _json(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def _digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def _descriptor(media_type: str, blob: bytes) -> dict[str, object]:
    return {"mediaType": media_type, "digest": _digest(blob), "size": len(blob)}
