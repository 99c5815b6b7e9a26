"""The run's Locust process: start it on ``harness/load/locustfile.py`` with the load's configuration, stop it.

Locust runs as a supervised child of the cluster (own process group, parent-death signal), so it never outlives
the run. Its configuration goes to ``<run dir>/locust/load.json``; the Dapr API token and the Redis password go
by environment only. Its CSVs (``--csv-full-history``) and HTML report land in ``<run dir>/locust/``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from harness.cluster.base import Cluster
from harness.load.workload import CONFIG_ENV, REDIS_PASSWORD_ENV, TOKEN_ENV, LoadConfig
from harness.scenario.schema import LoadSection

LOCUST = "locust"


def start_load(cluster: Cluster, run_dir: Path, load: LoadSection, stable_api: bool, *, web_port: int | None) -> None:
    """Start Locust on ``harness/load/locustfile.py`` as a supervised child (it dies with the run, like the others)."""
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
    argv = [sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("locustfile.py"))]
    argv += ["--csv", str(out / "locust"), "--csv-full-history", "--html", str(out / "report.html")]
    # users finish the call they are in when the stages end (else a call cut in flight has no recorded outcome)
    argv += ["--loglevel", "WARNING", "--stop-timeout", "30"]
    if web_port is None:
        argv += ["--headless"]
    else:  # the stages start at once; the UI stays up until the run stops it
        argv += ["--web-host", "127.0.0.1", "--web-port", str(web_port), "--autostart"]
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV", "PYTHONPATH")},
        CONFIG_ENV: str(path),
        TOKEN_ENV: cluster.tokens.dapr_api,
        REDIS_PASSWORD_ENV: cluster.tokens.redis,
        "OTEL_SDK_DISABLED": "true",  # Locust exports nothing anywhere (it would only with --otel anyway)
        "PYTHONUNBUFFERED": "1",
    }
    cluster.start_helper(LOCUST, argv, env, cwd=run_dir)


def stop_load(cluster: Cluster, emit: Callable[..., None]) -> None:
    """The stages ended before the drain; stop Locust if it still runs (it writes its CSVs on the way out)."""
    emit("load_stopped", exit_code=cluster.stop_helper(LOCUST))
