"""Build daprd and scheduler of one Dapr version from Go modules into a per-version cache.

Layout of the cache (``<root>`` is ``$XDG_CACHE_HOME/onceonly/dapr`` by default)::

    <root>/<version>/bin/daprd, bin/scheduler, build.json   a finished build (build.json is written last)
    <root>/<version>.work/                                    the wrapper module (go.mod, go.sum)
    <root>/<version>.partial/                                 a build in progress; never read as a result
    <root>/<version>.lock                                     flock held while building

A build goes into ``.partial`` and is renamed to ``<version>`` only after both binaries exist and print the
expected version, so an interrupted build never counts as built. Building a version that is built is a no-op.
Go's own module and build caches are shared, so a rebuild after ``rm -rf <root>/<version>`` is fast.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from toolchain import probe, wrapper
from toolchain.versions import DaprVersion, served_alternative

BUILD_RECORD = "build.json"


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


@dataclass(frozen=True, slots=True)
class BuildResult:
    bin_dir: Path
    built_now: bool  # False: it was already in the cache
    seconds: float


def version_dir(root: Path, version: str) -> Path:
    return root / version


def is_built(root: Path, version: str) -> bool:
    return (version_dir(root, version) / BUILD_RECORD).is_file()


def build(
    entry: DaprVersion,
    root: Path,
    reporter: BuildReporter | None = None,
    *,
    go: str = "go",
    environ: Mapping[str, str] | None = None,
) -> BuildResult:
    """Build ``entry`` into ``root`` unless it is there already.

    Raises:
        BuildError: Go is missing or too old, the module proxy is unreachable or refuses the tag, or the
            Go build failed. The message names the cause and the fix.
    """
    rep = reporter or NullReporter()
    started = time.monotonic()
    final = version_dir(root, entry.version)
    if is_built(root, entry.version):
        return BuildResult(final / "bin", built_now=False, seconds=0.0)

    go_bin = _check_go(go, entry, environ)
    root.mkdir(parents=True, exist_ok=True)
    with locked(root / f"{entry.version}.lock"):
        if is_built(root, entry.version):  # another process finished it while we waited
            return BuildResult(final / "bin", built_now=False, seconds=time.monotonic() - started)
        env = go_env(environ)
        work = root / f"{entry.version}.work"
        partial = root / f"{entry.version}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        (partial / "bin").mkdir(parents=True)

        rep.step(f"fetching github.com/dapr/dapr@{entry.tag} from the Go module proxy")
        _render_wrapper(go_bin, entry, work, env)

        for name, package, tags in (
            ("scheduler", wrapper.SCHEDULER_PACKAGE, ""),
            ("daprd", wrapper.DAPRD_PACKAGE, wrapper.DAPRD_TAGS),
        ):
            rep.step(f"resolving the packages of {name} (downloads modules on a cold machine)")
            rep.packages(name, _count_packages(go_bin, work, package, tags, env))
            rep.step(f"compiling {name}")
            _go_build(go_bin, work, entry, package, tags, partial / "bin" / name, env, name, rep)

        versions = {
            "daprd": probe.daprd_version(partial / "bin" / "daprd"),
            "scheduler": probe.scheduler_version(partial / "bin" / "scheduler"),
        }
        for name, printed in versions.items():
            if printed != entry.version:
                raise BuildError(
                    f"the {name} just built prints version {printed!r}, expected {entry.version!r}; "
                    "the -ldflags version stamp did not take (see toolchain/wrapper.py ldflags)"
                )
        rep.step("verified: daprd and scheduler print " + entry.version)
        seconds = time.monotonic() - started
        record = {
            "version": entry.version,
            "commit": entry.commit,
            "go": _run(go_bin, ["env", "GOVERSION"], work, env).strip(),
            "tags": wrapper.DAPRD_TAGS,
            "printed_versions": versions,
            "seconds": round(seconds, 1),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (partial / BUILD_RECORD).write_text(json.dumps(record, indent=2) + "\n")
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
        return BuildResult(final / "bin", built_now=True, seconds=seconds)


# --- steps -------------------------------------------------------------------------------------------------


def _check_go(go: str, entry: DaprVersion, environ: Mapping[str, str] | None) -> str:
    go_bin = shutil.which(go, path=(environ or os.environ).get("PATH"))
    if go_bin is None:
        raise BuildError(
            f"Go is not installed (no {go!r} on PATH). Dapr {entry.version} needs Go {entry.go} or newer: "
            "install it from go.dev/dl or your distribution, or pass binaries you have with --dapr-bin-dir."
        )
    have = _run(go_bin, ["env", "GOVERSION"], None, go_env(environ)).strip()
    if _go_tuple(have) < _go_tuple(entry.go):
        raise BuildError(
            f"Go {have.removeprefix('go')} is too old: Dapr {entry.version}'s go.mod needs Go {entry.go} or "
            f"newer. Install a newer Go (onceonly builds with GOTOOLCHAIN=local and never downloads one)."
        )
    return go_bin


def _render_wrapper(go_bin: str, entry: DaprVersion, work: Path, env: dict[str, str]) -> None:
    out = _run(go_bin, ["mod", "download", "-json", f"{wrapper.MODULE}@{entry.tag}"], None, env, entry=entry)
    info = json.loads(out)
    if info.get("Error"):
        raise _classify_go_failure(str(info["Error"]), entry)
    tag_module = wrapper.parse_go_mod_json(_run(go_bin, ["mod", "edit", "-json", info["GoMod"]], None, env))
    if tag_module.go != entry.go:
        raise BuildError(
            f"toolchain/versions.py says {entry.tag} needs Go {entry.go}, but its go.mod says {tag_module.go}; "
            "correct the table entry"
        )
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.mod").write_text(wrapper.render_go_mod(entry, tag_module))
    tag_sum = Path(info["Dir"]) / "go.sum"
    if tag_sum.is_file():
        (work / "go.sum").write_text(tag_sum.read_text())


def _count_packages(go_bin: str, work: Path, package: str, tags: str, env: dict[str, str]) -> int:
    args = ["list", "-deps", *(["-tags", tags] if tags else []), package]
    return len(_run(go_bin, args, work, env).split())


def _go_build(
    go_bin: str,
    work: Path,
    entry: DaprVersion,
    package: str,
    tags: str,
    output: Path,
    env: dict[str, str],
    name: str,
    rep: BuildReporter,
) -> None:
    args = [go_bin, "build", "-v", *(["-tags", tags] if tags else [])]
    args += ["-ldflags", wrapper.ldflags(entry), "-o", str(output), package]
    tail: list[str] = []
    with subprocess.Popen(args, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            if _PACKAGE_LINE.match(line):
                rep.compiled(name, line)
            else:
                tail = [*tail[-40:], line]
        code = proc.wait()
    if code != 0:
        raise _classify_go_failure("\n".join(tail), entry, what=f"go build of {name}")


_PACKAGE_LINE = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-~+]+)*$")
UNREACHABLE_MARKERS = ("dial tcp", "no such host", "connection refused", "i/o timeout", "TLS handshake timeout")


def _classify_go_failure(text: str, entry: DaprVersion, what: str = "go") -> BuildError:
    if "403 Forbidden" in text or "not available" in text:
        alt = served_alternative(entry)
        hint = f" Build {alt.version} instead (--version {alt.version})," if alt and alt != entry else ""
        return BuildError(
            f"the Go module proxy refused a module that Dapr {entry.version} needs (403, not available):\n"
            f"{last_lines(text)}\n{hint} or point --dapr-bin-dir at daprd and scheduler binaries you have."
        )
    if any(marker in text for marker in UNREACHABLE_MARKERS):
        proxy = os.environ.get("GOPROXY", "https://proxy.golang.org,direct")
        return BuildError(
            f"cannot reach the Go module proxy (GOPROXY={proxy}):\n{last_lines(text)}\n"
            "Check the network or set GOPROXY to a proxy you can reach, or pass binaries with --dapr-bin-dir."
        )
    return BuildError(f"{what} failed for Dapr {entry.version}:\n{last_lines(text, 25)}")


def last_lines(text: str, n: int = 6) -> str:
    return "\n".join("  " + ln for ln in text.strip().splitlines()[-n:])


def _run(
    go_bin: str, args: list[str], cwd: Path | None, env: dict[str, str], *, entry: DaprVersion | None = None
) -> str:
    proc = subprocess.run([go_bin, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    # `go mod download -json` reports a refused module inside its JSON and exits 1; let the caller read it.
    if proc.returncode != 0 and not (args[:2] == ["mod", "download"] and proc.stdout.strip()):
        text = proc.stderr or proc.stdout
        if entry is not None:
            raise _classify_go_failure(text, entry)
        raise BuildError(f"`go {' '.join(args)}` failed:\n{last_lines(text, 15)}")
    return proc.stdout


def go_env(environ: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(environ if environ is not None else os.environ)
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="-mod=mod")
    return env


def _go_tuple(version: str) -> tuple[int, ...]:
    nums = re.findall(r"\d+", version.removeprefix("go"))
    return tuple(int(n) for n in nums[:3])


@contextmanager
def locked(path: Path) -> Iterator[None]:
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
