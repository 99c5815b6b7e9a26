"""The Dapr versions onceonly knows how to build: one entry per version, nothing else.

Adding a version is one line in ``SUPPORTED``: the release tag (without ``v``), the commit the tag points at
(stamped into the binaries as the release build does) and the ``go`` line of that tag's ``go.mod`` (checked
before anything is downloaded, so a too-old Go is reported up front). The replace blocks are not copied here:
the wrapper module takes them from the tag's own ``go.mod`` when it is rendered (see ``toolchain.wrapper``).

``refused`` records what the Go module proxy our machines reach refused for that tag when we last tried
(403 "This module version is not available", 2026-11-29). It is information for error messages, not a switch:
onceonly still tries, so the build works wherever the proxy serves the tag. Because 1.18.3 itself cannot be
built here, the default is the newest 1.18 release that can (1.18.2); one line changes it back.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DaprVersion:
    """One Dapr release that onceonly can build from Go modules."""

    version: str  # "1.18.3": the tag without its leading "v"
    commit: str  # full commit hash of the tag, stamped as buildinfo.gitcommit
    go: str  # the tag's go.mod "go" line: the oldest Go toolchain that builds it
    refused: str = ""  # what the module proxy refused for this tag when last tried (see module docstring)

    @property
    def tag(self) -> str:
        return f"v{self.version}"

    @property
    def line(self) -> str:
        """The minor line, "1.18" for 1.18.3."""
        return ".".join(self.version.split(".")[:2])

    @property
    def uses_stable_jobs_api(self) -> bool:
        """`/v1.0/jobs` exists from 1.18 on; earlier releases only have `/v1.0-alpha1/jobs`."""
        major, minor = (int(p) for p in self.version.split(".")[:2])
        return (major, minor) >= (1, 18)


# 1.18.3 is the release the project targets; 1.18.2 is the newest 1.18 our module proxy serves whole.
DEFAULT_VERSION = "1.18.2"

_DURABLETASK = "github.com/dapr/durabletask-go"
_CONTRIB = "github.com/dapr/components-contrib"
_CRON = "github.com/diagridio/go-etcd-cron"

SUPPORTED: dict[str, DaprVersion] = {
    v.version: v
    for v in (
        DaprVersion(
            "1.18.3",
            "2dcf2e3548faf3c740b3d29ee300e2132db65cff",
            "1.26.6",
            refused=f"{_DURABLETASK}@v0.12.4, github.com/iskorotkov/avro/v2@v2.33.1, "
            "github.com/twmb/pulsar-client-go (the pulsar replace target)",
        ),
        DaprVersion("1.18.2", "d2dd3747145e38e4d85db4714e26d7569c9c37db", "1.26.5"),
        DaprVersion("1.17.13", "c09a7f934d2f", "1.26.6", refused="github.com/dapr/dapr@v1.17.13 itself"),
        DaprVersion(
            "1.17.11",
            "d2efab9063a9f23312e22afa2bcb548b6a1f589e",
            "1.26.4",
            refused=f"{_CONTRIB}@v1.17.7, {_DURABLETASK}@v0.11.5",
        ),
        DaprVersion("1.17.0", "", "1.24.13", refused=f"{_CONTRIB}@v1.17.0, {_CRON}@v0.12.4"),
        DaprVersion("1.16.19", "035274a88581", "1.25.13", refused="github.com/dapr/dapr@v1.16.19 itself"),
        DaprVersion("1.16.5", "f167add0ab641afa210d61771820d0d178bc41ae", "1.24.11", refused=f"{_CRON}@v0.9.2"),
        DaprVersion("1.16.0", "b68296042c975d4ede1ed93ec6b0a579c2b6a020", "1.24.6"),
    )
}


class UnknownVersionError(LookupError):
    """Raised for a version that has no entry in ``SUPPORTED``."""


def lookup(version: str) -> DaprVersion:
    """The table entry for ``version`` ("1.18.3" or "v1.18.3").

    Raises:
        UnknownVersionError: the version is not in the table; the message lists the ones that are.
    """
    key = version.removeprefix("v")
    try:
        return SUPPORTED[key]
    except KeyError:
        known = ", ".join(SUPPORTED)
        raise UnknownVersionError(
            f"unknown Dapr version {version!r}: onceonly can build {known}. "
            "To add a release, add one DaprVersion entry to toolchain/versions.py."
        ) from None


def served_alternative(entry: DaprVersion) -> DaprVersion | None:
    """The newest version not known to be refused, preferring the same minor line, for an error message."""

    def key(v: DaprVersion) -> tuple[int, ...]:
        return tuple(int(p) for p in v.version.split("."))

    served = [v for v in SUPPORTED.values() if not v.refused and v != entry]
    same_line = [v for v in served if v.line == entry.line]
    return max(same_line or served, key=key, default=None)
