"""The image recipes' parts that need no network or root: the static-binary check, trees as layer entries, the
content-key cache (built once, reused, built again when an input changes), the Dapr images as the chart names
them. The Debian recipes run for real in tests/integration/test_images.py."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import struct
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

from toolchain import module_files
from toolchain.gocmd import BuildError
from toolchain.images import dapr, debian, recorder, redis
from toolchain.images.cache import ImageCache, content_key
from toolchain.images.elf import NotStatic, interpreter, require_static
from toolchain.images.layer import Entry, write_layer
from toolchain.images.oci import ImageConfig
from toolchain.images.trees import tree_entries


def elf(path: Path, interp: bytes | None) -> Path:
    """A minimal 64-bit little-endian ELF header with one program header: PT_INTERP naming ``interp``, or
    PT_LOAD (a static binary)."""
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x20, 64)  # e_phoff
    struct.pack_into("<HH", header, 0x36, 56, 1)  # e_phentsize, e_phnum
    data = interp + b"\0" if interp else b""
    program = struct.pack("<IIQQQQQQ", 3 if interp else 1, 0, 120, 0, 0, len(data), len(data), 0)
    path.write_bytes(bytes(header) + program + data)
    return path


def test_a_static_binary_passes_and_a_dynamic_one_is_named_with_its_loader(tmp_path: Path) -> None:
    assert interpreter(elf(tmp_path / "static", None)) is None
    require_static(tmp_path / "static")
    dynamic = elf(tmp_path / "dynamic", b"/lib64/ld-linux-x86-64.so.2")
    assert interpreter(dynamic) == "/lib64/ld-linux-x86-64.so.2"
    with pytest.raises(NotStatic, match=r"dynamically linked.*ld-linux"):
        require_static(dynamic)
    (tmp_path / "script").write_text("#!/bin/sh\n")
    with pytest.raises(NotStatic, match="not a 64-bit"):
        interpreter(tmp_path / "script")


def test_a_tree_keeps_modes_links_and_hard_links_and_leaves_out_what_an_image_must_not_carry(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/tool").write_bytes(b"tool")
    (root / "usr/bin/tool").chmod(0o750)
    os.link(root / "usr/bin/tool", root / "usr/bin/alias")
    (root / "bin").symlink_to("usr/bin")
    (root / "proc/1").mkdir(parents=True)
    (root / "var/cache/apt/archives").mkdir(parents=True)
    (root / "var/cache/apt/archives/x.deb").write_bytes(b"deb")
    (root / "pkg/__pycache__").mkdir(parents=True)
    (root / "pkg/__pycache__/m.pyc").write_bytes(b"pyc")
    os.mkfifo(root / "usr/fifo")
    found = tree_entries(root, "opt/app", uid=65532, gid=65532)
    by_path = {e.path: e for e in found.entries}
    assert by_path["opt/app/bin"].kind == "symlink" and by_path["opt/app/bin"].target == "usr/bin"
    assert {by_path["opt/app/usr/bin/alias"].kind, by_path["opt/app/usr/bin/tool"].kind} == {"file", "hardlink"}
    tool = by_path["opt/app/usr/bin/tool"]
    assert (tool.mode, tool.uid, tool.gid) == (0o750, 65532, 65532)
    assert "opt/app/proc" in by_path and by_path["opt/app/proc"].kind == "dir"
    assert not [p for p in by_path if p.startswith(("opt/app/proc/", "opt/app/var/cache/apt/archives/"))]
    assert not [p for p in by_path if "__pycache__" in p or p.endswith("fifo")]
    assert found.left_out == {
        "the contents of proc/": 1,
        "the contents of var/cache/apt/archives/": 1,
        "a device, fifo or socket": 1,
    }
    write_layer(found.entries, ImageCache(tmp_path / "cache").store)  # a hard link after its file: accepted


def test_an_image_is_built_once_reused_then_built_again_when_an_input_changes(tmp_path: Path) -> None:
    cache = ImageCache(tmp_path / "cache")
    calls: list[str] = []

    def make(content: bytes):  # type: ignore[no-untyped-def]
        def made(store):  # type: ignore[no-untyped-def]
            calls.append(content.decode())
            return [write_layer([Entry("x", "file", data=content)], store)], ImageConfig(cmd=("/x",)), {"n": 1}

        return made

    first = cache.get("onceonly.local/t:1", {"content": "a"}, make(b"a"))
    again = cache.get("onceonly.local/t:1", {"content": "a"}, make(b"a"))
    assert (first.built_now, again.built_now, calls) == (True, False, ["a"])
    assert again.image == first.image and again.facts == {"n": 1} and again.archive.read_bytes()
    changed = cache.get("onceonly.local/t:1", {"content": "b"}, make(b"b"))
    assert changed.built_now and changed.image.manifest.digest != first.image.manifest.digest
    changed.archive.unlink()  # an archive gone: built again, never reported from the record alone
    assert cache.get("onceonly.local/t:1", {"content": "b"}, make(b"b")).built_now
    assert calls == ["a", "b", "b"]


def test_the_dapr_images_are_named_as_the_chart_asks_and_refuse_a_dynamic_binary(tmp_path: Path) -> None:
    binaries = {name: elf(tmp_path / name, None) for name in dapr.NAMES}
    images = dapr.images("1.18.2", binaries)
    assert [i.reference for i in images] == [f"onceonly.local/dapr/{n}:1.18.2" for n in dapr.NAMES]
    assert dapr.chart_values("1.18.2")["global.registry"] == "onceonly.local/dapr"
    cache = ImageCache(tmp_path / "cache")
    built = dapr.build(cache, images[0])
    config = cache.store.read_json(cache.store.read_json(built.image.manifest.digest)["config"]["digest"])  # type: ignore[index]
    assert config["config"]["Entrypoint"] == ["/daprd"] and config["config"]["User"] == "65532:65532"  # type: ignore[index]
    manifest = cache.store.read_json(built.image.manifest.digest)
    [layer] = manifest["layers"]  # type: ignore[index]
    with tarfile.open(cache.store.path(layer["digest"]), "r:gz") as tar:
        passwd = tar.extractfile("etc/passwd").read().decode()  # type: ignore[union-attr]
    # a pod with runAsUser 65532 and no runAsGroup (Dapr 1.16.0's chart) takes its group from here, else 0
    assert "nonroot:x:65532:65532:" in passwd
    elf(tmp_path / "daprd", b"/lib64/ld-linux-x86-64.so.2")
    with pytest.raises(NotStatic):
        dapr.build(cache, dapr.images("1.18.2", binaries)[0])
    del binaries["operator"]
    with pytest.raises(ValueError, match="operator"):
        dapr.images("1.18.2", binaries)


ROOT = Path(__file__).resolve().parents[2]


def third_party_imports(files: list[Path]) -> set[str]:
    names: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in recorder.SOURCES}


def locked_closure(roots: tuple[str, ...]) -> set[str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    needs = {p["name"]: [d["name"] for d in p.get("dependencies", [])] for p in lock["package"]}
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += needs[name]
    return seen


def test_the_app_image_installs_every_package_target_app_and_hop_import() -> None:
    """RUNTIME is written by hand; this fails when the app or the hop imports a package it does not bring."""
    imported = third_party_imports(recorder.sources(ROOT))
    assert {"fastapi", "redis", "aiohttp"} <= imported
    providers = importlib.metadata.packages_distributions()
    closure = locked_closure(recorder.RUNTIME)
    missing = {n for n in imported if not {d.lower().replace("_", "-") for d in providers.get(n, [])} & closure}
    assert missing == set()


def test_the_app_image_key_follows_its_sources(tmp_path: Path) -> None:
    project = tmp_path / "clone"
    for package in recorder.SOURCES:
        (project / package).mkdir(parents=True)
        (project / package / "__init__.py").write_text("")
    (project / "uv.lock").write_text("version = 1\n")
    before = recorder.inputs(project, "0.1.0")
    (project / "hop" / "main.py").write_text("print('hop')\n")
    after = recorder.inputs(project, "0.1.0")
    assert before["app"] != after["app"] and before["dependencies"] == after["dependencies"]
    assert before["debian"] == after["debian"]
    assert recorder.name("0.1.0") == "docker.io/library/onceonly-target-app:0.1.0"


@pytest.mark.parametrize("version", ["1.16.0", "1.18.2"])
def test_the_chart_of_each_version_names_exactly_the_dapr_images_built(version: str) -> None:
    try:
        chart = module_files.dapr_crd_dir(f"v{version}").parent
    except BuildError as exc:
        pytest.skip(f"the dapr module {version} is not in Go's module cache nor reachable: {exc}")
    named = dapr.chart_images(chart)
    assert named["dapr_sidecar_injector"] == "daprd" and named["dapr_sidecar_injector/injectorImage"] == "injector"
    dapr.check_chart(chart, version)
    for template in chart.glob("charts/*/templates/*.yaml"):
        for line in template.read_text().splitlines():
            if line.strip().startswith("image:") and "registry" in line:
                assert "{{ .Values.global.registry }}/" in line and ":{{ .Values.global.tag }}" in line, line


def test_a_chart_that_names_another_image_is_refused(tmp_path: Path) -> None:
    for name in dapr.NAMES:
        (tmp_path / "charts" / f"dapr_{name}").mkdir(parents=True)
        (tmp_path / "charts" / f"dapr_{name}" / "values.yaml").write_text(f"image:\n  name: {name}\n")
    dapr.check_chart(tmp_path, "9.9.9")
    (tmp_path / "charts" / "dapr_operator" / "values.yaml").write_text("image:\n  name: dapr\n")
    with pytest.raises(ValueError, match=r"names the images \['dapr', 'daprd', "):
        dapr.check_chart(tmp_path, "9.9.9")


def test_the_debian_rootfs_command_and_its_key_follow_the_packages() -> None:
    argv = debian.command(("redis-server", "ca-certificates"), Path("/work/rootfs"))
    assert argv[:5] == [
        "mmdebstrap",
        "--quiet",
        "--mode=root",
        "--variant=essential",
        "--include=ca-certificates,redis-server",
    ]
    assert "--dpkgopt=path-exclude=/usr/share/doc/*" in argv
    assert argv[-4:] == ["bookworm", "/work/rootfs", *debian.MIRRORS]
    assert debian.recipe(("a", "b")) == debian.recipe(("b", "a")) != debian.recipe(("a",))
    assert content_key(redis.inputs()) != content_key({**redis.inputs(), "uid": 1000})
