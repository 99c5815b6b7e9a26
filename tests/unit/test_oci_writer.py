"""The OCI image-layout writer (toolchain/images): digests that are the bytes' own, the same input giving the same
bytes, a layer holding exactly what it was given, an archive whose index names each image."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from toolchain.images.blobs import BlobStore
from toolchain.images.layer import Entry, complete, write_layer
from toolchain.images.oci import CONTAINERD_NAME, REF_NAME, ImageConfig, split_name, write_archive, write_image


def entries(tmp: Path) -> list[Entry]:
    source = tmp / "source.bin"
    source.write_bytes(b"\x7fELF pretend binary")
    return [
        Entry("etc/app/conf", "file", 0o644, data=b"key=value\n"),
        Entry("app", "file", 0o755, uid=65532, gid=65532, source=source),
        Entry("usr/bin/python3", "symlink", 0o777, target="python3.11"),
        Entry("usr/bin/python3.11", "file", 0o755, data=b"py"),
        Entry("usr/bin/py", "hardlink", 0o755, target="usr/bin/python3.11"),
    ]


def sha(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def test_a_layer_holds_its_entries_sorted_with_parents_fixed_times_and_owners(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "store")
    layer = write_layer(entries(tmp_path), store)
    blob = store.path(layer.blob.digest).read_bytes()
    assert sha(blob) == layer.blob.digest and len(blob) == layer.blob.size
    plain = gzip.decompress(blob)
    assert sha(plain) == layer.diff_id
    with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == [
            "app",
            "etc",
            "etc/app",
            "etc/app/conf",
            "usr",
            "usr/bin",
            "usr/bin/python3",
            "usr/bin/python3.11",
            "usr/bin/py",  # a hard link: after the file it names
        ]
        assert {m.mtime for m in members} == {0}
        app = tar.getmember("app")
        assert (app.uid, app.gid, app.mode) == (65532, 65532, 0o755)
        assert tar.extractfile(app).read() == b"\x7fELF pretend binary"  # type: ignore[union-attr]
        assert tar.getmember("usr/bin/python3").linkname == "python3.11"
        assert tar.getmember("usr/bin/py").islnk()
        assert tar.getmember("etc").isdir() and tar.getmember("etc").uid == 0
    assert layer.entries == 9


def test_the_same_entries_give_the_same_bytes_and_a_change_gives_other_bytes(tmp_path: Path) -> None:
    one = write_layer(entries(tmp_path), BlobStore(tmp_path / "a"))
    two = write_layer(list(reversed(entries(tmp_path))), BlobStore(tmp_path / "b"))
    assert one == two
    changed = [*entries(tmp_path)[:-1], Entry("usr/bin/py", "hardlink", 0o700, target="usr/bin/python3.11")]
    assert write_layer(changed, BlobStore(tmp_path / "c")).diff_id != one.diff_id


@pytest.mark.parametrize("path", ["/etc/passwd", "../escape", "a/../../b", ""])
def test_a_path_outside_the_image_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="relative and inside"):
        complete([Entry(path, "file", data=b"")])


def test_a_hard_link_to_nothing_in_the_layer_is_refused() -> None:
    with pytest.raises(ValueError, match="hard link"):
        complete([Entry("a", "hardlink", target="b")])


def test_a_path_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        complete([Entry("a", "file", data=b"1"), Entry("a/", "file", data=b"2")])


def test_the_manifest_config_and_archive_name_the_right_blobs(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "store")
    layer = write_layer(entries(tmp_path), store)
    config = ImageConfig(entrypoint=("/app",), user="65532:65532", ports=("8000/tcp",), env=("A=1",))
    image = write_image(store, "onceonly.local/x/app:1.2.3", [layer], config)
    manifest = json.loads(store.path(image.manifest.digest).read_bytes())
    assert sha(store.path(image.manifest.digest).read_bytes()) == image.manifest.digest
    assert manifest["layers"] == [layer.blob.as_json()]
    document = json.loads(store.path(manifest["config"]["digest"]).read_bytes())
    assert document["rootfs"]["diff_ids"] == [layer.diff_id]
    assert document["config"] == {
        "Entrypoint": ["/app"],
        "Env": ["A=1"],
        "ExposedPorts": {"8000/tcp": {}},
        "User": "65532:65532",
        "WorkingDir": "/",
    }
    archive = tmp_path / "app.tar"
    write_archive(store, [image], archive)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
        assert json.loads(tar.extractfile("oci-layout").read()) == {"imageLayoutVersion": "1.0.0"}  # type: ignore[union-attr]
        for digest in (image.manifest.digest, manifest["config"]["digest"], layer.blob.digest):
            blob = tar.extractfile(f"blobs/sha256/{digest[7:]}").read()  # type: ignore[union-attr]
            assert sha(blob) == digest
    assert len([n for n in names if n.startswith("blobs/sha256/")]) == 3
    (entry,) = index["manifests"]
    assert entry["digest"] == image.manifest.digest
    assert entry["annotations"] == {REF_NAME: "1.2.3", CONTAINERD_NAME: "onceonly.local/x/app:1.2.3"}
    again = tmp_path / "again.tar"
    write_archive(store, [image], again)
    assert again.read_bytes() == archive.read_bytes()


@pytest.mark.parametrize("name", ["no-tag", "registry:5000/x", "x:", ":tag"])
def test_an_image_name_without_a_tag_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="repository and a tag"):
        split_name(name)


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (apt-get install {name}): the archive is checked by our own reader only")
    return found


def small_image_archive(tmp_path: Path) -> Path:
    store = BlobStore(tmp_path / "store")
    layer = write_layer(entries(tmp_path), store)
    image = write_image(store, "onceonly.local/x/app:1.2.3", [layer], ImageConfig(entrypoint=("/app",), user="65532"))
    archive = tmp_path / "app.tar"
    write_archive(store, [image], archive)
    return archive


def test_skopeo_reads_the_archive_as_an_oci_image(tmp_path: Path) -> None:
    skopeo = tool("skopeo")
    archive = small_image_archive(tmp_path)
    done = subprocess.run(
        [skopeo, "inspect", "--config", f"oci-archive:{archive}:1.2.3"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["config"]["Entrypoint"] == ["/app"]


def test_umoci_unpacks_the_layout_into_a_bundle_with_the_files(tmp_path: Path) -> None:
    umoci = tool("umoci")
    layout = tmp_path / "layout"
    with tarfile.open(small_image_archive(tmp_path)) as tar:
        tar.extractall(layout, filter="data")
    bundle = tmp_path / "bundle"
    done = subprocess.run(
        [umoci, "unpack", "--rootless", "--image", f"{layout}:1.2.3", str(bundle)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rootfs = bundle / "rootfs"
    assert (rootfs / "etc/app/conf").read_bytes() == b"key=value\n"
    assert (rootfs / "usr/bin/python3").readlink() == Path("python3.11")
    assert json.loads((bundle / "config.json").read_text())["process"]["args"] == ["/app"]
