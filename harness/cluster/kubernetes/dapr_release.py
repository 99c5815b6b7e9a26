"""Dapr's Helm release on a cluster: rendered, installed or upgraded, uninstalled, its revisions read.

Every command renders first (``helm template``, offline) and checks that each image the manifests name is one
``known`` (by default the local images of that version, ``dapr_chart.local_images``), so a chart that asks for an
image this machine has not built is refused, by name, before anything reaches the cluster. Then
``helm upgrade --install`` of the chart of THAT version: an install when the namespace has no release, else its next
revision (the rolling upgrade: Deployments and StatefulSets roll to the new images).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
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
        InputError: as ``render``, or an upgrade that would change the scheduler's storage; nothing was sent.
        ClusterError: helm failed on the cluster (helm's words); the release is left as helm left it.
    """
    text = render(helm, values, namespace, known)
    on_line(f"rendered Dapr {values.version}'s chart: {len(dapr_chart.images_named(text))} images, all local")
    installed = helm.values(dapr_chart.RELEASE, namespace)
    if installed is not None:
        check_storage_kept(installed, values, namespace)
    helm.upgrade_install(
        dapr_chart.RELEASE, dapr_chart.chart_dir(values.version), namespace, values.document(), wait, on_line
    )
    return text


def values_kept(installed: Mapping[str, Any], version: str) -> ChartValues:
    """The values of an upgrade to ``version`` of the release made with ``installed`` (``helm get values --all``):
    onceonly's own settings kept (registry, scheduler storage and its size, HA, log level, pull policy). Any other
    value given at install (``--set``) is not carried over."""
    top = installed.get("global") or {}
    cluster = (installed.get("dapr_scheduler") or {}).get("cluster") or {}
    return ChartValues(
        version,
        registry=str(top.get("registry", dapr_chart.REGISTRY)),
        storage="memory" if cluster.get("inMemoryStorage") else "volume",
        storage_size=str(cluster.get("storageSize", "1Gi")),
        ha=bool((top.get("ha") or {}).get("enabled", False)),
        log_level=str((installed.get("dapr_operator") or {}).get("logLevel", "info")),
        pull_policy=str(top.get("imagePullPolicy", "IfNotPresent")),
    )


def check_storage_kept(installed: Mapping[str, Any], values: ChartValues, namespace: str) -> None:
    """``InputError`` when an upgrade would move the scheduler between memory and claims: a StatefulSet's
    ``volumeClaimTemplates`` cannot change, so helm would fail half-way (the other workloads already rolled)."""
    was = bool(installed.get("dapr_scheduler", {}).get("cluster", {}).get("inMemoryStorage"))
    wants = bool(values.document()["dapr_scheduler"]["cluster"]["inMemoryStorage"])
    if was != wants:
        words = {True: "memory", False: "volume"}
        raise InputError(
            f"Dapr's release in {namespace} keeps its scheduler storage ({words[was]}): an upgrade cannot change a "
            f"StatefulSet's claims; give storage {words[was]} (--scheduler-storage {words[was]}), or uninstall "
            "first (the scheduler's jobs go with it)"
        )


def uninstall(helm: Helm, namespace: str, on_line: Progress) -> None:
    """``helm uninstall``: the release's objects deleted (the CRDs stay, as helm leaves them)."""
    helm.uninstall(dapr_chart.RELEASE, namespace, on_line)


def history(helm: Helm, namespace: str) -> list[Revision]:
    return [_revision(entry) for entry in helm.history(dapr_chart.RELEASE, namespace)]


def _revision(entry: dict[str, Any]) -> Revision:
    return Revision(
        int(entry["revision"]), str(entry["status"]), str(entry["chart"]), str(entry.get("description", ""))
    )
