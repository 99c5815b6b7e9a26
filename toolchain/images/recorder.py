"""The recorder app's image: Debian's Python 3.11, the app's locked runtime dependencies, and ``target_app/`` with
``hop/`` (the recording hop, for a user's own app in a later issue), in three layers, each cached by its own key so
that a change to the app's code rebuilds only the last, small layer.

1. Debian: an mmdebstrap'd ``essential`` rootfs with ``python3`` (3.11) and ``python-is-python3`` (k8s/base/app.yaml
   runs ``python -m uvicorn ...``), whole: the app container also runs ``python -c`` for the kill fault.
2. Dependencies: only what ``target_app`` and ``hop`` import (``RUNTIME``), at the versions ``uv.lock`` resolves
   (``uv export`` of the lock as constraints), installed from manylinux wheels for CPython 3.11 on glibc 2.36
   (Debian 12's) into ``/opt/onceonly/site-packages``; no compiler, no sdist.
3. The app: every ``.py`` of ``target_app/`` and ``hop/`` into ``/opt/onceonly/app``.

It runs as 65532:65532 (app.yaml's pod user) with ``PYTHONPATH`` naming both folders, ``HOME=/tmp`` and no
bytecode written (the image is read-only to that user): each layer carries its own, compiled at build time
(``toolchain.images.bytecode``).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from toolchain.gocmd import BuildError, last_lines
from toolchain.images import bytecode, debian
from toolchain.images.blobs import BlobStore, sha256_file
from toolchain.images.cache import Built, CachedLayer, ImageCache
from toolchain.images.layer import Entry, Layer, write_layer
from toolchain.images.oci import ImageConfig
from toolchain.images.trees import tree_entries

REPOSITORY = "docker.io/library/onceonly-target-app"  # what containerd makes of `onceonly k8s render`'s default
PACKAGES = ("python3", "python-is-python3")
RUNTIME = ("fastapi", "uvicorn", "uvloop", "httptools", "redis", "hiredis", "prometheus-client", "aiohttp")  # imported
SOURCES = ("target_app", "hop")
WHEELS = {"python_version": "3.11", "python_platform": "x86_64-manylinux_2_36"}
HOME = "/opt/onceonly"
UID = 65532
RECIPE = "recorder/2"  # 2: bytecode compiled in (toolchain.images.bytecode)
STDLIB = ("/usr/lib/python3.11", "/usr/lib/python3/dist-packages")
APP_COMMAND = (
    *("python", "-m", "uvicorn", "--factory", "target_app.app:create_app_from_env"),
    *("--loop", "uvloop", "--http", "httptools", "--port", "8000"),
)


def name(version: str) -> str:
    return f"{REPOSITORY}:{version}"


def sources(project: Path) -> list[Path]:
    return sorted(p for package in SOURCES for p in (project / package).rglob("*.py") if "__pycache__" not in p.parts)


def source_digest(project: Path) -> str:
    sha = hashlib.sha256()
    for path in sources(project):
        sha.update(f"{path.relative_to(project).as_posix()}\0{sha256_file(path)}\n".encode())
    return f"sha256:{sha.hexdigest()}"


def debian_inputs() -> dict[str, object]:
    return {"recipe": RECIPE, "rootfs": debian.recipe(PACKAGES)}


def dependency_inputs(project: Path) -> dict[str, object]:
    return {
        "recipe": RECIPE,
        "uv.lock": sha256_file(project / "uv.lock"),
        "runtime": list(RUNTIME),
        "bytecode": bytecode.host_tag(),
        **WHEELS,
    }


def inputs(project: Path, version: str) -> dict[str, object]:
    return {
        "debian": debian_inputs(),
        "dependencies": dependency_inputs(project),
        "app": source_digest(project),
        "version": version,
        "command": list(APP_COMMAND),
        "uid": UID,
    }


def debian_layer(cache: ImageCache) -> CachedLayer:
    def make(store: BlobStore) -> tuple[Layer, dict[str, object]]:
        target = cache.work() / "python-rootfs"
        debian.remove(target)
        try:
            rootfs = debian.build_rootfs(PACKAGES, target)
            compiled = bytecode.compile_in_rootfs(target, STDLIB)
            tree = tree_entries(target, bytecode=True)
            layer = write_layer(tree.entries, store)
        finally:
            debian.remove(target)
        facts: dict[str, object] = {
            "debian_packages": rootfs.packages,
            "python3": rootfs.packages.get("python3"),
            "rootfs_seconds": round(rootfs.seconds, 1),
            "left_out": tree.left_out,
            "compiled": compiled,
        }
        return layer, facts

    return cache.layer("debian-python", debian_inputs(), make)


def dependency_layer(cache: ImageCache, project: Path) -> CachedLayer:
    def make(store: BlobStore) -> tuple[Layer, dict[str, object]]:
        work = cache.work() / "site-packages"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            installed = install_wheels(project, work)
            compiled = bytecode.compile_tree(work / "site", f"{HOME}/site-packages")
            tree = tree_entries(work / "site", f"{HOME.lstrip('/')}/site-packages", uid=0, gid=0, bytecode=True)
            layer = write_layer(tree.entries, store)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return layer, {"wheels": installed, "bytecode": compiled}

    return cache.layer("recorder-dependencies", dependency_inputs(project), make)


def install_wheels(project: Path, work: Path) -> list[str]:
    """``RUNTIME`` and what it needs, at uv.lock's versions, installed into ``work/site``; each ``name==version``.

    Raises:
        BuildError: uv missing, the lock not current, a wheel not found for the platform.
    """
    uv = shutil.which("uv")
    if uv is None:
        raise BuildError("uv is not on PATH: it installs the app's locked dependencies (https://docs.astral.sh/uv/)")
    constraints = work / "constraints.txt"
    export = [uv, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "--no-header"]
    _run([*export, "--no-annotate", "--output-file", str(constraints)], project, "uv export of uv.lock")
    install = [uv, "pip", "install", "--target", str(work / "site"), "--no-config", "--only-binary", ":all:"]
    install += ["--python-version", WHEELS["python_version"], "--python-platform", WHEELS["python_platform"]]
    said = _run([*install, "--constraint", str(constraints), *RUNTIME], project, "uv pip install of the app's wheels")
    return sorted(line.split(" + ", 1)[1] for line in said.splitlines() if line.startswith(" + "))


def _run(args: list[str], cwd: Path, what: str) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"{what} failed (exit {done.returncode}): {last_lines(done.stdout + done.stderr)}")
    return done.stdout + done.stderr


def app_layer(cache: ImageCache, store: BlobStore, project: Path) -> Layer:
    """The app's sources (and their bytecode) at ``/opt/onceonly/app``."""
    work = cache.work() / "app"
    shutil.rmtree(work, ignore_errors=True)
    try:
        for path in sources(project):
            copy = work / path.relative_to(project)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(path.read_bytes())
            copy.chmod(0o644)
        bytecode.compile_tree(work, f"{HOME}/app")
        tree = tree_entries(work, f"{HOME.lstrip('/')}/app", uid=0, gid=0, bytecode=True)
        return write_layer([*tree.entries, Entry("journal", "dir", 0o755, uid=UID, gid=UID)], store)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def config() -> ImageConfig:
    env = (
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        f"PYTHONPATH={HOME}/app:{HOME}/site-packages",
        "PYTHONDONTWRITEBYTECODE=1",
        "PYTHONUNBUFFERED=1",
        "HOME=/tmp",
    )
    return ImageConfig(cmd=APP_COMMAND, env=env, user=f"{UID}:{UID}", workdir=f"{HOME}/app", ports=("8000/tcp",))


def build(cache: ImageCache, project: Path, version: str) -> Built:
    """The recorder image of onceonly ``version`` from the clone at ``project`` (its uv.lock and sources)."""
    if not (project / "uv.lock").is_file() or not sources(project):
        raise BuildError(f"{project} has no uv.lock or no target_app/: build the app image from a clone of onceonly")

    def make(store: BlobStore) -> tuple[list[Layer], ImageConfig, dict[str, object]]:
        base, deps = debian_layer(cache), dependency_layer(cache, project)
        layers = [base.layer, deps.layer, app_layer(cache, store, project)]
        reused = {"debian": not base.built_now, "dependencies": not deps.built_now}
        return layers, config(), {"debian": base.facts, "dependencies": deps.facts, "reused": reused}

    return cache.get(name(version), inputs(project, version), make)
