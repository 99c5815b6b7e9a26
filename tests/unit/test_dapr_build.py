"""toolchain.build with a FAKE `go` (a shell script in tmp_path): no network, no real Go, no real Dapr."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tests.unit.fake_go import FAKE_GO, download_error, executable, fake_go, goversion, list_and_build
from toolchain import binaries
from toolchain.build import BUILD_RECORD, BuildError, build, is_built, version_dir
from toolchain.versions import DaprVersion, lookup


def test_no_go_on_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    with pytest.raises(BuildError, match="Go is not installed") as info:
        build(lookup("1.18.2"), tmp_path / "cache", environ={"PATH": str(empty)})
    assert "1.26.5" in str(info.value)
    assert not (tmp_path / "cache").exists()


def test_go_too_old(tmp_path: Path) -> None:
    env = fake_go(tmp_path / "fakebin", goversion("1.20.1"))
    entry = lookup("1.18.2")
    assert entry.go == "1.26.5"
    with pytest.raises(BuildError, match="too old") as info:
        build(entry, tmp_path / "cache", go=FAKE_GO, environ=env)
    message = str(info.value)
    assert "1.20.1" in message
    assert "1.26.5" in message
    assert not (tmp_path / "cache").exists()


def test_go_of_same_minor_but_older_patch_is_too_old(tmp_path: Path) -> None:
    env = fake_go(tmp_path / "fakebin", goversion("1.26"))
    with pytest.raises(BuildError, match="too old"):
        build(lookup("1.18.2"), tmp_path / "cache", go=FAKE_GO, environ=env)


def test_go_env_failing_is_reported(tmp_path: Path) -> None:
    env = fake_go(tmp_path / "fakebin", '"env GOVERSION") echo "fake_go: broken toolchain" >&2; exit 2 ;;\n')
    with pytest.raises(BuildError, match="broken toolchain"):
        build(lookup("1.18.2"), tmp_path / "cache", go=FAKE_GO, environ=env)


def test_already_built_does_not_call_go(tmp_path: Path) -> None:
    called = tmp_path / "fake_go-was-called"
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    # this fake go fails loudly whatever it is asked
    script = f"#!/bin/sh\n: > {shlex.quote(str(called))}\necho 'fake_go must not run' >&2\nexit 99\n"
    executable(fakebin / FAKE_GO, script)
    root = tmp_path / "cache"
    entry = lookup("1.18.2")
    (version_dir(root, entry.version) / "bin").mkdir(parents=True)
    (version_dir(root, entry.version) / BUILD_RECORD).write_text("{}\n")

    result = build(entry, root, go=FAKE_GO, environ={"PATH": str(fakebin)})

    assert result.built_now is False
    assert result.bin_dir == root / entry.version / "bin"
    assert result.seconds == 0.0
    assert not called.exists()


def test_already_built_needs_no_go_at_all(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    (root / "1.18.2").mkdir(parents=True)
    (root / "1.18.2" / BUILD_RECORD).write_text("{}\n")
    empty = tmp_path / "empty-path"
    empty.mkdir()
    result = build(lookup("1.18.2"), root, environ={"PATH": str(empty)})
    assert result.built_now is False


def test_proxy_refusing_the_tag_suggests_another_version(tmp_path: Path) -> None:
    entry = lookup("1.18.3")
    error = (
        "github.com/dapr/dapr@v1.18.3: reading https://proxy.golang.org/github.com/dapr/dapr/@v/v1.18.3.zip: "
        "403 Forbidden\n\tserver response: This module version is not available."
    )
    env = fake_go(tmp_path / "fakebin", goversion(entry.go) + download_error(error))
    root = tmp_path / "cache"

    with pytest.raises(BuildError, match="refused") as info:
        build(entry, root, go=FAKE_GO, environ=env)

    message = str(info.value)
    assert "Go module proxy refused" in message
    assert "This module version is not available." in message
    assert "Build 1.18.2 instead (--version 1.18.2)" in message
    assert "--dapr-bin-dir" in message
    assert not is_built(root, entry.version)


def test_proxy_refusing_suggests_a_served_version_from_another_line(tmp_path: Path) -> None:
    entry = lookup("1.17.13")  # every 1.17 entry is refused somewhere
    env = fake_go(tmp_path / "fakebin", goversion(entry.go) + download_error("403 Forbidden: not available"))
    with pytest.raises(BuildError, match="refused") as info:
        build(entry, tmp_path / "cache", go=FAKE_GO, environ=env)
    assert "Build 1.18.2 instead" in str(info.value)


def test_unreachable_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOPROXY", raising=False)
    entry = lookup("1.18.2")
    error = (
        'github.com/dapr/dapr@v1.18.2: Get "https://proxy.golang.org/github.com/dapr/dapr/@v/v1.18.2.info": '
        "dial tcp: lookup proxy.golang.org: no such host"
    )
    env = fake_go(tmp_path / "fakebin", goversion("1.26.5") + download_error(error))
    root = tmp_path / "cache"

    with pytest.raises(BuildError, match="cannot reach the Go module proxy") as info:
        build(entry, root, go=FAKE_GO, environ=env)

    assert "no such host" in str(info.value)
    assert "GOPROXY" in str(info.value)
    assert not is_built(root, entry.version)


def test_unreachable_proxy_reported_on_stderr_only(tmp_path: Path) -> None:
    cases = goversion("1.26.5") + (
        '"mod download") echo "go: github.com/dapr/dapr@v1.18.2: dial tcp 1.2.3.4:443: i/o timeout" >&2; exit 1 ;;\n'
    )
    env = fake_go(tmp_path / "fakebin", cases)
    with pytest.raises(BuildError, match="cannot reach the Go module proxy"):
        build(lookup("1.18.2"), tmp_path / "cache", go=FAKE_GO, environ=env)


def test_tag_go_line_differing_from_the_table_is_reported(tmp_path: Path) -> None:
    info = {"Path": "github.com/dapr/dapr", "Version": "v1.18.2", "GoMod": "/nonexistent/go.mod", "Dir": "/nonexistent"}
    cases = (
        goversion("1.26.5")
        + f'"mod download") printf "%s\\n" {shlex.quote(json.dumps(info))} ;;\n'
        + '"mod edit") echo \'{"Go": "1.25.0"}\' ;;\n'
    )
    env = fake_go(tmp_path / "fakebin", cases)
    with pytest.raises(BuildError, match="correct the table entry") as exc:
        build(lookup("1.18.2"), tmp_path / "cache", go=FAKE_GO, environ=env)
    assert "1.25.0" in str(exc.value)


def test_partial_directory_does_not_count_as_built(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    version = "1.18.2"
    partial_bin = root / f"{version}.partial" / "bin"
    partial_bin.mkdir(parents=True)
    for name in ("daprd", "scheduler"):
        executable(partial_bin / name, "#!/bin/sh\nexit 1\n")
    (root / f"{version}.partial" / BUILD_RECORD).write_text('{"printed_versions": {}}\n')

    assert not is_built(root, version)
    home = tmp_path / "home"
    home.mkdir()
    rows = binaries.candidates(version, root, home)
    assert not any(r.used for r in rows)
    assert binaries.locate(version, root, home) is None


# --- a whole build with fake go, fake daprd and fake scheduler ------------------------------------------------


class RecordingReporter:
    def __init__(self) -> None:
        self.steps: list[str] = []
        self.totals: dict[str, int] = {}
        self.compiled_packages: dict[str, list[str]] = {}

    def step(self, message: str) -> None:
        self.steps.append(message)

    def packages(self, binary: str, total: int) -> None:
        self.totals[binary] = total

    def compiled(self, binary: str, package: str) -> None:
        self.compiled_packages.setdefault(binary, []).append(package)


def _fake_build_env(tmp_path: Path, entry: DaprVersion, printed: str) -> dict[str, str]:
    """A fake go whose `go build -o OUT` copies a fake daprd / scheduler (printing ``printed``) to OUT."""
    templates = tmp_path / "templates"
    templates.mkdir()
    executable(templates / "daprd", f"#!/bin/sh\necho {printed}\n")
    banner = (
        f'time="2026-11-29T00:00:00Z" level=info msg="Starting Dapr Scheduler Service -- version {printed} -- commit x"'
    )
    executable(templates / "scheduler", f"#!/bin/sh\necho {shlex.quote(banner)}\nexec sleep 30\n")
    tag_dir = tmp_path / "modcache" / "dapr@tag"
    tag_dir.mkdir(parents=True)
    (tag_dir / "go.sum").write_text("github.com/dapr/kit v0.16.1 h1:fake=\n")
    info = {"Path": "github.com/dapr/dapr", "Version": entry.tag, "GoMod": str(tag_dir / "go.mod"), "Dir": str(tag_dir)}
    go_mod = {
        "Go": entry.go,
        "Replace": [{"Old": {"Path": "example.com/old"}, "New": {"Path": "example.com/new", "Version": "v1.0.0"}}],
    }
    cases = (
        goversion(entry.go)
        + f'"mod download") printf "%s\\n" {shlex.quote(json.dumps(info))} ;;\n'
        + f'"mod edit") printf "%s\\n" {shlex.quote(json.dumps(go_mod))} ;;\n'
        + list_and_build(templates)
    )
    return fake_go(tmp_path / "fakebin", cases)


def test_whole_build_with_fakes(tmp_path: Path) -> None:
    entry = lookup("1.18.2")
    env = _fake_build_env(tmp_path, entry, entry.version)
    root = tmp_path / "cache"
    reporter = RecordingReporter()

    result = build(entry, root, reporter, go=FAKE_GO, environ=env)

    assert result.built_now is True
    assert result.bin_dir == root / entry.version / "bin"
    assert is_built(root, entry.version)
    assert not (root / f"{entry.version}.partial").exists()
    record = json.loads((root / entry.version / BUILD_RECORD).read_text())
    assert record["version"] == entry.version
    assert record["commit"] == entry.commit
    assert record["go"] == f"go{entry.go}"
    assert record["printed_versions"] == {"daprd": entry.version, "scheduler": entry.version}
    work = root / f"{entry.version}.work"
    go_mod = (work / "go.mod").read_text()
    assert f"require github.com/dapr/dapr {entry.tag}" in go_mod
    assert "example.com/old => example.com/new v1.0.0" in go_mod
    assert (work / "go.sum").read_text() == "github.com/dapr/kit v0.16.1 h1:fake=\n"
    assert reporter.totals == {"scheduler": 3, "daprd": 3}
    assert reporter.compiled_packages == {"scheduler": ["example.com/a"], "daprd": ["example.com/a"]}

    # building again is a no-op; the cache is now what binaries.locate finds
    assert build(entry, root, go=FAKE_GO, environ=env).built_now is False
    home = tmp_path / "home"
    home.mkdir()
    found = binaries.locate(entry.version, root, home)
    assert found is not None
    assert found.source == binaries.SOURCE_CACHE
    assert found.daprd == result.bin_dir / "daprd"


def test_build_whose_binaries_print_another_version_is_not_kept(tmp_path: Path) -> None:
    entry = lookup("1.18.2")
    env = _fake_build_env(tmp_path, entry, "1.18.1")
    root = tmp_path / "cache"
    with pytest.raises(BuildError, match="ldflags") as info:
        build(entry, root, go=FAKE_GO, environ=env)
    assert "'1.18.1'" in str(info.value)
    assert not is_built(root, entry.version)
    assert not (root / entry.version).exists()
