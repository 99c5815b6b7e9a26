"""The Dapr version of a container image (its tag), and the versions the cluster's Dapr installation runs: the
sidecar the injector adds (its Deployment's ``SIDECAR_IMAGE``) and the scheduler's pods' image.

A Kubernetes run's ``run.json`` records these as its ``dapr`` versions, with the images as their source; the
sidecars of the running pods say theirs again in ``versions()`` (``daprd-<i>``, ``scheduler-<i>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.cluster.kubernetes.api import KubeApi
from harness.cluster.kubernetes.workload import INJECTOR, SCHEDULER_SELECTOR
from harness.errors import ClusterError
from toolchain.binaries import Binaries

UNTAGGED = "unknown"
SIDECAR_IMAGE = "SIDECAR_IMAGE"
NOT_A_FILE = Path("/nonexistent/kubernetes")  # a Kubernetes run has no binaries of its own on this machine


def image_version(image: str) -> str:
    """``daprio/daprd:1.18.2`` -> ``1.18.2``; ``ghcr.io/dapr/dapr:1.18.2-mariner@sha256:..`` -> ``1.18.2-mariner``;
    an image without a tag (a digest, or none: "latest" by Kubernetes' rule) -> ``unknown``."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return UNTAGGED
    tag = last.rsplit(":", 1)[1]
    return tag.removeprefix("v") if tag and tag != "latest" else UNTAGGED


@dataclass(frozen=True, slots=True)
class Installation:
    sidecar_image: str
    scheduler_image: str

    def binaries(self, context: str) -> Binaries:
        """As the runner records a run's Dapr: the versions from the images, the source naming them."""
        return versions_only(
            image_version(self.sidecar_image),
            image_version(self.scheduler_image),
            f"kubernetes context {context}: sidecar {self.sidecar_image}, scheduler {self.scheduler_image}",
        )


def versions_only(daprd: str, scheduler: str, source: str) -> Binaries:
    """A Dapr a Kubernetes run records (its installation's, or the one a chart upgrade moves to): versions and
    where they come from; no binary on this machine."""
    return Binaries(NOT_A_FILE / "daprd", NOT_A_FILE / "scheduler", daprd, scheduler, source)


def installation(api: KubeApi, dapr_namespace: str) -> Installation:
    """The images of Dapr's installation in ``dapr_namespace`` (Dapr's Helm chart: the injector's Deployment and
    the scheduler's pods). ``ClusterError`` naming what could not be read."""
    try:
        sidecar = api.container_env(dapr_namespace, INJECTOR, SIDECAR_IMAGE)
        schedulers = api.pods(dapr_namespace, SCHEDULER_SELECTOR)
    except Exception as exc:
        raise ClusterError(
            f"cannot read Dapr's installation in namespace {dapr_namespace} ({type(exc).__name__}: "
            f"{str(exc)[:200]}): is Dapr installed there by its Helm chart (--dapr-namespace), and may this user "
            "get deployments and list pods there?"
        ) from None
    if sidecar is None:
        raise ClusterError(f"deployment {INJECTOR} in {dapr_namespace} sets no {SIDECAR_IMAGE}: is it Dapr's?")
    images = sorted({image for pod in schedulers for name, image in pod.images.items() if "scheduler" in name})
    if not images:
        raise ClusterError(f"no scheduler pod ({SCHEDULER_SELECTOR}) in namespace {dapr_namespace}")
    return Installation(sidecar, images[0])
