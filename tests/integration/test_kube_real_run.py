"""The headline scenario judged on real pods: the local control plane without the host-run Dapr
(``host_dapr=False``), one real node with cluster DNS, every image built by ``onceonly k8s images`` imported into
its containerd, Dapr 1.18.2 installed from its chart (scheduler in memory) and every Dapr pod Ready, then
``onceonly run scenarios/jobs-vs-cron.yaml --backend kubernetes``: the verdict must be the local backend's (jobs
once per occurrence, the cron binding once per replica per tick: pass), the recorder pods on the real node with
the injected sidecar from the local daprd image. Each phase's time is printed (k8s/README.md "Verdicts on real
pods").

Needs root, the node's Debian packages and the images built (skipped with the reason otherwise); minutes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cluster.kubernetes.plane import binaries as plane_binaries
from harness.cluster.kubernetes.plane import pki
from harness.cluster.kubernetes.plane.control_plane import LocalControlPlane, PlaneBinaries
from harness.cluster.kubernetes.plane.node import host, images
from harness.cluster.kubernetes.plane.node.local_node import LocalNode
from toolchain.images import catalog

pytestmark = [pytest.mark.integration, pytest.mark.kubernetes, pytest.mark.k8s_node]
if os.geteuid() != 0 or host.missing():
    pytestmark.append(pytest.mark.skip(reason=f"a real node needs root and {', '.join(host.missing()) or 'root'}"))

ROOT = Path(__file__).resolve().parents[2]
RECORDER = "docker.io/library/onceonly-target-app:0.1.0"


def _archives(dapr_version: str) -> list[images.Image]:
    index = catalog.index_path(dapr_version, None)
    if not index.is_file():
        pytest.skip(f"the images are not built ({index} is missing): run `onceonly k8s images --dapr {dapr_version}`")
    return list(images.listed(index))


def _cli(*args: str, kubeconfig: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    argv = [sys.executable, "-m", "harness.cli", *args]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_jobs_vs_cron_passes_on_real_pods(plane_bins: PlaneBinaries, tmp_path: Path) -> None:
    archives = _archives(plane_bins.dapr_version)
    times: dict[str, float] = {}
    started = time.monotonic()
    with (
        LocalControlPlane(tmp_path / "plane", plane_bins, nodes=1, host_dapr=False) as plane,
        LocalNode(plane, plane_binaries.node(plane_bins)) as node,
    ):
        times["plane and node"] = time.monotonic() - started
        assert not {"sentry", "injector"} & set(plane.supervisor.children), "the host ran Dapr beside the chart"
        mark = time.monotonic()
        for image in archives:
            images.import_image(node.layout.socket, image)
        times["images imported"] = time.monotonic() - mark

        mark = time.monotonic()
        install = ("k8s", "dapr", "install", "--dapr", plane_bins.dapr_version, "--scheduler-storage", "memory")
        done = _cli(*install, "--wait", "--timeout", "5m0s", kubeconfig=plane.kubeconfig, timeout=400)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        times["Dapr's chart, every pod Ready"] = time.monotonic() - mark

        mark = time.monotonic()
        run = ("run", "scenarios/jobs-vs-cron.yaml", "--backend", "kubernetes", "--image", RECORDER)
        done = _cli(*run, "--reports", str(tmp_path / "reports"), kubeconfig=plane.kubeconfig, timeout=900)
        times["the run"] = time.monotonic() - mark
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    times["end to end (with the stop)"] = time.monotonic() - started
    print("; ".join(f"{what} {seconds:.1f} s" for what, seconds in times.items()))

    (run_dir,) = (tmp_path / "reports" / "jobs-vs-cron").iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["verdict"] == "pass"
    ratios = {row["source"]: row["deliveries_per_occurrence"] for row in results["sources"]}
    assert ratios == {"jobs": 1.0, "binding": 3.0}, results["sources"]
    assert all(set(row["per_replica"]) == {"0", "1", "2"} for row in results["sources"]), results["sources"]
    pods = json.loads((run_dir / "pods.json").read_text())["pods"]
    assert {pod["node"] for pod in pods} == {pki.NODE_NAME}, pods
    source = json.loads((run_dir / "run.json").read_text())["dapr"]["source"]
    assert f"sidecar onceonly.local/dapr/daprd:{plane_bins.dapr_version}" in source, source
