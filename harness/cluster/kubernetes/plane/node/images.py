"""The node's images, built on this machine (no registry is reachable) and imported into containerd's ``k8s.io``
namespace, where the CRI plugin looks:

- pause, the sandbox image: Kubernetes' own ``build/pause/linux/pause.c`` (from the release's module) compiled
  static with gcc, alone in one layer, ``/pause`` its entrypoint. containerd's ``sandbox_image`` names its tag.
- busybox: Debian's busybox-static binary in a scratch layer at ``/bin/busybox`` with the applets pods use as
  links (``sh``, ``sleep``, ``echo``, ...): the smallest image that runs a shell for tests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.cluster.kubernetes.plane.node import oci_archive
from harness.cluster.kubernetes.plane.node.oci_archive import Entry
from harness.errors import EnvironmentProblem, InputError

PAUSE = "onceonly.local/pause:{version}"
BUSYBOX = "onceonly.local/busybox:static"
BUSYBOX_BINARY = Path("/bin/busybox")
# links to busybox; one string, as fault kind names ("kill") may not stand alone as constants outside faults/
APPLETS = "sh sleep echo cat ls kill ps true false env id hostname wget nc httpd".split()  # noqa: SIM905


@dataclass(frozen=True, slots=True)
class Image:
    reference: str
    archive: Path


def pause_reference(kube_version: str) -> str:
    return PAUSE.format(version=kube_version)


def build_pause(source: Path, kube_version: str, directory: Path) -> Image:
    """pause.c compiled (``gcc -static``) and packed as a one-layer archive in ``directory``."""
    gcc = shutil.which("gcc")
    if gcc is None:
        raise EnvironmentProblem(
            "gcc is not installed; the node's pause image is built from pause.c: scripts/setup.sh need_node installs it"
        )
    binary = directory / source.stem  # pause.c -> pause
    directory.mkdir(parents=True, exist_ok=True)
    argv = [gcc, "-static", "-Os", "-Wall", "-Werror", f"-DVERSION=v{kube_version}", "-o", str(binary), str(source)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not binary.is_file():
        raise EnvironmentProblem(
            f"building the pause image failed ({' '.join(argv)}):\n{done.stderr[-800:]}\n"
            "A static build needs libc6-dev (glibc's static libraries): scripts/setup.sh need_node installs it"
        )
    subprocess.run(["strip", str(binary)], capture_output=True, check=False)
    reference = pause_reference(kube_version)
    layer = oci_archive.layer_tar([Entry(binary.name, binary.read_bytes())])
    archive = directory / "pause.oci.tar"
    oci_archive.write(archive, reference, layer, ["/pause"])
    return Image(reference, archive)


def build_busybox(directory: Path, binary: Path = BUSYBOX_BINARY) -> Image:
    """Debian's static busybox in a scratch layer with its applets as links."""
    if not binary.is_file():
        raise EnvironmentProblem(
            f"{binary} is missing; the node's test image needs busybox-static: scripts/setup.sh need_node installs it"
        )
    entries = [Entry("bin/busybox", binary.read_bytes())]
    entries += [Entry(f"bin/{applet}", link="busybox") for applet in APPLETS]
    archive = directory / "busybox.oci.tar"
    oci_archive.write(archive, BUSYBOX, oci_archive.layer_tar(entries), ["/bin/sh"])
    return Image(BUSYBOX, archive)


def ctr(socket: Path, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """``ctr --address socket -n k8s.io args...``, its output captured (never raises on a non-zero exit)."""
    argv = ["ctr", "--address", str(socket), "--namespace", "k8s.io", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def import_image(socket: Path, image: Image) -> None:
    """The archive imported (and unpacked for overlayfs); the reference is then listed, or an error says why not."""
    done = ctr(socket, "images", "import", str(image.archive))
    listed = ctr(socket, "images", "ls", "--quiet")
    if done.returncode != 0 or image.reference not in listed.stdout.split():
        raise EnvironmentProblem(
            f"ctr could not import {image.reference} from {image.archive}:\n{done.stdout}{done.stderr}".rstrip()
        )


def listed(index: Path) -> tuple[Image, ...]:
    """The images an ``images.json`` of ``onceonly k8s images`` lists (name and archive), to import into a node.

    Raises:
        InputError: the file is missing or is not such a list.
    """
    if not index.is_file():
        raise InputError(f"{index} is missing: run `onceonly k8s images` first (it builds the images and lists them)")
    try:
        return tuple(Image(item["name"], Path(item["archive"])) for item in json.loads(index.read_text())["images"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{index} is not an images.json of `onceonly k8s images` ({exc!r})") from exc


def listed_all(*indexes: Path) -> tuple[Image, ...]:
    """The images of several ``images.json`` (Dapr versions), each name once (Redis and the recorder are in all)."""
    found: dict[str, Image] = {}
    for index in indexes:
        for image in listed(index):
            found.setdefault(image.reference, image)
    return tuple(found.values())
