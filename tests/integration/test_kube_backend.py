"""The kubernetes backend against a real API server (the local control plane, ``kube_plane``): its own code (the
real ``ClientApi``, ``Workload``, ``operations``, ``ReplicaMap``) creates a run's namespace, applies jobs-vs-cron's
rendered manifests and waits for the rollout; each capability is then observed through the API, not through the
backend's own view; and `onceonly run --backend kubernetes` leaves no namespace behind, failed or interrupted, and
refuses a network fault before creating anything.

What kwok cannot do is asserted as the backend says it, never faked: kwok's nodes run no kubelet, so a port-forward
or an exec is refused by the API server, readiness ends with "the pods are Running and Ready but daprd does not
answer ... kwok" (exit 4), and a kill of the app or daprd (an exec) is a ``ClusterError`` naming the cause. Delivery
verdicts on Kubernetes need real pods (issue 16).

Dapr's installation as its Helm chart names it is made here in dapr-system, since the plane runs Dapr's injector on
the host: a Deployment ``dapr-sidecar-injector`` (its ``SIDECAR_IMAGE``, which the backend reads) and a StatefulSet
``dapr-scheduler-server`` of 3 kwok pods (the pods a scheduler fault deletes). The real scheduler arrives with
issue 16.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cluster.base import ClusterSpec
from harness.cluster.kubernetes import operations
from harness.cluster.kubernetes.backend import KubernetesBackend
from harness.cluster.kubernetes.client import NO_KUBELET_HINT, ClientApi, connect
from harness.cluster.kubernetes.cluster import KubeCluster
from harness.cluster.kubernetes.images import installation
from harness.cluster.kubernetes.plane.control_plane import LocalControlPlane
from harness.cluster.kubernetes.readiness import NO_CONTAINERS, PortForwardsRefused
from harness.cluster.kubernetes.render import LABEL_RUN
from harness.cluster.kubernetes.workload import APP_SELECTOR, INJECTOR, SCHEDULER, SCHEDULER_SELECTOR
from harness.errors import ClusterError
from harness.scenario.loader import load_scenario

pytestmark = [pytest.mark.integration, pytest.mark.kubernetes]

ROOT = Path(__file__).resolve().parents[2]
HEADLINE = ROOT / "scenarios" / "jobs-vs-cron.yaml"
NETWORK = ROOT / "scenarios" / "network-blackhole.yaml"
DAPR_NS = "dapr-system"
Started = tuple[KubeCluster, ClusterError, float]  # the run's cluster, what readiness said, the seconds it took
IMAGE = "onceonly-target-app:test"


def _installation_objects() -> list[dict[str, Any]]:
    def workload(kind: str, name: str, replicas: int, container: dict[str, Any]) -> dict[str, Any]:
        labels = {"app": name, "onceonly/test": "dapr-installation"}  # never the plane's injector pod (app= only)
        spec: dict[str, Any] = {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        }
        if kind == "StatefulSet":
            spec |= {"serviceName": name, "podManagementPolicy": "Parallel"}
        return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": DAPR_NS}, "spec": spec}

    injector = {
        "name": "dapr-sidecar-injector",
        "image": "ghcr.io/dapr/injector:1.18.2",
        "env": [{"name": "SIDECAR_IMAGE", "value": "ghcr.io/dapr/daprd:1.18.2"}],
    }
    scheduler = {"name": SCHEDULER, "image": "ghcr.io/dapr/scheduler:1.18.2"}
    # the injector's Deployment only says the sidecar image (0 replicas): the injector runs on the plane's host
    return [workload("Deployment", INJECTOR, 0, injector), workload("StatefulSet", SCHEDULER, 3, scheduler)]


def _until(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} not seen in {timeout:.0f} s"
        time.sleep(0.2)


def _listed(api: ClientApi, namespace: str, selector: str) -> list[Any]:
    """The pods as the API lists them (the client's models), not the backend's ``PodView``."""
    return list(api.core.list_namespaced_pod(namespace, label_selector=selector).items)


def _ready(pod: Any) -> bool:
    return pod.metadata.deletion_timestamp is None and any(
        c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []
    )


def _run_namespaces(api: ClientApi) -> list[str]:
    return [n.metadata.name for n in api.core.list_namespace(label_selector=LABEL_RUN).items]


@pytest.fixture(scope="module")
def api(kube_plane: LocalControlPlane) -> Iterator[ClientApi]:
    """The backend's own client on the plane, from the plane's kubeconfig (its current context); closed after the
    module (an unclosed one's sockets were collected during test_kube_node and failed it)."""
    made = connect(kubeconfig=str(kube_plane.kubeconfig))
    yield made
    made.close()


@pytest.fixture(scope="module")
def dapr_installation(api: ClientApi) -> ClientApi:
    for doc in _installation_objects():
        api.apply(doc)
    _until(
        "3 scheduler pods Ready", lambda: len([p for p in _listed(api, DAPR_NS, SCHEDULER_SELECTOR) if _ready(p)]) == 3
    )
    return api


@pytest.fixture(scope="module")
def started(dapr_installation: ClientApi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """A run's cluster as the backend starts it: namespace, apply, rollout, then daprd's readiness, which kwok
    cannot give (the error and the seconds it took are handed on); stopped (namespace deleted) after the module."""
    api = dapr_installation
    scenario = load_scenario(HEADLINE, [])
    backend = KubernetesBackend(api, scenario, image=IMAGE, allow_scheduler_faults=True)
    run_dir = tmp_path_factory.mktemp("runs") / "kube-backend-itest"
    run_dir.mkdir()
    bins = installation(api, DAPR_NS).binaries(api.context)
    cluster = backend.create(ClusterSpec(replicas=3, ready_timeout=60.0), bins, run_dir)
    began = time.monotonic()
    with pytest.raises(ClusterError) as caught:
        cluster.start()
    took = time.monotonic() - began
    cluster.pods.started()  # as start() does once ready: pods seen from now on were added during the run
    try:
        yield cluster, caught.value, took
    finally:
        cluster.stop(failed=True)
        assert not api.namespace_exists(cluster.placement.namespace)


def _app_pods(cluster: KubeCluster) -> dict[str, Any]:
    """The app's pods the API lists, not deleting, by name."""
    listed = _listed(cluster.api, cluster.placement.namespace, APP_SELECTOR)  # type: ignore[arg-type]
    return {p.metadata.name: p for p in listed if p.metadata.deletion_timestamp is None}


def _settled(cluster: KubeCluster, replicas: int) -> dict[str, Any]:
    """Wait, through the API, until the Deployment has ``replicas`` and exactly that many pods, all Ready, and
    none deleting; those pods."""
    api: ClientApi = cluster.api  # type: ignore[assignment]
    ns = cluster.placement.namespace

    def check() -> dict[str, Any] | None:
        d = api.apps.read_namespaced_deployment("onceonly-app", ns)
        listed = _listed(api, ns, APP_SELECTOR)
        if d.spec.replicas != replicas or len(listed) != replicas or not all(_ready(p) for p in listed):
            return None
        return {p.metadata.name: p for p in listed}

    return dict(_until(f"{replicas} app pods Ready and none deleting", check))


def test_the_backend_creates_the_namespace_applies_and_rolls_out_then_says_kwok_runs_no_daprd(
    started: Started,
) -> None:
    cluster, error, took = started
    api: ClientApi = cluster.api  # type: ignore[assignment]
    ns = api.core.read_namespace(cluster.placement.namespace)
    assert ns.metadata.labels[LABEL_RUN] == cluster.run_id == "kube-backend-itest"
    for kind, name in (("Deployment", "onceonly-app"), ("Deployment", "onceonly-redis"), ("Secret", "onceonly-redis")):
        reader = api.apps.read_namespaced_deployment if kind == "Deployment" else api.core.read_namespaced_secret
        stored = reader(name, cluster.placement.namespace)
        assert stored.metadata.managed_fields[0].manager == "onceonly"  # server-side apply, field manager onceonly
    pods = _settled(cluster, 3)
    for pod in pods.values():  # injected by Dapr's real injector, on the scenario's app id
        assert [c.name for c in pod.spec.containers] == ["app", "daprd"]
    assert isinstance(error, PortForwardsRefused), error
    assert str(error).startswith(NO_CONTAINERS) and "no preferred addresses found" in str(error)
    assert took < 30, f"readiness took {took:.0f} s to say kwok runs no daprd"
    assert sorted(cluster.pods.names().values()) == [0, 1, 2]
    assert set(cluster.pods.names()) == set(pods)


def test_scaling_3_to_5_to_2_gives_new_pods_new_indices_and_marks_removed_ones(
    started: Started,
) -> None:
    cluster, _error, _took = started
    cluster.workload.scale(3)
    before = _settled(cluster, 3)
    cluster.refresh()
    known = dict(cluster.pods.names())
    cluster.workload.scale(5)
    cluster.workload.wait_rollout(60)
    up = _settled(cluster, 5)
    assert cluster.api.deployment(cluster.placement.namespace, "onceonly-app").replicas == 5
    cluster.refresh()
    added = {name: cluster.pods.names()[name] for name in set(up) - set(before)}
    assert len(added) == 2 and min(added.values()) > max(known.values())
    assert all(cluster.lifetimes[i][1] is None for i in added.values())  # added during the run, still there
    # through the operation (the scale subresource, then waiting ready: kwok's pods never have a daprd)
    with pytest.raises(PortForwardsRefused):
        cluster.scale(2)
    down = _settled(cluster, 2)
    cluster.refresh()
    gone = {cluster.pods.names()[name] for name in set(up) - set(down)}
    assert len(gone) == 3 and gone <= set(cluster.removed) and gone <= set(cluster.lifetimes)
    assert set(cluster.pods.present()) == {cluster.pods.names()[n] for n in down}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["graceful", "forced"])
def test_deleting_a_pod_replaces_it_with_a_new_index(started: Started, sig: signal.Signals) -> None:
    cluster, _error, _took = started
    replicas = cluster.api.deployment(cluster.placement.namespace, "onceonly-app").replicas
    before = _settled(cluster, replicas)
    cluster.refresh()
    index = min(cluster.pods.present())
    victim = cluster.pods.present()[index].name
    highest = max(cluster.pods.names().values())
    began = time.monotonic()
    cluster.kill(index, "both", sig)  # returns once the API no longer lists the pod
    took = time.monotonic() - began
    assert victim not in {p.metadata.name for p in _listed(cluster.api, cluster.placement.namespace, APP_SELECTOR)}  # type: ignore[arg-type]
    after = _settled(cluster, replicas)
    (replacement,) = set(after) - set(before)
    cluster.refresh()
    assert cluster.pods.names()[replacement] > highest
    assert index in cluster.removed and cluster.lifetimes[index][1] is not None
    assert took < 35, f"{sig.name}: the pod took {took:.0f} s to go"


def test_a_rolling_restart_replaces_every_pod(started: Started) -> None:
    cluster, _error, _took = started
    replicas = cluster.api.deployment(cluster.placement.namespace, "onceonly-app").replicas
    before = _settled(cluster, replicas)
    cluster.rolling_restart(wait=False)
    after = _until("every pod replaced", lambda: (p := _settled(cluster, replicas)) and not set(p) & set(before) and p)
    cluster.refresh()
    assert {cluster.pods.names()[n] for n in before} <= set(cluster.removed)
    assert set(cluster.pods.present()) == {cluster.pods.names()[n] for n in after}


def test_deleting_a_scheduler_pod_in_daprs_namespace_its_statefulset_makes_it_again(
    started: Started,
) -> None:
    cluster, _error, _took = started
    api: ClientApi = cluster.api  # type: ignore[assignment]
    name = f"{SCHEDULER}-1"
    uid = api.core.read_namespaced_pod(name, DAPR_NS).metadata.uid
    cluster.stop_scheduler(1, signal.SIGKILL)
    cluster.start_scheduler(1, wait=False)  # waits until member 1 is Ready again (no daprd to wait for on kwok)
    again = api.core.read_namespaced_pod(name, DAPR_NS)
    assert again.metadata.uid != uid and _ready(again)
    assert cluster.scheduler_count == 3


@pytest.mark.parametrize("part", ["app", "daprd"])
def test_a_kill_of_app_or_daprd_is_refused_naming_the_cause(started: Started, part: str) -> None:
    """The exec that signals a process goes through the pod's kubelet, which kwok's nodes do not have."""
    cluster, _error, _took = started
    cluster.refresh()
    index = min(cluster.pods.present())
    pod = cluster.pods.present()[index]
    with pytest.raises(ClusterError) as caught:
        operations.kill(cluster, index, part, signal.SIGKILL)  # type: ignore[arg-type]
    assert f"exec in pod {cluster.placement.namespace}/{pod.name}" in str(caught.value)
    assert NO_KUBELET_HINT in str(caught.value)
    assert pod.name in _app_pods(cluster)  # nothing was done to the pod


def _run(kube_plane: LocalControlPlane, scenario: Path, reports: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "harness.cli", "run", str(scenario), "--backend", "kubernetes"]
    argv += ["--image", IMAGE, "--reports", str(reports)]
    env = {**os.environ, "KUBECONFIG": str(kube_plane.kubeconfig)}
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_run_on_kwok_fails_plainly_with_exit_4_and_leaves_no_namespace(
    kube_plane: LocalControlPlane, dapr_installation: ClientApi, tmp_path: Path
) -> None:
    api = dapr_installation
    before = set(_run_namespaces(api))
    proc = _run(kube_plane, HEADLINE, tmp_path)
    seen = _until("the run's namespace", lambda: set(_run_namespaces(api)) - before, timeout=60)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 4, output
    flat = " ".join(output.split())
    assert "Running and Ready but daprd does not answer" in flat and "kwok" in flat, output
    assert set(_run_namespaces(api)) == before
    assert not any(api.namespace_exists(ns) for ns in seen)


def test_a_run_interrupted_while_waiting_exits_130_and_leaves_no_namespace(
    kube_plane: LocalControlPlane, dapr_installation: ClientApi, tmp_path: Path
) -> None:
    api = dapr_installation
    before = set(_run_namespaces(api))
    proc = _run(kube_plane, HEADLINE, tmp_path)
    try:
        (ns,) = _until("the run's namespace", lambda: set(_run_namespaces(api)) - before, timeout=60)
        _until("the run's app pods Ready", lambda: [p for p in _listed(api, ns, APP_SELECTOR) if _ready(p)])
        assert proc.poll() is None, "the run ended before it was interrupted"
        proc.send_signal(signal.SIGINT)  # while readiness waits for daprd
        output, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 130, output
    assert not api.namespace_exists(ns) and set(_run_namespaces(api)) == before


def test_a_scenario_needing_a_network_fault_is_refused_before_any_namespace(
    kube_plane: LocalControlPlane, api: ClientApi, tmp_path: Path
) -> None:
    before = sorted(n.metadata.name for n in api.core.list_namespace().items)
    proc = _run(kube_plane, NETWORK, tmp_path)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 3, output
    assert "'network'" in output and "kubernetes" in output, output
    assert sorted(n.metadata.name for n in api.core.list_namespace().items) == before
    assert not list(tmp_path.iterdir()), "no run dir either"
