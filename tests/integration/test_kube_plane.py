"""The local Kubernetes control plane (``LocalControlPlane``, what ``onceonly k8s up`` holds) against real
processes: jobs-vs-cron's rendered manifests apply to its API server, kwok runs the Deployment's pods (and replaces
a deleted one), Dapr's real injector adds daprd to each recorder pod, and nothing of a plane outlives it, even when
its harness is SIGKILLed; `onceonly k8s up` holds one until Ctrl-C.

kwok's pods run no container: these tests show the manifests and Dapr's mutation, not deliveries (issue 16)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.cluster.base import Tokens
from harness.cluster.kubernetes.manifests import Overlay
from harness.cluster.kubernetes.plane.control_plane import LocalControlPlane, PlaneBinaries
from harness.cluster.kubernetes.render import default_namespace, render
from harness.cluster.local.ports import is_listening
from harness.scenario.loader import load_scenario
from tests.integration.helpers import hold_then_interrupt, wait_gone

pytestmark = [pytest.mark.integration, pytest.mark.kubernetes]

ROOT = Path(__file__).resolve().parents[2]
HEADLINE = ROOT / "scenarios" / "jobs-vs-cron.yaml"


def _rendered() -> list[dict[str, Any]]:
    scenario = load_scenario(HEADLINE, [])
    ns = default_namespace(scenario)
    overlay = Overlay(namespace=ns, image="onceonly-target-app:test", run_id=ns, tokens=Tokens())
    return render(scenario, overlay)


def _one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _pods(plane: LocalControlPlane, deployment: dict[str, Any]) -> list[dict[str, Any]]:
    labels = deployment["spec"]["selector"]["matchLabels"]
    selector = ",".join(f"{k}={v}" for k, v in labels.items())
    ns = deployment["metadata"]["namespace"]
    return list(plane.api.request("GET", f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": selector})["items"])


def _wait_running(plane: LocalControlPlane, deployment: dict[str, Any], timeout: float = 90) -> list[dict[str, Any]]:
    want = deployment["spec"]["replicas"]
    deadline = time.monotonic() + timeout
    while True:
        pods = _pods(plane, deployment)
        running = [p for p in pods if p["status"].get("phase") == "Running"]
        if (len(running) == want and len(pods) == want) or time.monotonic() > deadline:
            return running
        time.sleep(0.2)


@pytest.fixture(scope="module")
def applied(kube_plane: LocalControlPlane) -> list[dict[str, Any]]:
    """jobs-vs-cron's manifests applied server-side: each dry-run first, then for real. The Namespace goes in
    for real before the rest is dry-run (a dry run in a namespace that does not exist is refused)."""
    docs = _rendered()
    namespace, rest = docs[0], docs[1:]
    assert namespace["kind"] == "Namespace"
    kube_plane.api.apply(namespace, dry_run=True)
    kube_plane.api.apply(namespace)
    for doc in rest:
        kube_plane.api.apply(doc, dry_run=True)
    for doc in rest:
        kube_plane.api.apply(doc)
    return docs


def test_rendered_manifests_apply_and_the_deployments_pods_run_on_kwok_nodes(
    kube_plane: LocalControlPlane, applied: list[dict[str, Any]]
) -> None:
    for doc in applied:  # every object is stored as rendered (a dry run stores nothing, so this is the real one)
        stored = kube_plane.api.get(kube_plane.api.path(doc))
        assert stored["metadata"]["name"] == doc["metadata"]["name"]
    app = _one(applied, "Deployment", "onceonly-app")
    running = _wait_running(kube_plane, app)
    assert len(running) == app["spec"]["replicas"] > 1
    assert {p["spec"]["nodeName"] for p in running} <= set(kube_plane.node_names)
    for pod in running:  # created by the ReplicaSet controller, placed by the scheduler, made Ready by kwok
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
        assert any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"]["conditions"])


def test_the_real_injector_adds_daprd_with_the_scenarios_app_id_and_port(
    kube_plane: LocalControlPlane, applied: list[dict[str, Any]]
) -> None:
    app = _one(applied, "Deployment", "onceonly-app")
    annotations = app["spec"]["template"]["metadata"]["annotations"]
    app_id, app_port = annotations["dapr.io/app-id"], annotations["dapr.io/app-port"]
    assert (app_id, app_port) == ("onceonly", "8000")
    pods = _wait_running(kube_plane, app)
    assert len(pods) == app["spec"]["replicas"]
    for pod in pods:
        containers = {c["name"]: c for c in pod["spec"]["containers"]}
        assert set(containers) == {"app", "daprd"}, f"{pod['metadata']['name']}: {sorted(containers)}"
        args = containers["daprd"]["args"]
        assert args[args.index("--app-id") + 1] == app_id
        assert args[args.index("--app-port") + 1] == app_port
        assert args[args.index("--mode") + 1] == "kubernetes"
    redis = _one(applied, "Deployment", "onceonly-redis")  # not Dapr-enabled: left alone by the injector
    for pod in _wait_running(kube_plane, redis):
        assert "daprd" not in [c["name"] for c in pod["spec"]["containers"]]


def test_a_deleted_recorder_pod_is_replaced_by_a_new_injected_one(
    kube_plane: LocalControlPlane, applied: list[dict[str, Any]]
) -> None:
    app = _one(applied, "Deployment", "onceonly-app")
    before = _wait_running(kube_plane, app)
    victim = before[0]["metadata"]
    kube_plane.api.request("DELETE", f"/api/v1/namespaces/{victim['namespace']}/pods/{victim['name']}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        after = _wait_running(kube_plane, app)
        names = {p["metadata"]["name"] for p in after}
        if victim["name"] not in names and len(after) == len(before):
            break
        time.sleep(0.2)
    assert victim["name"] not in names and len(after) == len(before)
    (new,) = [p for p in after if p["metadata"]["name"] not in {b["metadata"]["name"] for b in before}]
    assert "daprd" in [c["name"] for c in new["spec"]["containers"]]


def _plane_ports(plane: LocalControlPlane) -> list[int]:
    return list(plane.ports.as_dict().values())


def test_nothing_of_a_plane_is_left_after_its_exit(plane_bins: PlaneBinaries, tmp_path: Path) -> None:
    with LocalControlPlane(tmp_path / "plane", plane_bins, nodes=1) as plane:
        pids, ports = plane.pids(), _plane_ports(plane)
        assert len(pids) == 7 and all(is_listening(p) for p in (plane.ports.apiserver, plane.ports.injector))
    assert wait_gone(pids, timeout=0.0) == []  # stop waited for every process
    assert [p for p in ports if is_listening(p)] == []


HOLDER = """
import json, sys, time
from pathlib import Path
from harness.cluster.kubernetes.plane.binaries import cached
from harness.cluster.kubernetes.plane.control_plane import LocalControlPlane
plane = LocalControlPlane(Path(sys.argv[1]), cached(sys.argv[2], sys.argv[3]), nodes=1)
plane.start()
Path(sys.argv[4] + ".tmp").write_text(json.dumps({"pids": plane.pids(), "ports": plane.ports.as_dict()}))
Path(sys.argv[4] + ".tmp").rename(sys.argv[4])
time.sleep(600)
"""


def test_a_sigkilled_harness_leaves_no_process_and_no_port_of_its_plane(
    plane_bins: PlaneBinaries, tmp_path: Path
) -> None:
    held = tmp_path / "held.json"
    argv = [sys.executable, "-c", HOLDER, str(tmp_path / "plane"), plane_bins.kube_version, plane_bins.dapr_version]
    holder = subprocess.Popen([*argv, str(held)], env=dict(os.environ), cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while not held.exists() and holder.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert held.exists(), f"the holder did not start a plane (exit {holder.poll()})"
        record = json.loads(held.read_text())
        assert is_listening(record["ports"]["apiserver"]) and is_listening(record["ports"]["injector"])
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert wait_gone(record["pids"], timeout=15.0) == []
    ports = list(record["ports"].values())
    deadline = time.monotonic() + 10
    while any(is_listening(p) for p in ports) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in ports if is_listening(p)] == []


def test_k8s_up_holds_a_plane_until_ctrl_c_and_leaves_nothing(plane_bins: PlaneBinaries, tmp_path: Path) -> None:
    """`onceonly k8s up` as a user runs it: ready, says where the kubeconfig is, stops on SIGINT (Ctrl-C)."""
    directory = tmp_path / "plane"
    argv = [sys.executable, "-m", "harness.cli", "k8s", "up", "--nodes", "1", "--dir", str(directory)]
    argv += ["--version", plane_bins.kube_version, "--dapr", plane_bins.dapr_version]
    record, output, code = hold_then_interrupt(argv, directory / "plane.json", "k8s up")
    assert code == 0, output
    assert f"export KUBECONFIG={directory.resolve() / 'kubeconfig'}" in output
    assert "stopped; no process of the plane is left" in output
    assert oct((directory / "kubeconfig").stat().st_mode & 0o777) == "0o600"
    assert wait_gone(list(record["processes"].values()), timeout=0.0) == []
    assert [p for p in record["ports"].values() if is_listening(p)] == []
