"""``onceonly k8s images``: bad input exits 3 and builds nothing (an unknown Dapr version, --out a file); what it
prints for images that exist (name, digest, size, archive, the chart values, one import line per archive), and
images.json. The images here are small real ones made in a temporary cache; the catalog's build is a FAKE that
returns them, so no Go, mmdebstrap or network is touched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from harness import cli
from harness.errors import ExitCode
from toolchain.images import catalog
from toolchain.images.cache import ImageCache, copy_out
from toolchain.images.layer import Entry, write_layer
from toolchain.images.oci import ImageConfig


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONCEONLY_CACHE_DIR", str(tmp_path / "cache" / "dapr"))
    monkeypatch.setattr(cli, "console", Console(stderr=True, width=300, color_system=None))
    monkeypatch.setattr(cli, "out", Console(width=300, color_system=None))


def exit_of(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    return int(info.value.code or 0)


def never(*_a: Any, **_k: Any) -> None:
    raise AssertionError("FAKE build: bad input must build nothing")


def test_an_unknown_dapr_version_exits_3_naming_the_known_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(catalog, "build_all", never)
    assert exit_of(["k8s", "images", "--dapr", "0.9.9"]) == ExitCode.BAD_INPUT
    said = capsys.readouterr().err
    assert "0.9.9" in said and "1.18.2" in said


def test_out_naming_a_file_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "build_all", never)
    (tmp_path / "file").write_text("")
    assert exit_of(["k8s", "images", "--out", str(tmp_path / "file")]) == ExitCode.BAD_INPUT


def test_each_image_is_printed_with_its_digest_archive_and_import_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = ImageCache(tmp_path / "images")

    def made(content: bytes):  # type: ignore[no-untyped-def]
        return lambda store: ([write_layer([Entry("x", "file", data=content)], store)], ImageConfig(), {})

    built = [cache.get(f"onceonly.local/dapr/{n}:1.18.2", {"n": n}, made(n.encode())) for n in ("daprd", "sentry")]

    def fake_build_all(entry: Any, project: Path, version: str, display: Any, out: Path | None) -> list[Any]:
        """FAKE: the two images above, copied into --out and listed in images.json as the real one does."""
        listed = [catalog.Listed(f"dapr:{b.image.name}", b, copy_out(b, out) if out else b.archive) for b in built]
        catalog.write_index(listed, entry.version, catalog.index_path(entry.version, out))
        return listed

    monkeypatch.setattr(catalog, "build_all", fake_build_all)
    out = tmp_path / "out"
    assert exit_of(["k8s", "images", "--dapr", "1.18.2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for b in built:
        assert f"{b.image.name}  {b.image.manifest.digest}" in printed
        assert f"ctr -n k8s.io -a SOCKET images import {out / b.archive.name}\n" in printed
    assert "--set global.registry=onceonly.local/dapr --set global.tag=1.18.2" in printed
    index = json.loads((out / "images.json").read_text())
    assert [i["digest"] for i in index["images"]] == [b.image.manifest.digest for b in built]
    assert index["chart"]["global.tag"] == "1.18.2" and (out / built[0].archive.name).is_file()
