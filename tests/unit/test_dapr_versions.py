"""The table of Dapr versions: lookup, the default, the alternatives suggested when the proxy refuses a tag."""

from __future__ import annotations

import re

import pytest

from toolchain.versions import (
    DEFAULT_VERSION,
    SUPPORTED,
    DaprVersion,
    UnknownVersionError,
    lookup,
    served_alternative,
)


@pytest.mark.parametrize("version", sorted(SUPPORTED))
def test_lookup_finds_every_entry_with_and_without_v(version: str) -> None:
    entry = lookup(version)
    assert entry.version == version
    assert lookup(f"v{version}") is entry
    assert entry.tag == f"v{version}"


def test_lookup_of_unknown_version_lists_known_versions_and_names_the_table() -> None:
    with pytest.raises(UnknownVersionError) as info:
        lookup("v9.9.9")
    message = str(info.value)
    assert "9.9.9" in message
    for version in SUPPORTED:
        assert version in message
    assert "toolchain/versions.py" in message


def test_unknown_version_error_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        lookup("1.18")


def test_default_version_is_supported() -> None:
    assert DEFAULT_VERSION in SUPPORTED
    assert lookup(DEFAULT_VERSION).version == DEFAULT_VERSION


def test_default_version_is_not_known_to_be_refused() -> None:
    assert lookup(DEFAULT_VERSION).refused == ""


@pytest.mark.parametrize("entry", list(SUPPORTED.values()), ids=list(SUPPORTED))
def test_every_entry_is_well_formed(entry: DaprVersion) -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", entry.go), entry.go
    assert re.fullmatch(r"\d+\.\d+\.\d+", entry.version), entry.version
    assert SUPPORTED[entry.version] is entry
    assert re.fullmatch(r"[0-9a-f]*", entry.commit), entry.commit


def test_line_is_the_minor_line() -> None:
    assert lookup("1.18.3").line == "1.18"
    assert lookup("1.17.13").line == "1.17"


def test_served_alternative_prefers_the_same_minor_line() -> None:
    alt = served_alternative(lookup("1.18.3"))
    assert alt is not None
    assert alt.version == "1.18.2"

    alt = served_alternative(lookup("1.16.19"))
    assert alt is not None
    assert alt.version == "1.16.0"


def test_served_alternative_falls_back_to_the_newest_served_version() -> None:
    # every 1.17 entry is refused, so the suggestion leaves the line: the newest served version overall
    entry = lookup("1.17.13")
    assert all(v.refused for v in SUPPORTED.values() if v.line == entry.line)
    alt = served_alternative(entry)
    assert alt is not None
    newest_served = max(
        (v for v in SUPPORTED.values() if not v.refused),
        key=lambda v: tuple(int(p) for p in v.version.split(".")),
    )
    assert alt == newest_served


@pytest.mark.parametrize("entry", list(SUPPORTED.values()), ids=list(SUPPORTED))
def test_served_alternative_is_never_refused_nor_the_entry_itself(entry: DaprVersion) -> None:
    alt = served_alternative(entry)
    assert alt is not None
    assert alt.refused == ""
    assert alt != entry


@pytest.mark.parametrize(
    ("version", "stable"),
    [("1.18.3", True), ("1.18.2", True), ("1.17.13", False), ("1.17.0", False), ("1.16.19", False), ("1.16.0", False)],
)
def test_uses_stable_jobs_api(version: str, stable: bool) -> None:
    assert lookup(version).uses_stable_jobs_api is stable


def test_uses_stable_jobs_api_for_later_releases_not_in_the_table() -> None:
    assert DaprVersion("1.19.0", "", "1.27.0").uses_stable_jobs_api
    assert DaprVersion("2.0.0", "", "1.27.0").uses_stable_jobs_api
    assert not DaprVersion("1.15.4", "", "1.24.0").uses_stable_jobs_api
