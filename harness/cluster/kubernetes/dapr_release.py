"""Dapr's Helm release on a cluster: rendered, installed or upgraded, uninstalled, its revisions read.

Every command renders first (``helm template``, offline) and checks that each image the manifests name is one
``known`` (by default the local images of that version, ``dapr_chart.local_images``), so a chart that asks for an
image this machine has not built is refused, by name, before anything reaches the cluster. Then
``helm upgrade --install`` of the chart of THAT version: an install when the namespace has no release, else its next
revision (the rolling upgrade: Deployments and StatefulSets roll to the new images).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from harness.cluster.kubernetes import dapr_chart
from harness.cluster.kubernetes.dapr_chart import ChartValues
from harness.cluster.kubernetes.helm import Helm, Progress
from harness.errors import InputError


@dataclass(frozen=True, slots=True)
class Revision:
    """One revision of the release as ``helm history`` says it."""

    number: int
    status: str  # "deployed", "superseded", "failed", ...
    chart: str  # "dapr-0.0.0": the module's chart is versioned 0.0.0
    description: str


def render(helm: Helm, values: ChartValues, namespace: str, known: Collection[str] | None = None) -> str:
    """The manifests of Dapr ``values.version``'s chart (CRDs included), checked for images.

    Raises:
        InputError: the chart refuses the values (helm's words), or names an image not in ``known``.
        EnvironmentProblem: the chart cannot be read from the Go module, or helm fails otherwise.
    """
    try:
        text = helm.template(dapr_chart.RELEASE, dapr_chart.chart_dir(values.version), namespace, values.document())
    except InputError as exc:
        if values.storage == "memory" and "inMemoryStorage" in str(exc):
            raise InputError(
                f"{exc}\nDapr {values.version}'s chart needs the scheduler on volumes: storage volume "
                "(--scheduler-storage volume)"
            ) from None
        raise
    allowed = known if known is not None else dapr_chart.local_images(values.version, values.registry)
    missing = dapr_chart.unknown_images(text, allowed)
    if missing:
        raise InputError(
            f"Dapr {values.version}'s chart names images that are not built here: {', '.join(missing)} "
            f"(expected only {', '.join(sorted(allowed))}); build them (`onceonly k8s images`) or set the "
            "registry and image names that are"
        )
    return text


def install_or_upgrade(
    helm: Helm,
    values: ChartValues,
    namespace: str,
    on_line: Progress,
    *,
    wait: bool = False,
    known: Collection[str] | None = None,
) -> str:
    """``helm upgrade --install`` of Dapr ``values.version`` into ``namespace``; the manifests it applied.

    Raises:
        InputError: as ``render``; nothing was sent to the cluster.
        ClusterError: helm failed on the cluster (helm's words); the release is left as helm left it.
    """
    text = render(helm, values, namespace, known)
    on_line(f"rendered Dapr {values.version}'s chart: {len(dapr_chart.images_named(text))} images, all local")
    helm.upgrade_install(
        dapr_chart.RELEASE, dapr_chart.chart_dir(values.version), namespace, values.document(), wait, on_line
    )
    return text


def uninstall(helm: Helm, namespace: str, on_line: Progress) -> None:
    """``helm uninstall``: the release's objects deleted (the CRDs stay, as helm leaves them)."""
    helm.uninstall(dapr_chart.RELEASE, namespace, on_line)


def history(helm: Helm, namespace: str) -> list[Revision]:
    return [_revision(entry) for entry in helm.history(dapr_chart.RELEASE, namespace)]


def _revision(entry: dict[str, Any]) -> Revision:
    return Revision(
        int(entry["revision"]), str(entry["status"]), str(entry["chart"]), str(entry.get("description", ""))
    )
