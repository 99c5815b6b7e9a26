"""CoreDNS, the local node's cluster DNS, built from its Go module with only the plugins the plane's Corefile uses.

CoreDNS chooses its plugins at build time: its own ``main`` imports ``core/plugin``, a file ``go generate`` writes
from ``plugin.cfg`` (all 50-odd plugins, 1,409 packages with the cloud SDKs of route53, azure and clouddns). Each
plugin registers itself in its package's ``init``, so a ``main`` of our own that imports ``coremain`` and the eight
plugins below builds a CoreDNS with those plugins and what they import (820 packages) from the module untouched, no
code generation. The order in which plugins run comes from ``core/dnsserver``'s directive list, which stays whole.

Layout (``<root>`` is the control plane's cache, ``<cache>/kube``)::

    <root>/coredns-<version>/bin/coredns, build.json   a finished build (build.json written last)
    <root>/coredns-<version>.work/                     the wrapper module: go.mod, go.sum (the tag's), main.go
    <root>/coredns-<version>.partial/, .lock           as for every build (toolchain.build)

``onceonly k8s dns build`` builds it (``harness/cli_k8s_dns.py``).

A build is verified by ``coredns -version`` (``CoreDNS-1.15.0``) and ``coredns -plugins`` (ours and what they
import, never ``forward`` or ``grpc``).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from toolchain.build import BuildDisplay, BuildResult, finish, fresh_partial, is_built, shown, version_dir
from toolchain.gocmd import (
    BuildError,
    BuildReporter,
    NullReporter,
    download,
    go_env,
    installed_go,
    is_refusal,
    is_unreachable,
    last_lines,
    locked,
    run_go,
    stream_build,
    unreachable_error,
    write_wrapper,
)
from toolchain.wrapper import parse_go_mod_json

MODULE = "github.com/coredns/coredns"
VERSION = "1.15.0"
GO = "1.26.0"  # the tag's go.mod "go" line
# The plugins the plane's Corefile uses (harness/cluster/kubernetes/plane/dns.py), by package under plugin/.
PLUGINS = ("bind", "cache", "errors", "health", "kubernetes", "log", "ready", "template")
PROGRAM = "example.invalid/onceonly-coredns"
# Plugins that send queries to other servers: never in our build (nothing may leave the machine).
SENDERS = ("forward", "grpc")
VERSION_LINE = re.compile(r"^CoreDNS-(\S+)$", re.MULTILINE)


def build_name(version: str = VERSION) -> str:
    return f"coredns-{version}"


def binary_path(root: Path, version: str = VERSION) -> Path:
    return version_dir(root, build_name(version)) / "bin" / "coredns"


def built(root: Path, version: str = VERSION) -> bool:
    return is_built(root, build_name(version))


def render_go_mod(go: str, version: str = VERSION) -> str:
    return "\n".join(
        [
            "// Rendered by onceonly (toolchain/coredns.py): CoreDNS with only the plane's plugins, module untouched.",
            f"module {PROGRAM}",
            "",
            f"go {go}",
            "",
            f"require {MODULE} v{version}",
            "",
        ]
    )


def render_main(plugins: tuple[str, ...] = PLUGINS) -> str:
    """CoreDNS's ``main`` with ``plugins`` imported in place of ``core/plugin`` (every plugin)."""
    imports = [f'\t_ "{MODULE}/plugin/{name}"' for name in sorted(plugins)]
    return "\n".join(
        [
            "// Rendered by onceonly (toolchain/coredns.py). Each imported plugin registers itself in its init.",
            "package main",
            "",
            "import (",
            f'\t"{MODULE}/coremain"',
            *imports,
            ")",
            "",
            "func main() { coremain.Run() }",
            "",
        ]
    )


