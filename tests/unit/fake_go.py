"""A FAKE `go` for the build tests (toolchain.build, toolchain.kube_build): a shell script in tmp_path that answers
only the sub-commands a build runs. No network, no real Go."""

from __future__ import annotations

import json
import shlex
import stat
from pathlib import Path

FAKE_GO = "fake_go"  # the name build() looks up on PATH via its go= argument; never the real go


def executable(path: Path, script: str) -> Path:
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def fake_go(directory: Path, cases: str) -> dict[str, str]:
    """Write ``fake_go`` into ``directory`` (a `case "$1 $2"` body) and return an environ that finds it first."""
    directory.mkdir(parents=True, exist_ok=True)
    script = (
        "#!/bin/sh\n"
        "# FAKE go for unit tests: answers only the sub-commands toolchain.build runs.\n"
        'case "$1 $2" in\n'
        f"{cases}"
        '*) echo "fake_go: unexpected call: $*" >&2; exit 97 ;;\n'
        "esac\n"
    )
    executable(directory / FAKE_GO, script)
    return {"PATH": f"{directory}:/usr/bin:/bin"}


def goversion(version: str) -> str:
    return f'"env GOVERSION") echo go{version} ;;\n'


def download_error(error: str) -> str:
    """`go mod download -json` as it reports a module it could not fetch: JSON with "Error" on stdout, exit 1."""
    info = {"Path": "github.com/dapr/dapr", "Version": "v0.0.0", "Error": error}
    return f'"mod download") printf "%s\\n" {shlex.quote(json.dumps(info, indent=2))}; exit 1 ;;\n'


def list_and_build(templates: Path) -> str:
    """`go list -deps` answering three packages; `go build -v -o OUT` printing one package and some chatter, then
    copying ``templates/<basename of OUT>`` (a fake binary) to OUT."""
    return (
        '"list -deps") echo example.com/a; echo example.com/b; echo example.com/c ;;\n'
        + '"build -v")\n'
        + '  out=""; prev=""\n'
        + '  for a in "$@"; do [ "$prev" = "-o" ] && out="$a"; prev="$a"; done\n'
        + "  echo example.com/a\n"
        + "  echo 'fake_go: some compiler chatter'\n"
        + f'  cp {shlex.quote(str(templates))}/"$(basename "$out")" "$out" ;;\n'
    )
