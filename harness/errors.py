"""onceonly's errors, and the exit code each maps to.

Our exception hierarchy:

* HarnessError            anything onceonly reports to the user as a one-paragraph message
  + InputError            bad input: a flag, a scenario, an unknown version. Nothing was started. Exit 3.
  + EnvironmentProblem    the machine lacks something or a process misbehaved. Exit 4.
    - MissingTool         a program onceonly needs is not installed (the message names the package)
    - ClusterError        a process of the run did not start or did not become ready (names it, shows its log)

``toolchain.build.BuildError``, ``toolchain.probe.ProbeError`` and ``toolchain.versions.UnknownVersionError``
come from the ``toolchain`` package, which does not import the harness; the CLI maps them (unknown version: 3,
the rest: 4).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    """What every command's exit code means, whichever command (run, demo, load, check, compare, suite)."""

    PASS = 0  # judged, nothing wrong
    FAIL = 1  # an anomaly found (a run's), a regression (a comparison's), a prediction that did not hold (a suite's)
    UNKNOWN = 2  # judged, but the evidence cannot decide (and nothing failed)
    BAD_INPUT = 3  # a flag, a scenario or a file refused; nothing was started
    ENVIRONMENT = 4  # the machine, a process, or onceonly itself failed (an unhandled error, traceback kept)
    INTERRUPTED = 130  # Ctrl-C or SIGTERM: what finished is kept


# The exit code of a judged verdict, and of a suite case's outcome ("error": the run did not finish).
OUTCOME_EXIT = {
    "pass": ExitCode.PASS,
    "fail": ExitCode.FAIL,
    "unknown": ExitCode.UNKNOWN,
    "error": ExitCode.ENVIRONMENT,
}

# Several results in one exit code (a suite's cases, a comparison's scenarios): an anomaly found is evidence and
# wins; then "some part could not run"; then "some evidence was incomplete"; pass only when every part passed.
PRECEDENCE = (ExitCode.FAIL, ExitCode.ENVIRONMENT, ExitCode.UNKNOWN, ExitCode.PASS)


def overall(codes: Iterable[ExitCode]) -> ExitCode:
    """The exit code of several results, by ``PRECEDENCE``; ``PASS`` for none."""
    found = set(codes)
    return next((code for code in PRECEDENCE if code in found), ExitCode.PASS)


class HarnessError(Exception):
    exit_code = ExitCode.ENVIRONMENT


class InputError(HarnessError):
    exit_code = ExitCode.BAD_INPUT


class EnvironmentProblem(HarnessError):
    exit_code = ExitCode.ENVIRONMENT


class MissingTool(EnvironmentProblem):
    pass


class ClusterError(EnvironmentProblem):
    pass
