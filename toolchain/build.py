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

import json
import shutil
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from toolchain import probe, wrapper
from toolchain.gocmd import UNREACHABLE_MARKERS as UNREACHABLE_MARKERS
from toolchain.gocmd import BuildError as BuildError
from toolchain.gocmd import BuildReporter as BuildReporter
from toolchain.gocmd import NullReporter as NullReporter
from toolchain.gocmd import (
    download,
    installed_go,
    is_refusal,
    is_unreachable,
    run_go,
    stream_build,
    unreachable_error,
    write_wrapper,
)
from toolchain.gocmd import go_env as go_env
from toolchain.gocmd import last_lines as last_lines
from toolchain.gocmd import locked as locked
from toolchain.versions import DaprVersion, served_alternative

BUILD_RECORD = "build.json"


@dataclass(frozen=True, slots=True)
class BuildResult:
    bin_dir: Path
    built_now: bool  # False: it was already in the cache
    seconds: float


def version_dir(root: Path, version: str) -> Path:
    return root / version


def is_built(root: Path, version: str) -> bool:
    return (version_dir(root, version) / BUILD_RECORD).is_file()


class BuildDisplay(Protocol):
    """What a build shows its progress on (``toolchain.selection.SelectionDisplay`` fits)."""

    def say(self, message: str) -> None: ...

    def building(self) -> AbstractContextManager[BuildReporter]: ...


def shown(
    display: BuildDisplay, what: str, source: str, binary: Path, done: bool, run: Callable[[BuildReporter], BuildResult]
) -> Path:
    """``run`` with its progress on ``display``, said before (unless ``done``) and after (when it built); ``binary``."""
    if not done:
        display.say(f"Building {what} from {source} into {binary.parent.parent}")
    with display.building() as reporter:
        result = run(reporter)
    if result.built_now:
        display.say(f"{what} built in {result.seconds:.0f} s: {binary}")
    return binary


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

    go_bin = check_go(go, entry, environ)
    root.mkdir(parents=True, exist_ok=True)
    with locked(root / f"{entry.version}.lock"):
        if is_built(root, entry.version):  # another process finished it while we waited
            return BuildResult(final / "bin", built_now=False, seconds=time.monotonic() - started)
        env = go_env(environ)
        work = root / f"{entry.version}.work"
        partial = fresh_partial(root, entry.version)

        rep.step(f"fetching github.com/dapr/dapr@{entry.tag} from the Go module proxy")
        render_wrapper(go_bin, entry, work, env)

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
        finish(partial, final, record)
        return BuildResult(final / "bin", built_now=True, seconds=seconds)


def fresh_partial(root: Path, version: str) -> Path:
    """``<root>/<version>.partial``, emptied, with its ``bin/``: where a build writes until it is verified."""
    partial = root / f"{version}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "bin").mkdir(parents=True)
    return partial


def finish(partial: Path, final: Path, record: dict[str, object]) -> None:
    """The build record written last, then ``partial`` renamed to ``final``: from now on it counts as built."""
    (partial / BUILD_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)


# --- steps -------------------------------------------------------------------------------------------------


def check_go(go: str, entry: DaprVersion, environ: Mapping[str, str] | None) -> str:
    return installed_go(
        go, entry.go, f"Dapr {entry.version}'s go.mod", "pass binaries you have with --dapr-bin-dir", environ
    )


def render_wrapper(go_bin: str, entry: DaprVersion, work: Path, env: dict[str, str]) -> None:
    tag = download(go_bin, wrapper.MODULE, entry.tag, env, lambda text: classify_go_failure(text, entry))
    tag_module = wrapper.parse_go_mod_json(tag.go_mod_json)
    if tag_module.go != entry.go:
        raise BuildError(
            f"toolchain/versions.py says {entry.tag} needs Go {entry.go}, but its go.mod says {tag_module.go}; "
            "correct the table entry"
        )
    write_wrapper(work, wrapper.render_go_mod(entry, tag_module), tag)


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
    args = [*(["-tags", tags] if tags else []), "-ldflags", wrapper.ldflags(entry), "-o", str(output), package]
    failure = stream_build(go_bin, args, work, env, name, rep)
    if failure:
        raise classify_go_failure(failure, entry, what=f"go build of {name}")


def classify_go_failure(text: str, entry: DaprVersion, what: str = "go") -> BuildError:
    if is_refusal(text):
        alt = served_alternative(entry)
        hint = f" Build {alt.version} instead (--version {alt.version})," if alt and alt != entry else ""
        return BuildError(
            f"the Go module proxy refused a module that Dapr {entry.version} needs (403, not available):\n"
            f"{last_lines(text)}\n{hint} or point --dapr-bin-dir at daprd and scheduler binaries you have."
        )
    if is_unreachable(text):
        return unreachable_error(text, ", or pass binaries with --dapr-bin-dir")
    return BuildError(f"{what} failed for Dapr {entry.version}:\n{last_lines(text, 25)}")


def _run(
    go_bin: str, args: list[str], cwd: Path | None, env: dict[str, str], *, entry: DaprVersion | None = None
) -> str:
    classify = None if entry is None else lambda text: classify_go_failure(text, entry)
    return run_go(go_bin, args, cwd, env, classify)
