"""The locally built images (``onceonly k8s images``) in a real containerd: each archive imports with
``ctr -n k8s.io images import`` under the name the chart or the manifests use, unpacks (containerd checks every
layer against the config's diff ids), and runs: daprd prints its version, Redis serves (PING, dir /data) as uid 999, the
recorder's Python imports the app and the hop with their dependencies, as the pods' users.

containerd (Debian's 1.6) runs on its own root, state and socket in a temporary folder, its CRI plugin off; it is
stopped by its pid and what it mounted is unmounted before the folder goes. Needs root, containerd and runc
(`apt-get install containerd runc`), and the images (built here when missing: minutes cold, Go and Debian's
mirror)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError
from rich.console import Console

from harness.about import onceonly_version
from harness.cli_k8s import PROJECT
from harness.report.terminal import RichDisplay
from toolchain.images import catalog, dapr, recorder, redis
from toolchain.versions import DEFAULT_VERSION, lookup

pytestmark = [pytest.mark.integration, pytest.mark.containerd]

CONFIG = 'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n'


def mounts_under(folder: Path) -> list[str]:
    prefix = str(folder.resolve()) + "/"
    with Path("/proc/self/mounts").open() as mounts:
        return [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]


@pytest.fixture(scope="module")
def containerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A standalone containerd's socket; stopped, unmounted and removed afterwards."""
    if os.geteuid() != 0 or not shutil.which("containerd") or not shutil.which("runc"):
        pytest.skip("needs root, containerd and runc: apt-get install containerd runc")
    folder = tmp_path_factory.mktemp("containerd")
    (folder / "config.toml").write_text(CONFIG)
    socket = str(folder / "containerd.sock")
    args = ["containerd", "--config", str(folder / "config.toml"), "--root", str(folder / "root")]
    args += ["--state", str(folder / "state"), "--address", socket]
    with (folder / "containerd.log").open("wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not Path(socket).exists() or ctr(socket, "version", check=False).returncode != 0:
            assert process.poll() is None, (folder / "containerd.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "containerd did not answer in 30 s"
            time.sleep(0.2)
        yield socket
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for mount in sorted(mounts_under(folder), key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], check=False)
        assert mounts_under(folder) == []
        shutil.rmtree(folder, ignore_errors=True)


def ctr(socket: str, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["ctr", "-a", socket, "-n", "k8s.io", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check:
        assert done.returncode == 0, f"ctr {' '.join(args)}: {done.stdout}{done.stderr}"
    return done


@pytest.fixture(scope="module")
def images(containerd: str) -> dict[str, catalog.Listed]:
    """Every image (from the cache, or built), imported into the containerd."""
    entry = lookup(os.environ.get("ONCEONLY_DAPR_VERSION", DEFAULT_VERSION))
    quiet = RichDisplay(Console(stderr=True), Console(stderr=True), "quiet")
    listed = catalog.build_all(entry, PROJECT, onceonly_version(), quiet)
    for item in listed:
        ctr(containerd, "images", "import", str(item.archive))
    return {item.built.image.name: item for item in listed}


def test_every_archive_imports_under_its_name_and_digest(containerd: str, images: dict[str, catalog.Listed]) -> None:
    listed = ctr(containerd, "images", "ls").stdout.splitlines()
    rows = {line.split()[0]: line.split() for line in listed[1:]}
    for name, item in images.items():
        assert name in rows, f"{name} not imported: {listed}"
        assert item.built.image.manifest.digest in rows[name], rows[name]
    version = lookup(os.environ.get("ONCEONLY_DAPR_VERSION", DEFAULT_VERSION)).version
    assert {f"{dapr.REGISTRY}/{n}:{version}" for n in dapr.NAMES} <= set(rows)


def run(socket: str, image: str, name: str, *argv: str) -> str:
    """``argv`` run in a container of ``image`` as the image's own user (ctr applies its config), host network."""
    done = ctr(socket, "run", "--rm", "--net-host", image, f"onceonly-images-{name}", *argv, check=False, timeout=60)
    ctr(socket, "containers", "rm", f"onceonly-images-{name}", check=False)
    assert done.returncode == 0, f"{image} {argv}: {done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def test_daprd_runs_from_its_scratch_image(containerd: str, images: dict[str, catalog.Listed]) -> None:
    name = next(n for n in images if n.startswith(f"{dapr.REGISTRY}/daprd:"))
    assert name.rsplit(":", 1)[1] in run(containerd, name, "daprd", "/daprd", "--version")


def test_redis_serves_from_its_image_as_uid_999(containerd: str, images: dict[str, catalog.Listed]) -> None:
    assert "Redis server v=7." in run(containerd, redis.NAME, "redis-version", "redis-server", "--version")
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    ctr(containerd, "run", "-d", "--net-host", redis.NAME, "onceonly-images-redis", *argv)
    try:
        client = Redis(host="127.0.0.1", port=port, socket_timeout=2)
        deadline = time.monotonic() + 20
        while True:
            try:
                assert client.ping()
                break
            except RedisError:
                assert time.monotonic() < deadline, "redis in its image did not answer in 20 s"
                time.sleep(0.2)
        assert client.config_get("dir") == {"dir": "/data"}
        pid = ctr(containerd, "tasks", "ls").stdout.split("onceonly-images-redis")[1].split()[0]
        uids = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("Uid:"))
        assert uids.split()[1:] == [str(redis.UID)] * 4
        client.close()
    finally:
        ctr(containerd, "tasks", "kill", "-s", "SIGKILL", "onceonly-images-redis", check=False)
        deadline = time.monotonic() + 20
        while ctr(containerd, "tasks", "rm", "onceonly-images-redis", check=False).returncode != 0:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        ctr(containerd, "containers", "rm", "onceonly-images-redis", check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_recorder_imports_the_app_and_the_hop_as_the_pod_user(
    containerd: str, images: dict[str, catalog.Listed]
) -> None:
    code = "import target_app.app, hop.main, uvicorn, redis.asyncio, aiohttp, os, sys; print(sys.version_info[:2])"
    said = run(containerd, recorder.name(onceonly_version()), "recorder", "python", "-c", code + "; print(os.getuid())")
    assert "(3, 11)" in said and f"\n{recorder.UID}\n" in f"\n{said}"