def build(
    root: Path,
    reporter: BuildReporter | None = None,
    *,
    version: str = VERSION,
    go: str = "go",
    environ: Mapping[str, str] | None = None,
) -> BuildResult:
    """Build CoreDNS ``version`` into ``root`` unless it is there (then a no-op).

    Raises:
        BuildError: Go missing or older than the tag's go line, the proxy unreachable or refusing, a replace
            directive in the tag's go.mod (the wrapper would need it), a failed build, or a binary that does not
            say its version, lacks one of ours or has forward or grpc.
    """
    rep = reporter or NullReporter()
    started = time.monotonic()
    name = build_name(version)
    if is_built(root, name):
        return BuildResult(binary_path(root, version).parent, built_now=False, seconds=0.0)
    go_bin = installed_go(go, GO, f"CoreDNS {version}", "pass a coredns binary you have", environ)
    root.mkdir(parents=True, exist_ok=True)
    with locked(root / f"{name}.lock"):
        if is_built(root, name):
            return BuildResult(binary_path(root, version).parent, built_now=False, seconds=time.monotonic() - started)
        env = go_env(environ)
        work = root / f"{name}.work"
        rep.step(f"fetching {MODULE}@v{version} from the Go module proxy")
        tag = download(go_bin, MODULE, f"v{version}", env, lambda text: classify(text, version))
        tag_module = parse_go_mod_json(tag.go_mod_json)
        if tag_module.replaces:
            raise BuildError(
                f"{MODULE}@v{version}'s go.mod has replace directives; toolchain/coredns.py renders none: add them"
            )
        write_wrapper(work, render_go_mod(tag_module.go, version), tag)
        (work / "main.go").write_text(render_main())
        partial = fresh_partial(root, name)
        output = partial / "bin" / "coredns"
        rep.step("resolving the packages of coredns (downloads modules on a cold machine)")
        listed = run_go(go_bin, ["list", "-deps", "."], work, env, lambda text: classify(text, version))
        rep.packages("coredns", len(listed.split()))
        rep.step("compiling coredns")
        failure = stream_build(go_bin, ["-ldflags", "-s -w", "-o", str(output), "."], work, env, "coredns", rep)
        if failure:
            raise classify(failure, version, what="go build of coredns")
        printed = verified(output, version)
        rep.step(f"verified: coredns -version says {version}; -plugins lists ours, neither forward nor grpc")
        seconds = time.monotonic() - started
        record: dict[str, object] = {
            "version": version,
            "module": f"{MODULE}@v{version}",
            "plugins": list(PLUGINS),
            "packages": len(listed.split()),
            "go": run_go(go_bin, ["env", "GOVERSION"], None, env).strip(),
            "printed_version": printed,
            "seconds": round(seconds, 1),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        finish(partial, version_dir(root, name), record)
        return BuildResult(binary_path(root, version).parent, built_now=True, seconds=seconds)


def verified(binary: Path, version: str = VERSION) -> str:
    """``coredns -version``'s first line, when it names ``version``, ``-plugins`` lists every one of ``PLUGINS``
    (and what they import: metadata, prometheus, transfer) and none of ``SENDERS``."""
    said = printed(binary, "-version")
    match = VERSION_LINE.search(said)
    if match is None or match.group(1) != version:
        raise BuildError(f"the coredns just built does not say version {version} in -version: {said[:300]!r}")
    listed = plugins_listed(printed(binary, "-plugins"))
    if missing := set(PLUGINS) - listed:
        raise BuildError(f"the coredns just built lacks the plugins {sorted(missing)} (it lists {sorted(listed)})")
    if senders := set(SENDERS) & listed:
        raise BuildError(f"the coredns just built has {sorted(senders)}, which send queries off the machine")
    return match.group(0)


def plugins_listed(text: str) -> set[str]:
    """The plugins in ``coredns -plugins``' output: one name a line (``cache``, ``kubernetes``, ``prometheus``)."""
    return {line.strip() for line in text.splitlines() if line.strip()}


def printed(binary: Path, flag: str) -> str:
    """What ``binary FLAG`` prints (stdout and stderr)."""
    try:
        done = subprocess.run([str(binary), flag], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"{binary} could not be run ({flag}): {exc}") from exc
    return done.stdout + done.stderr


def classify(text: str, version: str, what: str = "go") -> BuildError:
    """What Go printed, as an error naming the cause and the fix."""
    if is_refusal(text):
        return BuildError(
            f"the Go module proxy refused a module CoreDNS {version} needs (403, not available):\n{last_lines(text)}\n"
            "Set GOPROXY to a proxy that serves it."
        )
    if is_unreachable(text):
        return unreachable_error(text)
    return BuildError(f"{what} failed for CoreDNS {version}:\n{last_lines(text, 25)}")


def build_with_progress(root: Path, display: BuildDisplay) -> Path:
    """CoreDNS built into ``root`` (a no-op when built), its progress shown; the path of the binary."""
    source = f"{MODULE} (plugins: {', '.join(PLUGINS)})"
    return shown(display, f"CoreDNS {VERSION}", source, binary_path(root), built(root), lambda rep: build(root, rep))
