"""The wrapper Go module: parsing the tag's go.mod, rendering the wrapper's go.mod, the version-stamping ldflags."""

from __future__ import annotations

import itertools
import json

from toolchain.versions import lookup
from toolchain.wrapper import MODULE, Replace, TagModule, ldflags, parse_go_mod_json, render_go_mod

# The shape `go mod edit -json go.mod` prints (trimmed): Old.Version is present only for versioned replaces.
GO_MOD_JSON = json.dumps(
    {
        "Module": {"Path": "github.com/dapr/dapr"},
        "Go": "1.26.5",
        "Require": [
            {"Path": "github.com/dapr/kit", "Version": "v0.16.1"},
            {"Path": "github.com/apache/pulsar-client-go", "Version": "v0.14.0", "Indirect": True},
        ],
        "Exclude": None,
        "Replace": [
            {
                "Old": {"Path": "github.com/apache/pulsar-client-go", "Version": "v0.14.0"},
                "New": {"Path": "github.com/twmb/pulsar-client-go", "Version": "v0.14.1"},
            },
            {
                "Old": {"Path": "gopkg.in/couchbase/gocbcore.v7"},
                "New": {"Path": "github.com/couchbase/gocbcore/v7", "Version": "v7.1.18"},
            },
        ],
        "Retract": None,
        "Tool": None,
        "Ignore": None,
    },
    indent="\t",
)


def test_parse_go_mod_json_reads_go_line_and_replaces() -> None:
    module = parse_go_mod_json(GO_MOD_JSON)
    assert module.go == "1.26.5"
    assert module.replaces == (
        Replace(
            old_path="github.com/apache/pulsar-client-go",
            old_version="v0.14.0",
            new_path="github.com/twmb/pulsar-client-go",
            new_version="v0.14.1",
        ),
        Replace(
            old_path="gopkg.in/couchbase/gocbcore.v7",
            old_version=None,
            new_path="github.com/couchbase/gocbcore/v7",
            new_version="v7.1.18",
        ),
    )


def test_parse_go_mod_json_without_replace() -> None:
    assert parse_go_mod_json('{"Module": {"Path": "m"}, "Go": "1.24.6"}') == TagModule(go="1.24.6", replaces=())
    assert parse_go_mod_json('{"Go": "1.24.6", "Replace": null}').replaces == ()


def test_replace_render() -> None:
    assert Replace("a.com/x", "v1.0.0", "b.com/y", "v1.0.1").render() == "a.com/x v1.0.0 => b.com/y v1.0.1"
    assert Replace("a.com/x", None, "b.com/y", "v1.0.1").render() == "a.com/x => b.com/y v1.0.1"
    assert Replace("a.com/x", None, "../local", None).render() == "a.com/x => ../local"


def test_render_go_mod_has_go_line_require_and_every_replace() -> None:
    entry = lookup("1.18.2")
    module = parse_go_mod_json(GO_MOD_JSON)
    text = render_go_mod(entry, module)
    lines = [ln.strip() for ln in text.splitlines()]

    assert text.endswith("\n")
    assert "go 1.26.5" in lines
    assert f"require {MODULE} v1.18.2" in lines
    assert "require github.com/dapr/dapr v1.18.2" in lines
    assert "github.com/apache/pulsar-client-go v0.14.0 => github.com/twmb/pulsar-client-go v0.14.1" in lines
    assert "gopkg.in/couchbase/gocbcore.v7 => github.com/couchbase/gocbcore/v7 v7.1.18" in lines
    assert "replace (" in lines
    assert lines.index("replace (") < lines.index(")")
    assert len([ln for ln in lines if "=>" in ln]) == len(module.replaces)
    assert any(ln.startswith("module ") for ln in lines)


def test_render_go_mod_without_replaces_has_no_replace_block() -> None:
    text = render_go_mod(lookup("1.16.0"), TagModule(go="1.24.6", replaces=()))
    assert "go 1.24.6" in text.splitlines()
    assert "require github.com/dapr/dapr v1.16.0" in text.splitlines()
    assert "replace" not in text


def _stamps(flags: str) -> dict[str, str]:
    tokens = flags.split()
    stamps: dict[str, str] = {}
    for flag, value in itertools.pairwise(tokens):
        if flag == "-X":
            key, _, val = value.partition("=")
            stamps[key] = val
    return stamps


def test_ldflags_stamp_the_version_like_the_release_build() -> None:
    entry = lookup("1.18.2")
    flags = ldflags(entry)
    assert flags.split()[:2] == ["-s", "-w"]
    assert _stamps(flags) == {
        "github.com/dapr/dapr/pkg/buildinfo.version": "1.18.2",
        "github.com/dapr/dapr/pkg/buildinfo.gitversion": "v1.18.2",
        "github.com/dapr/dapr/pkg/buildinfo.gitcommit": "d2dd3747145e38e4d85db4714e26d7569c9c37db",
        "github.com/dapr/kit/logger.DaprVersion": "1.18.2",
    }
    assert entry.commit in flags
