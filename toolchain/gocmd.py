"""Running the Go toolchain for a build: its environment, the installed Go checked, a command run, a build streamed.

Shared by every build onceonly does from Go modules (Dapr in ``toolchain.build``, the Kubernetes control plane in
``toolchain.kube_build``, the fault proxy in ``toolchain.toxiproxy``). Go runs with ``GOTOOLCHAIN=local`` (it never
downloads a toolchain), ``CGO_ENABLED=0`` and ``-mod=mod`` (a wrapper module's go.sum is completed as it resolves).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

UNREACHABLE_MARKERS = ("dial tcp", "no such host", "connection refused", "i/o timeout", "TLS handshake timeout")
REFUSED_MARKERS = ("403 Forbidden", "not available")


class BuildError(RuntimeError):
    """A build could not be done; the message says what is wrong and what to do."""


class BuildReporter(Protocol):
    """Receives progress from a build. The CLI draws it with rich; tests pass ``NullReporter``."""

    def step(self, message: str) -> None: ...

    def packages(self, binary: str, total: int) -> None: ...

    def compiled(self, binary: str, package: str) -> None: ...


class NullReporter:
    def step(self, message: str) -> None:
        pass

    def packages(self, binary: str, total: int) -> None:
        pass

    def compiled(self, binary: str, package: str) -> None:
        pass


Classify = Callable[[str], BuildError]  # the text Go printed -> the error that names the cause and the fix


def go_env(environ: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(environ if environ is not None else os.environ)
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="-mod=mod")
    return env


def go_tuple(version: str) -> tuple[int, ...]:
    nums = re.findall(r"\d+", version.removeprefix("go"))
    return tuple(int(n) for n in nums[:3])


def installed_go(go: str, needed: str, what: str, fix: str, environ: Mapping[str, str] | None) -> str:
    """The path of ``go`` when it is at least Go ``needed``; else a ``BuildError`` naming ``what`` needs it.

    ``fix`` ends both messages: what else the user can do (e.g. pass binaries they have).
    """
    go_bin = shutil.which(go, path=(environ or os.environ).get("PATH"))
    if go_bin is None:
        raise BuildError(
            f"Go is not installed (no {go!r} on PATH). {what} needs Go {needed} or newer: "
            f"install it from go.dev/dl or your distribution, or {fix}."
        )
    have = run_go(go_bin, ["env", "GOVERSION"], None, go_env(environ)).strip()
    if go_tuple(have) < go_tuple(needed):
        raise BuildError(
            f"Go {have.removeprefix('go')} is too old: {what} needs Go {needed} or newer. Install a newer Go "
            f"(onceonly builds with GOTOOLCHAIN=local and never downloads one), or {fix}."
        )
    return go_bin


def run_go(
    go_bin: str, args: list[str], cwd: Path | None, env: dict[str, str], classify: Classify | None = None
) -> str:
    """``go ARGS``'s stdout; a failure raises ``classify(text)`` when given, else a ``BuildError`` quoting Go."""
    proc = subprocess.run([go_bin, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    # `go mod download -json` reports a refused module inside its JSON and exits 1; let the caller read it.
    if proc.returncode != 0 and not (args[:2] == ["mod", "download"] and proc.stdout.strip()):
        text = proc.stderr or proc.stdout
        if classify is not None:
            raise classify(text)
        raise BuildError(f"`go {' '.join(args)}` failed:\n{last_lines(text, 15)}")
    return proc.stdout


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A module at a tag as the module proxy serves it."""

    go_mod_json: str  # `go mod edit -json` of the tag's go.mod: its go line, requires, replaces
    directory: Path  # its source, extracted in Go's module cache (the tag's go.sum is there)


def download(go_bin: str, module: str, tag: str, env: dict[str, str], classify: Classify) -> Downloaded:
    """``go mod download -json MODULE@TAG`` and its go.mod parsed by ``go mod edit -json``; a refusal is classified."""
    info = json.loads(run_go(go_bin, ["mod", "download", "-json", f"{module}@{tag}"], None, env, classify))
    if info.get("Error"):
        raise classify(str(info["Error"]))
    return Downloaded(run_go(go_bin, ["mod", "edit", "-json", info["GoMod"]], None, env), Path(info["Dir"]))


def write_wrapper(work: Path, go_mod: str, tag: Downloaded) -> None:
    """A wrapper module in ``work``: ``go_mod``, and the tag's go.sum to seed its go.sum.

    The checksum database behind a proxy does not answer for every module a release pins, and the release's own
    checksums are the ones that must match anyway (toolchain/wrapper.py says more).
    """
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.mod").write_text(go_mod)
    tag_sum = tag.directory / "go.sum"
    if tag_sum.is_file():
        (work / "go.sum").write_text(tag_sum.read_text())


def stream_build(go_bin: str, args: list[str], work: Path, env: dict[str, str], name: str, rep: BuildReporter) -> str:
    """Run ``go build -v ARGS`` in ``work``, each compiled package to ``rep``; '' on success, else Go's last lines."""
    tail: list[str] = []
    command = [go_bin, "build", "-v", *args]
    with subprocess.Popen(
        command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            if _PACKAGE_LINE.match(line):
                rep.compiled(name, line)
            else:
                tail = [*tail[-40:], line]
        code = proc.wait()
    return "" if code == 0 else "\n".join(tail) or f"go build exited {code}"


_PACKAGE_LINE = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-~+]+)*$")


def is_refusal(text: str) -> bool:
    return any(marker in text for marker in REFUSED_MARKERS)


def is_unreachable(text: str) -> bool:
    return any(marker in text for marker in UNREACHABLE_MARKERS)


def unreachable_error(text: str, also: str = "") -> BuildError:
    """The proxy could not be reached: Go's last lines, GOPROXY as set, and the fix (``also`` adds one)."""
    proxy = os.environ.get("GOPROXY", "https://proxy.golang.org,direct")
    return BuildError(
        f"cannot reach the Go module proxy (GOPROXY={proxy}):\n{last_lines(text)}\n"
        f"Check the network or set GOPROXY to a proxy you can reach{also}."
    )


def last_lines(text: str, n: int = 6) -> str:
    return "\n".join("  " + ln for ln in text.strip().splitlines()[-n:])


@contextmanager
def locked(path: Path) -> Iterator[None]:
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
