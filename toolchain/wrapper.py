"""The wrapper Go module: the smallest module from which Dapr's own main packages can be built.

``go install github.com/dapr/dapr/cmd/daprd@vX`` is refused because dapr's go.mod has ``replace`` directives
(docs/dapr-facts.md §1). So onceonly renders, per version, a module that requires
``github.com/dapr/dapr`` at the tag, with that tag's ``go`` line and its replace directives, and builds
``github.com/dapr/dapr/cmd/daprd`` and ``.../cmd/scheduler`` from it: upstream code untouched, no main package of
our own. The replace directives are read from the tag's go.mod as the module proxy serves it (``go mod edit
-json``), never typed in by hand, so they cannot drift from the release.

The tag's ``go.sum`` seeds the wrapper's go.sum: the checksum database behind our proxy does not answer for
every module the release pins (``github.com/diagridio/go-etcd-cron v0.12.7`` gets a 404 from the sumdb lookup,
seen 2026-11-29), and the release's own checksums are the ones that must match anyway.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from toolchain.versions import DaprVersion

MODULE = "github.com/dapr/dapr"
DAPRD_PACKAGE = f"{MODULE}/cmd/daprd"
SCHEDULER_PACKAGE = f"{MODULE}/cmd/scheduler"
# daprd's components package panics at init unless one of its build tags is set (v1.18.3:
# cmd/daprd/components/zz_notag.go); stablecomponents registers cron, state.redis and pubsub.redis.
DAPRD_TAGS = "stablecomponents"


@dataclass(frozen=True, slots=True)
class Replace:
    old_path: str
    old_version: str | None
    new_path: str
    new_version: str | None

    def render(self) -> str:
        old = f"{self.old_path} {self.old_version}" if self.old_version else self.old_path
        new = f"{self.new_path} {self.new_version}" if self.new_version else self.new_path
        return f"{old} => {new}"


@dataclass(frozen=True, slots=True)
class TagModule:
    """What the wrapper needs from the tag's go.mod."""

    go: str
    replaces: tuple[Replace, ...]
    requires: frozenset[str] = frozenset()  # the paths of the modules it requires


def parse_go_mod_json(text: str) -> TagModule:
    """Parse the output of ``go mod edit -json <tag go.mod>``."""
    data: dict[str, Any] = json.loads(text)
    replaces = tuple(
        Replace(
            old_path=r["Old"]["Path"],
            old_version=r["Old"].get("Version"),
            new_path=r["New"]["Path"],
            new_version=r["New"].get("Version"),
        )
        for r in data.get("Replace") or ()
    )
    requires = frozenset(str(r["Path"]) for r in data.get("Require") or ())
    return TagModule(go=str(data["Go"]), replaces=replaces, requires=requires)


def render_go_mod(entry: DaprVersion, tag_module: TagModule) -> str:
    """The wrapper's go.mod for ``entry``."""
    lines = [
        "// Rendered by onceonly (toolchain/wrapper.py). Builds Dapr's own cmd/daprd and cmd/scheduler at one tag.",
        "module example.invalid/onceonly-daprbuild",
        "",
        f"go {tag_module.go}",
        "",
        f"require {MODULE} {entry.tag}",
    ]
    if tag_module.replaces:
        lines += ["", f"// replace directives of {MODULE}@{entry.tag}'s go.mod", "replace ("]
        lines += [f"\t{r.render()}" for r in tag_module.replaces]
        lines.append(")")
    return "\n".join(lines) + "\n"


def ldflags(entry: DaprVersion) -> str:
    """Linker flags that stamp the version the way Dapr's release build does (v1.18.3:Makefile l.154-160)."""
    stamps = {
        f"{MODULE}/pkg/buildinfo.version": entry.version,
        f"{MODULE}/pkg/buildinfo.gitversion": entry.tag,
        f"{MODULE}/pkg/buildinfo.gitcommit": entry.commit,
        "github.com/dapr/kit/logger.DaprVersion": entry.version,
    }
    return " ".join(["-s", "-w", *(f"-X {k}={v}" for k, v in stamps.items())])
