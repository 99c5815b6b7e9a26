"""How the CLI speaks: the output mode the command line chose, and which console each kind of line goes to.

``-q`` / ``--quiet`` and ``-v`` / ``--verbose`` are the app's (``onceonly -q suite ...``): quiet prints only errors
and the final one-line verdict or outcome (no progress, no tables); verbose prints each progress step as a line
(instead of a transient spinner) and every witness. ``--json`` is a command's (run, demo, load, check, suite,
compare): stdout carries the JSON summary (``harness.report.json_summary``) and nothing else, every human line goes to
stderr. The exit code is the same whatever the mode. Commands that show a table and nothing else (``dapr which``,
``onceonly up``'s endpoints) show it in every mode.

The verbosity is chosen once per invocation, by the app's callback (``choose``); ``Output`` carries it with the
consoles ``harness.cli`` owns (tests replace those) and the command's ``--json``. ``internal_error`` is how an error
onceonly did not expect is said, whatever the mode.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console, RenderableType

from harness.errors import ExitCode, InputError
from harness.report.terminal import RichDisplay, Verbosity

_chosen: list[Verbosity] = ["normal"]  # this invocation's, set by ``choose``


def choose(*, quiet: bool, verbose: bool) -> None:
    """The verbosity of this invocation; both flags are bad input (exit 3)."""
    if quiet and verbose:
        raise InputError("-q/--quiet and -v/--verbose cannot be used together: give one of them, or neither")
    _chosen[0] = "quiet" if quiet else "verbose" if verbose else "normal"


def verbosity() -> Verbosity:
    return _chosen[0]


@dataclass(frozen=True, slots=True)
class Output:
    """Where a command's lines go: ``console`` is stderr, ``out`` stdout."""

    console: Console
    out: Console
    verbosity: Verbosity = "normal"
    json: bool = False

    @property
    def human(self) -> Console:
        """The console of tables and the final line: stdout, or stderr when stdout carries JSON."""
        return self.console if self.json else self.out

    @property
    def quiet(self) -> bool:
        return self.verbosity == "quiet"

    @property
    def verbose(self) -> bool:
        return self.verbosity == "verbose"

    def info(self, message: str) -> None:
        """A line about what is going on (stderr), not in quiet mode."""
        if not self.quiet:
            self.console.print(message, highlight=False, soft_wrap=True)

    def show(self, renderable: RenderableType) -> None:
        """A table or the lines under it, not in quiet mode."""
        if not self.quiet:
            self.human.print(renderable)

    def final(self, line: str) -> None:
        """The one line that says how it ended (a verdict, an outcome), in every mode."""
        self.human.print(line, highlight=False, soft_wrap=True)

    def emit(self, summary: Callable[[], dict[str, Any]]) -> None:
        """The JSON summary on stdout, when ``--json`` asked for it (only then is it made)."""
        if self.json:
            self.out.file.write(json.dumps(summary(), indent=2, ensure_ascii=False) + "\n")
            self.out.file.flush()

    def display(self) -> RichDisplay:
        """How binary selection, builds and a campaign's cases show their progress in this mode."""
        return RichDisplay(self.console, self.human, self.verbosity)


def internal_error(console: Console, exc: Exception) -> ExitCode:
    """An error onceonly did not expect: say so on ``console``, keep the traceback (in the run dir this process made
    last, else on stderr) and exit 4, so a pipeline never reads it as an anomaly."""
    from harness.io import store

    run_dir = store.last_run_dir()
    if run_dir is not None and run_dir.is_dir():
        where = f"traceback in {store.write_traceback(run_dir, exc)}"
    else:
        traceback.print_exception(exc, file=sys.stderr)
        where = "traceback above"
    console.print(
        f"internal error (a bug in onceonly, not a finding): {type(exc).__name__}: {exc}; {where}",
        highlight=False,
        soft_wrap=True,
    )
    return ExitCode.ENVIRONMENT
