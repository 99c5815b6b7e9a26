"""Dapr's images for one version, one per binary, as Dapr's Helm chart names them.

The chart (``charts/dapr`` in the dapr module, 1.16 and 1.18 alike) takes each image as
``{global.registry}/{image.name}:{global.tag}``: ``operator``, ``placement``, ``scheduler``, ``sentry``, the
injector's ``injector`` and the sidecar ``daprd`` (the injector's ``SIDECAR_IMAGE``), and starts each as
``/<name>``. So the images here are ``onceonly.local/dapr/<name>:<version>``, installed with
``global.registry=onceonly.local/dapr`` and ``global.tag=<version>``.

Each image is one layer on nothing (scratch): the static binary at ``/<name>``, an empty ``/tmp`` (1777) and
``/etc/passwd`` + ``/etc/group`` naming 65532 ``nonroot`` with group 65532, as Dapr's own (distroless) images do: a
pod that sets ``runAsUser: 65532`` and no ``runAsGroup`` (Dapr 1.16.0's chart) gets its group from the image's
passwd, else 0, and Dapr 1.16.0 refuses to start as 65532:0 ("does not match the required UID/GID").
No CA certificates: Dapr's services and sidecars trust only the trust bundle sentry issues, mounted by the chart
and the injector. User 65532:65532 (non-root, as the chart's ``runAsNonRoot`` requires of an image that names a
user; the injector's Deployment sets its own 1000). A binary that is not static is refused (``elf``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from toolchain.images.blobs import BlobStore, sha256_file
from toolchain.images.cache import Built, ImageCache, Made
from toolchain.images.elf import require_static
from toolchain.images.layer import Entry, write_layer
from toolchain.images.oci import ImageConfig

REGISTRY = "onceonly.local/dapr"
NAMES = ("daprd", "scheduler", "sentry", "injector", "operator", "placement")
USER = "65532:65532"
PASSWD = b"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
GROUP = b"root:x:0:\nnonroot:x:65532:\n"
RECIPE = "dapr-binary/2"  # bumped when what an image holds changes, so every cached one is built again


@dataclass(frozen=True, slots=True)
class DaprImage:
    name: str  # the chart's image name: daprd, scheduler, ...
    binary: Path
    version: str

    @property
    def reference(self) -> str:
        return f"{REGISTRY}/{self.name}:{self.version}"

    def inputs(self) -> dict[str, object]:
        return {
            "recipe": RECIPE,
            "name": self.name,
            "version": self.version,
            "binary": sha256_file(self.binary),
            "user": USER,
        }

    def make(self, store: BlobStore) -> Made:
        require_static(self.binary)
        entries = [
            Entry(self.name, "file", 0o755, source=self.binary),
            Entry("etc", "dir", 0o755),
            Entry("etc/group", "file", 0o644, data=GROUP),
            Entry("etc/passwd", "file", 0o644, data=PASSWD),
            Entry("tmp", "dir", 0o1777),
        ]
        layer = write_layer(entries, store)
        labels = {"org.opencontainers.image.title": self.name, "org.opencontainers.image.version": self.version}
        config = ImageConfig(entrypoint=(f"/{self.name}",), user=USER, labels=labels)
        return [layer], config, {"binary": str(self.binary), "binary_bytes": self.binary.stat().st_size}


def images(version: str, binaries: Mapping[str, Path]) -> list[DaprImage]:
    """Every Dapr image of ``version`` from ``binaries`` (name → path).

    Raises:
        ValueError: a name the chart needs has no binary, or a binary is missing on disk.
    """
    missing = [n for n in NAMES if n not in binaries or not binaries[n].is_file()]
    if missing:
        raise ValueError(f"no binary for Dapr {version}'s {', '.join(missing)}: build them first")
    return [DaprImage(name, binaries[name], version) for name in NAMES]


def build(cache: ImageCache, image: DaprImage) -> Built:
    return cache.get(image.reference, image.inputs(), image.make)


def chart_images(chart: Path) -> dict[str, str]:
    """Each image the chart at ``chart`` (``charts/dapr``) names, by where: ``dapr_operator`` → ``operator``,
    ``dapr_sidecar_injector`` → ``daprd`` and ``dapr_sidecar_injector/injectorImage`` → ``injector``."""
    found: dict[str, str] = {}
    for values in sorted(chart.glob("charts/*/values.yaml")):
        document = yaml.safe_load(values.read_text()) or {}
        for key in ("image", "injectorImage"):
            image = document.get(key)
            if isinstance(image, dict) and isinstance(image.get("name"), str):
                where = values.parent.name + ("" if key == "image" else f"/{key}")
                found[where] = image["name"]
    return found


def check_chart(chart: Path, version: str) -> None:
    """Raises ``ValueError`` when the chart of ``version`` names an image this recipe does not build, or does not
    name one it builds: the names would not match and pods would wait for an image that is not there."""
    named = chart_images(chart)
    if set(named.values()) != set(NAMES):
        raise ValueError(
            f"Dapr {version}'s chart ({chart}) names the images {sorted(named.values())}, these are "
            f"{sorted(NAMES)}: toolchain/images/dapr.py NAMES must follow the chart"
        )


def chart_values(version: str) -> dict[str, str]:
    """The chart values that point it at these images (``helm --set KEY=VALUE``)."""
    return {"global.registry": REGISTRY, "global.tag": version, "global.imagePullPolicy": "IfNotPresent"}
