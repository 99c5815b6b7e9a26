"""A rolling upgrade of Dapr on Kubernetes, the way an operator does it: ``helm upgrade`` of Dapr's release to the
new version (``chart-upgrade``: its Deployments and the scheduler's StatefulSet roll to the new images), then a
rolling restart of the app's Deployment (``sidecar-upgrade``: Dapr's injector gives every new pod the new daprd).

``prepare`` does everything that can be refused before a run starts: the release is there (``helm get values``),
the new version's chart renders with onceonly's settings kept from the release (``dapr_release.values_kept``) and
names only images built here. The steps then run ``dapr_release.install_or_upgrade`` (``--wait``) and check,
through the API, that every control-plane pod, or every app pod's daprd, runs the new version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.cluster.kubernetes import dapr_chart, dapr_release
from harness.cluster.kubernetes.api import wait_until
from harness.cluster.kubernetes.dapr_chart import ChartValues
from harness.cluster.kubernetes.helm import Helm
from harness.cluster.kubernetes.images import image_version, installation
from harness.cluster.kubernetes.signals import CONTAINERS
from harness.errors import ClusterError, InputError
from toolchain.binaries import Binaries

if TYPE_CHECKING:
    from harness.cluster.kubernetes.cluster import KubeCluster


@dataclass(frozen=True, slots=True)
class ChartStep:
    """What ``chart-upgrade`` runs: ``helm`` (its binary, the run's context) with ``values`` (the new version's)."""

    helm: Helm
    values: ChartValues


def prepare(helm: Helm, namespace: str, version: str) -> ChartStep:
    """The upgrade of Dapr's release in ``namespace`` to ``version``, checked: ``InputError`` when there is no
    release, the chart refuses the values or names an image not built here (nothing sent to the cluster)."""
    installed = helm.values(dapr_chart.RELEASE, namespace)
    if installed is None:
        raise InputError(
            f"no Dapr release {dapr_chart.RELEASE!r} in namespace {namespace} to upgrade: install the version the "
            "scenario starts from first (`onceonly k8s dapr install --dapr VERSION`, see k8s/README.md)"
        )
    values = dapr_release.values_kept(installed, version)
    dapr_release.render(helm, values, namespace)
    return ChartStep(helm, values)


def upgrade_chart(c: KubeCluster, to: Binaries) -> str:
    """``helm upgrade --install --wait`` of Dapr's release to ``to``'s version, then every scheduler pod Ready on
    it and the injector's sidecar image of it, then every daprd ready and connected again. The note says it."""
    step = c.placement.chart
    if step is None:
        raise InputError("a chart-upgrade step, but no chart upgrade was prepared (cli_backend prepares it)")
    ns, new = c.placement.dapr_namespace, to.daprd_version
    old = image_version(installation(c.api, ns).sidecar_image)
    c.progress(f"helm upgrade of Dapr's release in {ns}: {old} -> {new}")
    dapr_release.install_or_upgrade(step.helm, step.values, ns, c.progress, wait=True)
    wait_until(f"Dapr's control plane in {ns} on {new}", lambda: control_plane_problem(c, new), 300.0, c.progress)
    c.wait_ready()
    revision = dapr_release.history(step.helm, ns)[-1].number
    return f"Dapr's release {old} -> {new} (revision {revision}): scheduler pods and injector on {new}"


def control_plane_problem(c: KubeCluster, version: str) -> str | None:
    """What is not yet on ``version``: the injector's sidecar image, or a scheduler pod (its image, Ready)."""
    sidecar = image_version(installation(c.api, c.placement.dapr_namespace).sidecar_image)
    if sidecar != version:
        return f"the injector gives daprd {sidecar}"
    for pod in c.workload.scheduler_pods():
        image = next((img for name, img in pod.images.items() if "scheduler" in name), "")
        if image_version(image) != version or pod.deleting or not pod.ready:
            return f"{pod.name} on {image_version(image)}{' (not ready)' if not pod.ready else ''}"
    return None


def roll_sidecars(c: KubeCluster, to: Binaries) -> str:
    """A rolling restart of the app's Deployment (``KubeCluster.rolling_restart``: every pod replaced, each a new
    replica index), then every live pod's daprd checked to be ``to``'s version."""
    before = sorted(c.pods.present())
    c.rolling_restart(wait=True)
    live = c.pods.live()
    wrong = {
        i: image_version(pod.images.get(CONTAINERS["daprd"], ""))
        for i, pod in sorted(live.items())
        if image_version(pod.images.get(CONTAINERS["daprd"], "")) != to.daprd_version
    }
    if wrong:
        said = ", ".join(f"replica {i}: {v}" for i, v in wrong.items())
        raise ClusterError(
            f"after the rolling restart, daprd is not {to.daprd_version} ({said}): Dapr's injector gives new pods "
            "its SIDECAR_IMAGE; was the chart upgraded first?"
        )
    return f"replicas {before} replaced by {sorted(set(live) - set(before))}, every daprd on {to.daprd_version}"
