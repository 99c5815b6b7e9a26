"""``--workers N`` (harness.load.process): the master's and the workers' argv (checked by Locust's own option parser
in a subprocess: importing locust here would monkey-patch this process), the validation of N, the helpers started
and stopped in order, and a backend without the ``load-workers`` capability refused before anything starts.

The cluster is a FAKE here (it records which helpers were started with what); the integration test
``tests/integration/test_load.py`` runs a master and two workers on real Dapr."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness import cli
from harness.campaign import binaries, experiment
from harness.cluster.base import Tokens
from harness.cluster.kubernetes.render import CAPABILITIES
from harness.cluster.local.backend import LocalBackend
from harness.errors import ExitCode, InputError
from harness.load import process
from harness.load.workload import CONFIG_ENV, TOKEN_ENV, WORKER_ENV
from harness.model import Capability
from harness.report import terminal
from harness.run import runner
from harness.scenario.loader import load_scenario
from tests.unit.test_backend_seam import BINS, SCENARIOS, FakeBackend

PARSE = """
import json, sys
from locust.argument_parser import get_parser
for argv in json.loads(sys.argv[1]):
    o = get_parser().parse_args(argv[3:])  # after `python -m locust`
    print(json.dumps({k: getattr(o, k) for k in ("master", "worker", "headless", "autostart", "master_bind_host",
        "master_bind_port", "master_host", "master_port", "expect_workers", "expect_workers_max_wait", "csv_prefix",
        "html_file", "web_host", "web_port", "stop_timeout")}))
