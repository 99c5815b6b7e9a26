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

from enum import IntEnum


class ExitCode(IntEnum):
    PASS = 0
    FAIL = 1
    UNKNOWN = 2
    BAD_INPUT = 3
    ENVIRONMENT = 4


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
