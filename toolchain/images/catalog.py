"""Every image the Kubernetes tier needs for one Dapr version, built or taken from the cache, and what to tell
containerd and the chart about them.

The images: Dapr's six (``dapr``: daprd, scheduler, sentry, injector, operator, placement), the ledger's Redis
(``redis``) and the recorder app (``recorder``). Dapr's binaries come from the build caches: daprd and scheduler
from ``onceonly dapr build`` (``<cache>/dapr/<version>/bin``), sentry and injector from the control plane's
(``<cache>/kube/dapr-<version>/bin``), operator and placement built here beside them
(``<cache>/kube/dapr-<version>-services/bin``); whatever is missing is built first.

``images.json`` in ``--out`` (``<cache>/images/images-<version>.json`` without it): the Dapr version, the chart
values, and per image its role, name, manifest digest, archive path and size, build seconds and whether it was
built now.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from toolchain import dapr_plane, module_files, wrapper
from toolchain.build import BuildResult
from toolchain.gocmd import BuildError
from toolchain.images import dapr, recorder, redis
from toolchain.images.cache import Built, ImageCache, copy_out
from toolchain.images.elf import NotStatic
from toolchain.selection import (
    SelectionDisplay,
    build_dapr_plane_with_progress,
    build_with_progress,
    cache_root,
    kube_cache_root,
)
from toolchain.versions import DaprVersion

SERVICES = (("operator", f"{wrapper.MODULE}/cmd/operator"), ("placement", f"{wrapper.MODULE}/cmd/placement"))
IMPORT = "ctr -n k8s.io -a {socket} images import {archive}"
INDEX = "images.json"


@dataclass(frozen=True, slots=True)
class Listed:
    role: str  # dapr:daprd, redis, recorder
    built: Built
    archive: Path  # where it is for import: the cache's, or its copy in --out


def images_root() -> Path:
    return cache_root().parent / "images"


def services_name(version: str) -> str:
    return f"dapr-{version}-services"


def build_services(entry: DaprVersion, display: SelectionDisplay) -> Path:
    """Dapr's operator and placement of ``entry``, built beside sentry and the injector (a no-op when built)."""
    root = kube_cache_root()
    display.say(f"Building Dapr {entry.version}'s operator and placement into {root}/{services_name(entry.version)}")
    with display.building() as reporter:
        result: BuildResult = dapr_plane.build_commands(
            entry, root, cache_root(), services_name(entry.version), SERVICES, reporter
        )
    verb = "built" if result.built_now else "already built"
    display.say(f"Dapr {entry.version}'s operator and placement {verb} in {result.seconds:.0f} s: {result.bin_dir}")
    return result.bin_dir


def dapr_binaries(entry: DaprVersion, display: SelectionDisplay) -> dict[str, Path]:
    """Each Dapr binary the chart's images hold, building what the caches lack."""
    found: dict[str, Path] = {}
    for folder in (
        build_with_progress(entry, display),
        build_dapr_plane_with_progress(entry, display),
        build_services(entry, display),
    ):
        found.update({p.name: p for p in folder.iterdir() if p.name in dapr.NAMES})
    return found


def build_all(
    entry: DaprVersion, project: Path, app_version: str, display: SelectionDisplay, out: Path | None = None
) -> list[Listed]:
    """Every image for ``entry``: built, or taken from the cache when its inputs are unchanged; each archive
    copied into ``out`` when given, and ``images.json`` written beside the archives.

    Raises:
        BuildError: a binary or package could not be built, a Dapr binary is not static, mmdebstrap or uv failed.
    """
    cache = ImageCache(images_root())
    try:
        dapr.check_chart(module_files.dapr_crd_dir(entry.tag).parent, entry.version)
        wanted = dapr.images(entry.version, dapr_binaries(entry, display))
    except ValueError as exc:
        raise BuildError(str(exc)) from exc
    jobs: list[tuple[str, str, Callable[[], Built]]] = [
        (f"dapr:{i.name}", i.reference, partial(dapr.build, cache, i)) for i in wanted
    ]
    jobs.append(("redis", redis.NAME, partial(redis.build, cache)))
    jobs.append(("recorder", recorder.name(app_version), partial(recorder.build, cache, project, app_version)))
    listed: list[Listed] = []
    for role, name, build in jobs:
        with display.waiting(f"image {name}"):
            try:
                built = build()
            except NotStatic as exc:
                raise BuildError(str(exc)) from exc
        listed.append(Listed(role, built, copy_out(built, out) if out else built.archive))
        verb = f"built in {built.seconds:.1f} s" if built.built_now else "cached"
        display.say(f"{name}: {verb}, {built.archive_size / 1e6:.1f} MB")
    write_index(listed, entry.version, index_path(entry.version, out))
    return listed


def index_document(listed: list[Listed], version: str) -> dict[str, object]:
    return {
        "dapr": version,
        "chart": dapr.chart_values(version),
        "images": [
            {
                "role": item.role,
                "name": item.built.image.name,
                "digest": item.built.image.manifest.digest,
                "archive": str(item.archive),
                "archive_bytes": item.archive.stat().st_size,
                "build_seconds": round(item.built.seconds, 1),
                "built_now": item.built.built_now,
            }
            for item in listed
        ],
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def index_path(version: str, out: Path | None) -> Path:
    return out / INDEX if out else images_root() / f"images-{version}.json"


def write_index(listed: list[Listed], version: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(index_document(listed, version), indent=2, sort_keys=True) + "\n")
    return path


def import_command(archive: Path, socket: str = "SOCKET") -> str:
    return IMPORT.format(socket=socket, archive=archive)
