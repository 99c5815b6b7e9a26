"""``onceonly dapr``: build or show the Dapr binaries (daprd, scheduler) of a version. Errors and output go
through ``harness.cli``'s ``fail`` and consoles (imported when a command runs: ``harness.cli`` imports this module)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness import cli_options as opt
from harness.report import terminal
from toolchain import binaries as dapr_binaries
from toolchain.build import BuildError
from toolchain.probe import ProbeError
from toolchain.selection import build_with_progress, cache_root, prepare_fault_proxy
from toolchain.versions import DEFAULT_VERSION, UnknownVersionError, lookup

dapr_app = typer.Typer(help="Build or show the Dapr binaries (daprd, scheduler) of a version.", no_args_is_help=True)


@dapr_app.command("build")
def dapr_build(
    version: opt.VersionOpt = DEFAULT_VERSION,
    proxy: Annotated[bool, typer.Option(help="Also build the fault proxy network faults use (toxiproxy).")] = True,
) -> None:
    """Build daprd and scheduler of a Dapr version from Go modules, and the fault proxy (no-ops when built)."""
    from harness.cli import display, fail, output

    try:
        build_with_progress(lookup(version), display())
    except (UnknownVersionError, BuildError, ProbeError) as exc:
        fail(exc)
    if proxy:
        try:
            proxy_path = prepare_fault_proxy(display())
        except BuildError as exc:
            fail(exc)
        output().info(f"fault proxy: {proxy_path}")


@dapr_app.command("which")
def dapr_which(version: opt.VersionOpt = DEFAULT_VERSION, bin_dir: opt.BinDirOpt = None) -> None:
    """Show which daprd and scheduler a run would use, their versions, and where they came from."""
    from harness.cli import fail, out

    try:
        lookup(version)
        rows = dapr_binaries.candidates(version.removeprefix("v"), cache_root(), Path.home(), bin_dir)
    except (UnknownVersionError, BuildError, ProbeError) as exc:
        fail(exc)
    out.print(terminal.binaries_table(version, rows))
    if not any(r.used for r in rows):
        out.print(f"Nothing usable: `onceonly dapr build --version {version}` builds it.")
