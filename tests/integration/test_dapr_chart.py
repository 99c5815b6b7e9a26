"""Dapr from its own Helm chart with the helm built here (``toolchain.helm``), on the local control plane: the
1.18.2 chart rendered and valid offline, a release installed at 1.16.0 and upgraded to 1.18.2 (every image moves,
two revisions), a fresh 1.18.2 with the scheduler in memory, each uninstalled.

kwok's pods run no container: this shows the install and upgrade mechanics (objects, images, rollouts), not
Dapr working. The plane runs Dapr's injector on the host with a MutatingWebhookConfiguration named as the chart's
(``dapr-sidecar-injector``, cluster-scoped): the chart cannot own it while the plane's is there, so this module
deletes the plane's first. Each release goes in a namespace of its own, never the plane's dapr-system."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cluster.kubernetes import dapr_chart, dapr_release
from harness.cluster.kubernetes.dapr_chart import ChartValues
from harness.cluster.kubernetes.helm import Helm
from harness.cluster.kubernetes.plane.api import Api
from harness.cluster.kubernetes.plane.control_plane import LocalControlPlane
from harness.errors import InputError
from tests.unit import k8s_schemas
from toolchain import helm as helm_build
from toolchain.selection import kube_cache_root

pytestmark = [pytest.mark.integration, pytest.mark.kubernetes]


@pytest.fixture(scope="module")
def helm_binary() -> Path:
    helm_build.build(kube_cache_root())  # a no-op when built (`onceonly k8s dapr build`)
    return helm_build.binary(kube_cache_root())


WEBHOOK = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/dapr-sidecar-injector"
VOLUMES = "/api/v1/persistentvolumes"


@pytest.fixture(scope="module")
def api(kube_plane: LocalControlPlane) -> Iterator[Api]:
    kube_plane.api.request("DELETE", WEBHOOK)  # the plane's (see above)
    yield kube_plane.api


def _workloads(api: Api, namespace: str) -> dict[str, Any]:
    found = {}
    for kind in ("deployments", "statefulsets"):
        found.update(
            {w["metadata"]["name"]: w for w in api.get(f"/apis/apps/v1/namespaces/{namespace}/{kind}")["items"]}
        )
    return found


def _images(workload: Any) -> set[str]:
    images = set()
    for container in workload["spec"]["template"]["spec"]["containers"]:
        images.add(container["image"])
        images.update(e["value"] for e in container.get("env", []) if e["name"] == "SIDECAR_IMAGE")
    return images


def _rolled_out(workload: Any) -> bool:
    status, want = workload["status"], workload["spec"]["replicas"]
    done = status.get("observedGeneration") == workload["metadata"]["generation"]
    return bool(done and status.get("updatedReplicas") == want and status.get("readyReplicas") == want)


def _claims(api: Api, namespace: str) -> list[str]:
    """Each claim's phase."""
    return [c["status"]["phase"] for c in api.get(f"/api/v1/namespaces/{namespace}/persistentvolumeclaims")["items"]]


def _wait_gone(api: Api, namespace: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (left := _workloads(api, namespace)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def test_the_1_18_2_chart_renders_valid_with_only_local_images(helm_binary: Path) -> None:
    text = dapr_release.render(Helm(helm_binary), ChartValues("1.18.2"), "dapr-system")
    docs = [d for d in yaml.safe_load_all(text) if d]
    for doc in docs:
        k8s_schemas.validate(doc)
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("StatefulSet", "dapr-scheduler-server") in kinds and ("Deployment", "dapr-sidecar-injector") in kinds
    (scheduler,) = [d for d in docs if d["metadata"]["name"] == "dapr-scheduler-server" and d["kind"] == "StatefulSet"]
    assert scheduler["spec"]["replicas"] == 3 and "volumeClaimTemplates" not in scheduler["spec"]
    assert dapr_chart.images_named(text) == dapr_chart.local_images("1.18.2")


def test_install_1_16_0_then_upgrade_to_1_18_2_then_uninstall(
    helm_binary: Path, kube_plane: LocalControlPlane, api: Api, tmp_path: Path
) -> None:
    """1.16's chart refuses in-memory storage with three schedulers, and claims cannot change on upgrade: the
    release keeps volumes from its install on, bound to the hostPath volumes made here."""
    ns, lines = "dapr-upgrade", list[str]()
    helm = Helm(helm_binary, kubeconfig=str(kube_plane.kubeconfig), timeout="3m0s")
    volumes = dapr_chart.scheduler_volumes(ns, str(tmp_path / "volumes"))
    for volume in volumes:
        api.request("POST", VOLUMES, json=volume)
    try:
        for version in ("1.16.0", "1.18.2"):
            values = ChartValues(version, storage="volume")
            dapr_release.install_or_upgrade(helm, values, ns, lines.append, wait=True)
            workloads = _workloads(api, ns)
            assert set(workloads) >= {"dapr-operator", "dapr-sentry", "dapr-sidecar-injector", "dapr-scheduler-server"}
            assert all(_rolled_out(w) for w in workloads.values()), {n: w["status"] for n, w in workloads.items()}
            images = set().union(*(_images(w) for w in workloads.values()))
            assert images <= dapr_chart.local_images(version), images
            assert f"onceonly.local/dapr/daprd:{version}" in images
        scheduler = workloads["dapr-scheduler-server"]
        assert scheduler["spec"]["replicas"] == 3
        assert scheduler["status"]["currentRevision"] == scheduler["status"]["updateRevision"]
        assert _claims(api, ns) == ["Bound"] * 3
        with pytest.raises(InputError, match=r"keeps its scheduler storage \(volume\)"):  # memory: refused, not sent
            dapr_release.install_or_upgrade(helm, ChartValues("1.18.2"), ns, lines.append)
        revisions = dapr_release.history(helm, ns)
        assert [(r.number, r.status) for r in revisions] == [(1, "superseded"), (2, "deployed")]
    finally:
        dapr_release.uninstall(helm, ns, lines.append)
    assert _wait_gone(api, ns) == {}
    for volume in volumes:
        api.request("DELETE", f"{VOLUMES}/{volume['metadata']['name']}")


def test_a_fresh_1_18_2_keeps_the_scheduler_in_memory(
    helm_binary: Path, kube_plane: LocalControlPlane, api: Api
) -> None:
    ns, lines = "dapr-memory", list[str]()
    helm = Helm(helm_binary, kubeconfig=str(kube_plane.kubeconfig), timeout="3m0s")
    try:
        dapr_release.install_or_upgrade(helm, ChartValues("1.18.2"), ns, lines.append, wait=True)
        scheduler = _workloads(api, ns)["dapr-scheduler-server"]
        assert scheduler["spec"]["replicas"] == 3 and "volumeClaimTemplates" not in scheduler["spec"]
        volumes = scheduler["spec"]["template"]["spec"]["volumes"]
        (data,) = [v for v in volumes if v["name"] == dapr_chart.SCHEDULER_CLAIM]
        assert data["emptyDir"] == {"medium": "Memory"}
        assert _rolled_out(scheduler)
        assert _claims(api, ns) == []
        assert [r.number for r in dapr_release.history(helm, ns)] == [1]
    finally:
        dapr_release.uninstall(helm, ns, lines.append)
    assert _wait_gone(api, ns) == {}