"""


def parsed_by_locust(argvs: list[list[str]], cwd: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-c", PARSE, json.dumps(argvs)], capture_output=True, text=True, cwd=cwd, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_the_master_and_worker_argv_mean_what_they_should_to_locust(tmp_path: Path) -> None:
    out = tmp_path / "locust"
    argvs = [
        process.master_argv(out, None, 3, 24567),
        process.worker_argv(24567),
        process.master_argv(out, 8089, 2, 24568),
        process.single_argv(out, None),
    ]
    master, worker, web_master, single = parsed_by_locust(argvs, tmp_path)
    assert master["master"] and not master["worker"] and master["headless"]
    assert (master["master_bind_host"], master["master_bind_port"]) == ("127.0.0.1", 24567)  # loopback only
    assert (master["expect_workers"], master["expect_workers_max_wait"]) == (3, process.WORKERS_WAIT_S)
    assert master["csv_prefix"] == str(out / "locust") and master["html_file"] == str(out / "report.html")
    assert worker["worker"] and not worker["master"]
    assert (worker["master_host"], worker["master_port"]) == ("127.0.0.1", 24567)
    assert worker["csv_prefix"] is None and worker["html_file"] is None  # the master writes the reports
    assert worker["stop_timeout"] == master["stop_timeout"] == process.STOP_TIMEOUT_S
    assert web_master["master"] and not web_master["headless"] and web_master["autostart"]
    assert (web_master["web_host"], web_master["web_port"]) == ("127.0.0.1", 8089)
    assert not single["master"] and not single["worker"] and single["headless"]


@pytest.mark.parametrize("n", [0, 1, 2, process.max_workers()])
def test_worker_counts_in_range_are_taken(n: int) -> None:
    process.check_workers(n)


@pytest.mark.parametrize("n", [-1, process.max_workers() + 1, 10_000])
def test_worker_counts_out_of_range_are_refused_naming_the_range(n: int) -> None:
    with pytest.raises(InputError, match=rf"--workers must be 0 .* or 1\.\.{process.max_workers()} .*got {n}"):
        process.check_workers(n)


class RecordingCluster:
    """A FAKE cluster: records the helpers started and stopped; no process is started."""

    run_id = "run-x"
    redis_port = 6390
    tokens = Tokens()
    replicas: Mapping[int, Any] = {0: SimpleNamespace(dapr_http="http://127.0.0.1:3500")}

    def __init__(self) -> None:
        self.started: list[tuple[str, list[str], dict[str, str]]] = []
        self.stopped: list[str] = []

    def start_helper(self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        self.started.append((name, list(argv), dict(env)))

    def stop_helper(self, name: str) -> int | None:
        self.stopped.append(name)
        return 0


def start(cluster: RecordingCluster, run_dir: Path, workers: int) -> None:
    load = load_scenario(SCENARIOS / "load-smoke.yaml").workload.load
    assert load is not None
    process.start_load(cluster, run_dir, load, True, web_port=None, workers=workers)  # type: ignore[arg-type]


def test_two_workers_are_a_master_and_two_numbered_workers_on_its_port(tmp_path: Path) -> None:
    cluster = RecordingCluster()
    start(cluster, tmp_path, 2)
    assert [name for name, _, _ in cluster.started] == ["locust", "locust-worker-1", "locust-worker-2"]
    (_, master, menv), *workers = cluster.started
    port = master[master.index("--master-bind-port") + 1]
    for i, (_, argv, env) in enumerate(workers, start=1):
        assert argv[argv.index("--master-port") + 1] == port
        assert env[WORKER_ENV] == str(i) and env[CONFIG_ENV] == menv[CONFIG_ENV]
        assert env[TOKEN_ENV] == cluster.tokens.dapr_api and cluster.tokens.dapr_api not in " ".join(argv)
    assert WORKER_ENV not in menv  # the master runs no users
    emitted: list[tuple[str, dict[str, Any]]] = []
    process.stop_load(cluster, lambda kind, **kw: emitted.append((kind, kw)), 2)  # type: ignore[arg-type]
    assert cluster.stopped == ["locust", "locust-worker-1", "locust-worker-2"]  # the master first: it quits them
    assert emitted == [("load_stopped", {"exit_code": 0, "workers": {"locust-worker-1": 0, "locust-worker-2": 0}})]


def test_no_workers_is_one_locust_process_as_before(tmp_path: Path) -> None:
    cluster = RecordingCluster()
    start(cluster, tmp_path, 0)
    ((name, argv, env),) = cluster.started
    assert name == "locust" and "--master" not in argv and "--headless" in argv and WORKER_ENV not in env
    emitted: list[tuple[str, dict[str, Any]]] = []
    process.stop_load(cluster, lambda kind, **kw: emitted.append((kind, kw)))  # type: ignore[arg-type]
    assert cluster.stopped == ["locust"] and emitted == [("load_stopped", {"exit_code": 0})]


def test_a_backend_without_load_workers_refuses_them_before_anything_starts(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "load-smoke.yaml")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with pytest.raises(InputError) as caught:
        runner.execute(scenario, BINS, run_dir, workers=2, backend=FakeBackend())
    assert "'load-workers' capability" in str(caught.value) and "fake backend" in str(caught.value)
    assert list(run_dir.iterdir()) == []
    assert "kubernetes backend" in process.workers_refusal("kubernetes")


@pytest.mark.parametrize(
    ("scenario", "workers", "says"),
    [("load-smoke.yaml", -1, "--workers must be"), ("jobs-vs-cron.yaml", 2, "no workload.load")],
)
def test_bad_workers_are_refused_by_the_runner_too(tmp_path: Path, scenario: str, workers: int, says: str) -> None:
    class Capable(FakeBackend):
        capabilities = frozenset(Capability)

    with pytest.raises(InputError, match=says):
        runner.execute(load_scenario(SCENARIOS / scenario), BINS, tmp_path, workers=workers, backend=Capable())
    assert list(tmp_path.iterdir()) == []


def test_the_local_backend_has_load_workers_and_kubernetes_has_not() -> None:
    assert Capability.LOAD_WORKERS in LocalBackend().capabilities
    assert Capability.LOAD_WORKERS not in CAPABILITIES


def test_the_cli_refuses_a_bad_worker_count_with_3_before_any_run_dir(tmp_path: Path) -> None:
    for bad in ("-1", str(process.max_workers() + 1)):
        with pytest.raises(SystemExit) as info:
            cli.main(["load", str(SCENARIOS / "load-smoke.yaml"), "--workers", bad, "--reports", str(tmp_path / "r")])
        assert info.value.code == ExitCode.BAD_INPUT
    assert not (tmp_path / "r").exists()


def test_the_cli_passes_the_worker_count_to_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def run(*_a: Any, **options: Any) -> SimpleNamespace:
        seen.update(options)
        return SimpleNamespace(results={"verdict": "pass", "sources": [], "dapr": {}, "notes": []})

    bins = SimpleNamespace(daprd_version="1.18.2", scheduler_version="1.18.2", source="fake")
    monkeypatch.delenv("ONCEONLY_DAPR_VERSION", raising=False)
    monkeypatch.delenv("ONCEONLY_DAPR_BIN_DIR", raising=False)
    monkeypatch.setattr(binaries, "case_binaries", lambda *_a, **_k: (bins, None))
    monkeypatch.setattr(experiment, "run", run)  # a FAKE engine: nothing starts
    monkeypatch.setattr(terminal, "print_results", lambda *_a: None)
    with pytest.raises(SystemExit) as info:
        cli.main(["load", str(SCENARIOS / "load-smoke.yaml"), "--workers", "2", "--reports", str(tmp_path)])
    assert info.value.code == ExitCode.PASS and seen["workers"] == 2 and seen["web_port"] is None
