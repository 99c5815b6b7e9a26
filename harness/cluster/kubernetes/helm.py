"""helm, as onceonly runs it: each command's argv, its environment, its output streamed, its failure in helm's words.

helm runs with its cache, configuration and data homes in a directory of its own for each command (removed after),
so the user's repositories, plugins and registry logins never take part; the values go in a file there (``-f``).
A release is upgraded with ``upgrade --install`` (one command for both; never ``--atomic``: a failed upgrade stays
as helm left it, to be looked at), bounded by ``--timeout``. The process is a ``Runner``: unit tests pass a FAKE.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from harness.errors import ClusterError, EnvironmentProblem, InputError

Progress = Callable[[str], None]
CHART_REFUSALS = ("execution error at", "values don't meet the specifications")  # the chart said no: bad input


@dataclass(frozen=True, slots=True)
class Ran:
    code: int
    stdout: str  # with ``on_line``: stdout and stderr together, as streamed
    stderr: str


class Runner(Protocol):
    def __call__(self, argv: Sequence[str], env: Mapping[str, str], on_line: Progress | None) -> Ran: ...


def run_process(argv: Sequence[str], env: Mapping[str, str], on_line: Progress | None) -> Ran:
    """Run helm; with ``on_line`` each line it prints (stdout and stderr) goes there as it comes."""
    try:
        if on_line is None:
            done = subprocess.run(list(argv), env=dict(env), capture_output=True, text=True, check=False)
            return Ran(done.returncode, done.stdout, done.stderr)
        lines: list[str] = []
        with subprocess.Popen(
            list(argv), env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                on_line(line.rstrip())
            code = proc.wait()
        return Ran(code, "".join(lines), "")
    except OSError as exc:
        raise EnvironmentProblem(f"{argv[0]} could not be run: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Helm:
    """One helm binary and the cluster it talks to (``kubeconfig``: None for ``$KUBECONFIG``, then ~/.kube/config;
    ``context``: None for its current context)."""

    binary: Path
    kubeconfig: str | None = None
    timeout: str = "5m0s"
    runner: Runner = run_process
    context: str | None = None

    def template(self, release: str, chart: Path, namespace: str, values: Mapping[str, Any]) -> str:
        """``helm template``: the manifests, offline (no cluster asked). The chart refusing the values is bad
        input (``InputError``); any other failure an ``EnvironmentProblem``; both quote helm."""
        args = ["template", release, str(chart), "--namespace", namespace, "--include-crds"]
        ran = self._run(args, values, None)
        if ran.code != 0:
            words = _words(ran)
            if any(marker in words for marker in CHART_REFUSALS):
                raise InputError(f"the chart {chart} refuses these values; helm says:\n{words}")
            raise EnvironmentProblem(f"helm template of {chart} failed:\n{words}")
        return ran.stdout

    def upgrade_install(
        self, release: str, chart: Path, namespace: str, values: Mapping[str, Any], wait: bool, on_line: Progress
    ) -> None:
        """``helm upgrade --install``: a new release, or the next revision of the one there; ``ClusterError``
        quoting helm when it fails."""
        args = ["upgrade", "--install", release, str(chart), "--namespace", namespace, "--create-namespace"]
        args += ["--timeout", self.timeout, *(["--wait"] if wait else []), *self._cluster()]
        self._check(self._run(args, values, on_line), f"helm upgrade --install {release} in {namespace}")

    def uninstall(self, release: str, namespace: str, on_line: Progress) -> None:
        args = ["uninstall", release, "--namespace", namespace, "--wait", "--timeout", self.timeout]
        self._check(self._run([*args, *self._cluster()], None, on_line), f"helm uninstall {release} in {namespace}")

    def history(self, release: str, namespace: str) -> list[dict[str, Any]]:
        """``helm history -o json``: each revision (``revision``, ``status``, ``chart``, ``app_version``, ...)."""
        args = ["history", release, "--namespace", namespace]
        found: list[dict[str, Any]] = self._json(args, f"helm history {release} in {namespace}")
        return found

    def values(self, release: str, namespace: str) -> dict[str, Any] | None:
        """``helm get values --all``: the values the release's last revision was made with (the chart's defaults
        included); None when there is no such release."""
        args = ["get", "values", release, "--namespace", namespace, "--all"]
        try:
            found: dict[str, Any] = self._json(args, f"helm get values {release} in {namespace}")
        except ClusterError as exc:
            if "release: not found" in str(exc):
                return None
            raise
        return found

    def _json(self, args: list[str], what: str) -> Any:
        ran = self._run([*args, "--output", "json", *self._cluster()], None, None)
        self._check(ran, what)
        return json.loads(ran.stdout)

    def argv(self, args: Sequence[str], values_file: Path | None) -> list[str]:
        return [str(self.binary), *args, *(["--values", str(values_file)] if values_file else [])]

    def _cluster(self) -> list[str]:
        given = ["--kubeconfig", self.kubeconfig] if self.kubeconfig else []
        return given + (["--kube-context", self.context] if self.context else [])

    def _run(self, args: Sequence[str], values: Mapping[str, Any] | None, on_line: Progress | None) -> Ran:
        with tempfile.TemporaryDirectory(prefix="onceonly-helm-") as home:
            values_file = None
            if values is not None:
                values_file = Path(home) / "values.yaml"
                values_file.write_text(yaml.safe_dump(dict(values), sort_keys=False))
            env = {
                **os.environ,
                **{f"HELM_{kind}_HOME": f"{home}/{kind.lower()}" for kind in ("CACHE", "CONFIG", "DATA")},
            }
            return self.runner(self.argv(args, values_file), env, on_line)

    @staticmethod
    def _check(ran: Ran, what: str) -> None:
        if ran.code != 0:
            raise ClusterError(f"{what} failed (exit {ran.code}); helm says:\n{_words(ran)}")


def _words(ran: Ran) -> str:
    text = (ran.stderr or ran.stdout).strip().splitlines()
    return "\n".join(f"  {line}" for line in text[-12:]) or "  (nothing)"
