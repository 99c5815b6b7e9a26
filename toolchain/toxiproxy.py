"""Build the fault proxy, Toxiproxy, from Go modules at a pinned version, the way Dapr itself is built.

Network faults between daprd and the scheduler go through a real TCP proxy (``harness.cluster.local.proxy`` runs
it). Toxiproxy is Shopify's, MIT-licensed; its server is ``github.com/Shopify/toxiproxy/v2/cmd/server``.

Layout (``<root>`` is ``$XDG_CACHE_HOME/onceonly/toxiproxy``)::

    <root>/<version>/toxiproxy-server, build.json    a finished build (build.json written last)
    <root>/<version>.work/go.mod                      the wrapper module that requires the pinned version
    <root>/<version>.partial/                         a build in progress; never read as a result

As for Dapr: ``.partial`` + rename under a flock, so an interrupted build never counts; a built version is a
no-op. A warm Go cache builds it in about 20 s, a cold one downloads ~10 modules first.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from toolchain.gocmd import UNREACHABLE_MARKERS, BuildError, go_env, last_lines, locked

VERSION = "2.12.0"  # newest the Go module proxy served on 2026-11-29 (`go list -m ...toxiproxy/v2@v2.12.0`)
MODULE = "github.com/Shopify/toxiproxy/v2"
PACKAGE = f"{MODULE}/cmd/server"
BINARY = "toxiproxy-server"
MIN_GO = (1, 22)


def binary_path(root: Path, version: str = VERSION) -> Path:
    return root / version / BINARY


def is_built(root: Path, version: str = VERSION) -> bool:
    return (root / version / "build.json").is_file() and binary_path(root, version).is_file()


def render_go_mod(version: str = VERSION) -> str:
    return f"module onceonly.local/toxiproxy\n\ngo {MIN_GO[0]}.{MIN_GO[1]}\n\nrequire {MODULE} v{version}\n"


def build(root: Path, *, version: str = VERSION, go: str = "go", environ: Mapping[str, str] | None = None) -> Path:
    """Build toxiproxy-server into ``root`` unless it is there; returns the binary's path.

    Raises:
        BuildError: Go is missing, the module proxy is unreachable or refuses the module, or the build failed.
    """
    if is_built(root, version):
        return binary_path(root, version)
    env = go_env(environ)
    go_bin = shutil.which(go, path=env.get("PATH"))
    if go_bin is None:
        raise BuildError(
            f"Go is not installed (no {go!r} on PATH): network faults need toxiproxy-server, which onceonly "
            f"builds from {MODULE}@v{version}. Install Go {MIN_GO[0]}.{MIN_GO[1]} or newer."
        )
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with locked(root / f"{version}.lock"):
        if is_built(root, version):
            return binary_path(root, version)
        work, partial, final = root / f"{version}.work", root / f"{version}.partial", root / version
        work.mkdir(parents=True, exist_ok=True)
        (work / "go.mod").write_text(render_go_mod(version))
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        args = [go_bin, "build", "-trimpath", "-o", str(partial / BINARY), PACKAGE]
        proc = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            text = proc.stderr or proc.stdout
            if "403" in text or "not available" in text:
                why = "the Go module proxy refused a module it needs (403, not available)"
            elif any(marker in text for marker in UNREACHABLE_MARKERS):
                why = "the Go module proxy cannot be reached (check the network or GOPROXY)"
            else:
                why = "go build failed"
            raise BuildError(f"cannot build toxiproxy-server v{version}: {why}:\n{last_lines(text, 15)}")
        record = {"module": MODULE, "version": version, "seconds": round(time.monotonic() - started, 1)}
        (partial / "build.json").write_text(json.dumps(record, indent=2) + "\n")
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
    return binary_path(root, version)
