"""toolchain.coredns with a FAKE `go` (tests/unit/fake_go.py) and a FAKE coredns: no network, no real Go.

The fake go answers `go mod download -json` with CoreDNS's tag, `go mod edit -json` with a go.mod JSON file,
`go list -deps` with three packages, and `go build -o OUT` by copying a FAKE coredns whose `-version` and
`-plugins` print what each test says."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.unit.fake_go import FAKE_GO, executable, fake_go, goversion, list_and_build
from tests.unit.test_dapr_build import RecordingReporter
from toolchain import coredns
from toolchain.build import BUILD_RECORD, is_built, shown
from toolchain.gocmd import BuildError

IMPORTED = ("metadata", "prometheus", "transfer")  # what the real build also lists: our plugins import them


def plugins_output(names: tuple[str, ...]) -> str:
    """As the real `coredns -plugins` prints them: one name a line, sorted."""
    return "".join(f"{n}\n" for n in sorted(names))


def _env(
    tmp_path: Path,
    *,
    version_line: str = "CoreDNS-1.15.0",
    plugins: tuple[str, ...] = (*coredns.PLUGINS, *IMPORTED),
    go_mod: Mapping[str, object] | None = None,
) -> dict[str, str]:
    templates = tmp_path / "templates"
    templates.mkdir()
    fake_binary = (
        "#!/bin/sh\n# FAKE coredns\n"
        f'case "$1" in\n  -version) printf "%s\\n" {shlex.quote(version_line)} "linux/amd64, go1.26.8, " ;;\n'
        f'  -plugins) printf "%s" {shlex.quote(plugins_output(plugins))} ;;\n  *) exit 2 ;;\nesac\n'
    )
    executable(templates / "coredns", fake_binary)
    tag_dir = tmp_path / "modcache" / "coredns@v1.15.0"
    tag_dir.mkdir(parents=True)
    (tag_dir / "go.sum").write_text("github.com/miekg/dns v1.1.73 h1:fake=\n")
    (tag_dir / "go.mod.json").write_text(json.dumps(dict(go_mod or {"Go": coredns.GO})))
    info = {"Path": coredns.MODULE, "Version": "v1.15.0", "GoMod": str(tag_dir / "go.mod.json"), "Dir": str(tag_dir)}
    cases = (
        goversion("1.26.8")
        + f'"mod download") printf "%s\\n" {shlex.quote(json.dumps(info))} ;;\n'
        + '"mod edit") cat "$4" ;;\n'
        + list_and_build(templates)
    )
    return fake_go(tmp_path / "fakebin", cases)


def test_builds_our_main_with_only_the_plugins_then_is_a_no_op(tmp_path: Path) -> None:
    root = tmp_path / "kube"
    reporter = RecordingReporter()
    result = coredns.build(root, reporter, go=FAKE_GO, environ=_env(tmp_path))
    assert result.built_now
    assert result.bin_dir / "coredns" == coredns.binary_path(root)
    assert coredns.binary_path(root).is_file()
    work = root / "coredns-1.15.0.work"
    go_mod = (work / "go.mod").read_text()
    assert "require github.com/coredns/coredns v1.15.0" in go_mod and "go 1.26.0" in go_mod
    assert (work / "go.sum").read_text().startswith("github.com/miekg/dns")  # the tag's go.sum seeds ours
    main = (work / "main.go").read_text()
    imported = sorted(line.split('"')[1].rsplit("/", 1)[1] for line in main.splitlines() if "/plugin/" in line)
    assert imported == sorted(coredns.PLUGINS)
    assert "core/plugin" not in main and "forward" not in main
    record = json.loads((root / "coredns-1.15.0" / BUILD_RECORD).read_text())
    assert record["printed_version"] == "CoreDNS-1.15.0"
    assert record["packages"] == 3 and record["plugins"] == list(coredns.PLUGINS)
    assert reporter.totals == {"coredns": 3}
    again = coredns.build(root, go="no-such-go-anywhere", environ={"PATH": "/nonexistent"})
    assert not again.built_now and again.seconds == 0.0


@pytest.mark.parametrize("sender", coredns.SENDERS)
def test_a_binary_that_could_forward_is_refused_and_not_marked_built(tmp_path: Path, sender: str) -> None:
    env = _env(tmp_path, plugins=(*coredns.PLUGINS, sender))
    with pytest.raises(BuildError, match=f"has \\['{sender}'\\], which send queries off the machine"):
        coredns.build(tmp_path / "kube", go=FAKE_GO, environ=env)
    assert not is_built(tmp_path / "kube", coredns.build_name())


def test_a_binary_lacking_one_of_our_plugins_is_refused(tmp_path: Path) -> None:
    env = _env(tmp_path, plugins=tuple(p for p in coredns.PLUGINS if p != "kubernetes"))
    with pytest.raises(BuildError, match="lacks the plugins \\['kubernetes'\\]"):
        coredns.build(tmp_path / "kube", go=FAKE_GO, environ=env)


def test_a_binary_of_another_version_is_refused(tmp_path: Path) -> None:
    env = _env(tmp_path, version_line="CoreDNS-1.14.9")
    with pytest.raises(BuildError, match=r"does not say version 1\.15\.0"):
        coredns.build(tmp_path / "kube", go=FAKE_GO, environ=env)
    assert not coredns.built(tmp_path / "kube")


def test_a_tag_with_replace_directives_is_refused(tmp_path: Path) -> None:
    go_mod = {"Go": coredns.GO, "Replace": [{"Old": {"Path": "a.example/x"}, "New": {"Path": "./x"}}]}
    with pytest.raises(BuildError, match="replace directives"):
        coredns.build(tmp_path / "kube", go=FAKE_GO, environ=_env(tmp_path, go_mod=go_mod))


def test_a_go_older_than_the_tags_go_line_is_named(tmp_path: Path) -> None:
    env = fake_go(tmp_path / "fakebin", goversion("1.25.4"))
    with pytest.raises(BuildError, match=r"Go 1\.25\.4 is too old: CoreDNS 1\.15\.0 needs Go 1\.26\.0"):
        coredns.build(tmp_path / "kube", go=FAKE_GO, environ=env)


def test_plugins_listed_reads_one_name_a_line() -> None:
    assert coredns.plugins_listed("cache\nkubernetes\n\n") == {"cache", "kubernetes"}
    assert coredns.plugins_listed("") == set()


def test_classify_names_the_cause() -> None:
    assert "refused" in str(coredns.classify("reading ...: 403 Forbidden", "1.15.0"))
    assert "cannot reach" in str(coredns.classify("dial tcp: lookup proxy.golang.org: no such host", "1.15.0"))
    assert "go build of coredns failed" in str(coredns.classify("boom", "1.15.0", what="go build of coredns"))


class SaidDisplay:
    """Records what a build says; its reporter records progress."""

    def __init__(self) -> None:
        self.said: list[str] = []
        self.reporter = RecordingReporter()

    def say(self, message: str) -> None:
        self.said.append(message)

    @contextmanager
    def building(self) -> Iterator[RecordingReporter]:
        yield self.reporter


def test_build_with_progress_says_what_it_builds_then_how_long_and_nothing_when_built(tmp_path: Path) -> None:
    root, display = tmp_path / "kube", SaidDisplay()
    env = _env(tmp_path)
    built_now = shown(
        display,
        "CoreDNS 1.15.0",
        coredns.MODULE,
        coredns.binary_path(root),
        coredns.built(root),
        lambda rep: coredns.build(root, rep, go=FAKE_GO, environ=env),
    )
    assert built_now == coredns.binary_path(root)
    assert display.said[0] == f"Building CoreDNS 1.15.0 from {coredns.MODULE} into {root / 'coredns-1.15.0'}"
    assert display.said[1].startswith("CoreDNS 1.15.0 built in ") and display.said[1].endswith(str(built_now))
    assert display.reporter.totals == {"coredns": 3}
    again = SaidDisplay()
    assert coredns.build_with_progress(root, again) == built_now
    assert again.said == []
