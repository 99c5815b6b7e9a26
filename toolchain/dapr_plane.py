"""Dapr's Kubernetes control-plane services that the local control plane runs on the host: sentry and the sidecar
injector, built from the same dapr module and wrapper as daprd (``toolchain.wrapper``), and Dapr's CRDs from the
same module's Helm chart.

Layout (``<root>`` is the control plane's cache, ``<cache>/kube``; ``onceonly dapr build``'s ``<cache>/dapr`` and
its build.json stay as they are)::

    <root>/dapr-<version>/bin/sentry, bin/injector, build.json   a finished build (build.json written last)
    <root>/dapr-<version>.partial/, .lock                       as for every build (toolchain.build)

Neither binary has ``--version`` (both exit with "unknown flag"); each logs its version in its first line, then
exits when it lacks its configuration (the injector without ``SIDECAR_IMAGE``, sentry without its Configuration),
which is how a build is verified: ``Starting Dapr Sidecar Injector -- version 1.18.2 -- commit ...``.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from toolchain import build as dapr_build
from toolchain import wrapper
from toolchain.build import BuildResult, finish, fresh_partial, is_built, version_dir
from toolchain.gocmd import BuildError, BuildReporter, NullReporter, go_env, locked, run_go, stream_build
from toolchain.versions import DaprVersion

COMMANDS = (("sentry", f"{wrapper.MODULE}/cmd/sentry"), ("injector", f"{wrapper.MODULE}/cmd/injector"))
BANNER = re.compile(
    r"Starting Dapr (?:Sidecar Injector|Sentry certificate authority|Operator|Placement Service) -- version (\S+)"
    r" -- commit"
)
# placement has no --kubeconfig; given no trust anchors it stops (or is stopped by the timeout) after its banner
PLACEMENT_PROBE = ("--trust-anchors-file", "none", "--port", "0", "--healthz-port", "0")


def probe_args(binary: Path, tmp: str) -> list[str]:
    """What ``binary`` is started with to log its version and stop: a kubeconfig that does not exist."""
    if binary.name == "placement":
        return [*PLACEMENT_PROBE, "--enable-metrics=false"]
    return ["--kubeconfig", f"{tmp}/none", "--enable-metrics=false"]


def build_name(version: str) -> str:
    return f"dapr-{version}"


def bin_dir(root: Path, version: str) -> Path:
    return version_dir(root, build_name(version)) / "bin"


def built(root: Path, version: str) -> bool:
    return is_built(root, build_name(version))


def build(
    entry: DaprVersion,
    root: Path,
    dapr_root: Path,
    reporter: BuildReporter | None = None,
    *,
    go: str = "go",
    environ: Mapping[str, str] | None = None,
) -> BuildResult:
    """Build sentry and the injector of ``entry`` into ``root`` unless built; ``dapr_root`` holds the Dapr wrapper
    module (``<dapr_root>/<version>.work``), made here when ``onceonly dapr build`` has not made it.

    Raises:
        BuildError: as ``toolchain.build.build`` (Go missing or old, the proxy refusing, a failed build), or a
            binary that does not log the version expected.
    """
    return build_commands(entry, root, dapr_root, build_name(entry.version), COMMANDS, reporter, go=go, environ=environ)


def build_commands(
    entry: DaprVersion,
    root: Path,
    dapr_root: Path,
    name: str,
    commands: tuple[tuple[str, str], ...],
    reporter: BuildReporter | None = None,
    *,
    go: str = "go",
    environ: Mapping[str, str] | None = None,
) -> BuildResult:
    """Build ``commands`` (binary name, Go package) of ``entry`` into ``<root>/<name>/bin`` unless built, each
    verified by the version it logs as it starts (``logged_version``); the same errors as ``build``."""
    rep = reporter or NullReporter()
    started = time.monotonic()
    if is_built(root, name):
        return BuildResult(version_dir(root, name) / "bin", built_now=False, seconds=0.0)
    go_bin = dapr_build.check_go(go, entry, environ)
    root.mkdir(parents=True, exist_ok=True)
    with locked(root / f"{name}.lock"):
        if is_built(root, name):
            return BuildResult(version_dir(root, name) / "bin", built_now=False, seconds=time.monotonic() - started)
        env = go_env(environ)
        work = dapr_root / f"{entry.version}.work"
        if not (work / "go.mod").is_file():
            rep.step(f"fetching github.com/dapr/dapr@{entry.tag} from the Go module proxy")
            dapr_build.render_wrapper(go_bin, entry, work, env)
        partial = fresh_partial(root, name)
        printed: dict[str, str] = {}
        for binary, package in commands:
            rep.step(f"resolving the packages of {binary}")
            listed = run_go(
                go_bin, ["list", "-deps", package], work, env, lambda t: dapr_build.classify_go_failure(t, entry)
            )
            rep.packages(binary, len(listed.split()))
            rep.step(f"compiling {binary}")
            args = ["-ldflags", wrapper.ldflags(entry), "-o", str(partial / "bin" / binary), package]
            failure = stream_build(go_bin, args, work, env, binary, rep)
            if failure:
                raise dapr_build.classify_go_failure(failure, entry, what=f"go build of {binary}")
            printed[binary] = logged_version(partial / "bin" / binary)
            if printed[binary] != entry.version:
                raise BuildError(
                    f"the {binary} just built logs version {printed[binary]!r}, expected {entry.version!r}; "
                    "the -ldflags version stamp did not take (see toolchain/wrapper.py ldflags)"
                )
        rep.step(f"verified: {' and '.join(printed)} log version {entry.version}")
        seconds = time.monotonic() - started
        record = {
            "version": entry.version,
            "commit": entry.commit,
            "packages": dict(commands),
            "printed_versions": printed,
            "seconds": round(seconds, 1),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        finish(partial, version_dir(root, name), record)
        return BuildResult(version_dir(root, name) / "bin", built_now=True, seconds=seconds)


def logged_version(binary: Path, timeout: float = 20.0) -> str:
    """The version ``binary`` logs as it starts, run with no configuration in an empty directory (it exits, or is
    killed at ``timeout`` and its output so far read)."""
    with tempfile.TemporaryDirectory(prefix="onceonly-probe-") as tmp:
        env = {"HOME": tmp, "PATH": "/usr/bin:/bin"}
        try:
            done = subprocess.run(
                [str(binary), *probe_args(binary, tmp)],
                cwd=tmp,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            said = done.stdout + done.stderr
        except subprocess.TimeoutExpired as exc:  # killed: what it said before is still there
            said = "".join(
                o if isinstance(o, str) else (o or b"").decode(errors="replace") for o in (exc.stdout, exc.stderr)
            )
        except OSError as exc:
            raise BuildError(f"{binary} could not be run to read its version: {exc}") from exc
    match = BANNER.search(said)
    if match is None:
        raise BuildError(f"{binary} did not log its version: {said[-400:]}")
    return match.group(1)
