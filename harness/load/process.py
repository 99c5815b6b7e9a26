"""The run's Locust processes: start them on ``harness/load/locustfile.py`` with the load's configuration, stop them.

Without workers (``workers=0``) Locust is one process, ``locust``. With ``--workers N`` it is Locust's own
distributed mode: one master, ``locust`` (``--master --expect-workers N``, bound to 127.0.0.1 on a free port), which
runs the stages, the web UI and writes the CSVs and the HTML report, and N workers, ``locust-worker-1`` ...
``locust-worker-N`` (``--worker``), which run the users and report their requests to the master. Each worker gets
its number by environment (``harness.load.workload.WORKER_ENV``) and puts it in its jobs' names.

Every one of them is a supervised child of the cluster (own process group, parent-death signal:
``harness.cluster.local.processes``), so none outlives the run, Ctrl-C included. The configuration goes to
``<run dir>/locust/load.json``; the Dapr API token and the Redis password go by environment only. The CSVs
(``--csv-full-history``) and HTML report land in ``<run dir>/locust/``; each process logs to ``logs/<name>.log``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from harness.cluster.base import Cluster
from harness.cluster.local.ports import PortAllocator
from harness.errors import InputError
from harness.load.workload import CONFIG_ENV, REDIS_PASSWORD_ENV, TOKEN_ENV, WORKER_ENV, LoadConfig
from harness.scenario.schema import LoadSection

LOCUST = "locust"  # the single process, or the master
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
WORKERS_PER_CORE = 4  # gevent users are cheap: more workers than this per core only contend for the CPU
WORKERS_WAIT_S = 60  # the master gives up (exits 1) when its workers have not all connected by then
STOP_TIMEOUT_S = 30  # users finish the call they are in when the stages end (a call cut in flight has no outcome)


def worker_name(i: int) -> str:
    return f"{LOCUST}-worker-{i}"


def max_workers() -> int:
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


def check_workers(workers: int) -> None:
    """``InputError`` unless ``workers`` is 0 (one Locust process) or 1 .. ``max_workers()``."""
    most = max_workers()
    if not 0 <= workers <= most:
        raise InputError(
            f"--workers must be 0 (one Locust process) or 1..{most} ({WORKERS_PER_CORE} per core on this machine's "
            f"{most // WORKERS_PER_CORE}), got {workers}"
        )


def workers_refusal(backend: str) -> str:
    """Why a backend without the ``load-workers`` capability (Kubernetes) refuses ``--workers``."""
    return (
        f"--workers needs the 'load-workers' capability, which the {backend} backend does not have: there Locust "
        "runs on this machine and reaches the daprds through port-forwards, so more processes here would only share "
        "the same forwards; workers as a Deployment in the run's namespace would need an image with Locust and "
        "onceonly's load code (the run's image holds the recorder only) and a master the pods can reach (it binds "
        "127.0.0.1 here). Run the load there without --workers"
    )


def _common(out: Path | None) -> list[str]:
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
    if out is not None:  # the CSVs and the HTML report: the single process's, or the master's
        argv += ["--csv", str(out / "locust"), "--csv-full-history", "--html", str(out / "report.html")]
    return [*argv, "--loglevel", "WARNING", "--stop-timeout", str(STOP_TIMEOUT_S)]


def _ui(web_port: int | None) -> list[str]:
    if web_port is None:
        return ["--headless"]
    return ["--web-host", "127.0.0.1", "--web-port", str(web_port), "--autostart"]  # the stages start at once


def single_argv(out: Path, web_port: int | None) -> list[str]:
    """One Locust process: users, stages, UI and reports (``workers=0``)."""
    return _common(out) + _ui(web_port)


def master_argv(out: Path, web_port: int | None, workers: int, port: int) -> list[str]:
    """The master of ``workers`` workers: stages, UI and reports; it starts once every worker has connected."""
    argv = [*_common(out), "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]
    argv += ["--expect-workers", str(workers), "--expect-workers-max-wait", str(WORKERS_WAIT_S)]
    return argv + _ui(web_port)


def worker_argv(port: int) -> list[str]:
    """A worker of the master on 127.0.0.1:``port``: users only."""
    return [*_common(None), "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]


def start_load(
    cluster: Cluster, run_dir: Path, load: LoadSection, stable_api: bool, *, web_port: int | None, workers: int = 0
) -> None:
    """Start Locust on ``harness/load/locustfile.py``: one process, or a master and ``workers`` workers, each a
    supervised child (they die with the run, like the others). ``workers`` is checked by the caller before anything
    starts (``check_workers``)."""
    config = LoadConfig(
        run_id=cluster.run_id,
        redis_port=cluster.redis_port,
        dapr_urls=[r.dapr_http for r in cluster.replicas.values()],
        stable_api=stable_api,
        stages=[
            {"duration_s": st.duration.total_seconds(), "users": st.users, "spawn_rate": st.spawn_rate}
            for st in load.stages
        ],
        wait_s=load.wait.total_seconds(),
        due_in_s=load.due_in.total_seconds(),
        every_s=load.every.total_seconds(),
        repeats=load.repeats,
        mix=load.mix.model_dump(),
    )
    out = run_dir / "locust"
    out.mkdir(exist_ok=True)
    path = config.write(out / "load.json")
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV", "PYTHONPATH")},
        CONFIG_ENV: str(path),
        TOKEN_ENV: cluster.tokens.dapr_api,
        REDIS_PASSWORD_ENV: cluster.tokens.redis,
        "OTEL_SDK_DISABLED": "true",  # Locust exports nothing anywhere (it would only with --otel anyway)
        "PYTHONUNBUFFERED": "1",
    }
    if workers == 0:
        cluster.start_helper(LOCUST, single_argv(out, web_port), env, cwd=run_dir)
        return
    port = PortAllocator().take()
    cluster.start_helper(LOCUST, master_argv(out, web_port, workers, port), env, cwd=run_dir)
    for i in range(1, workers + 1):
        cluster.start_helper(worker_name(i), worker_argv(port), env | {WORKER_ENV: str(i)}, cwd=run_dir)


def stop_load(cluster: Cluster, emit: Callable[..., None], workers: int = 0) -> None:
    """The stages ended before the drain; stop Locust if it still runs (it writes its CSVs on the way out). The
    master first: it tells its workers to quit, then they are stopped if any still runs."""
    code = cluster.stop_helper(LOCUST)
    if workers == 0:
        emit("load_stopped", exit_code=code)
        return
    codes = {worker_name(i): cluster.stop_helper(worker_name(i)) for i in range(1, workers + 1)}
    emit("load_stopped", exit_code=code, workers=codes)
