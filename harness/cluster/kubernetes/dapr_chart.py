"""Dapr's own Helm chart, as onceonly installs it: where it is, the values given, the images it names.

The chart is ``charts/dapr`` of the dapr Go module at the version asked (Go's module cache, the module proxy when not
cached: ``toolchain.module_files``); nothing of it is copied here and no control-plane manifest is written by hand.
The values are a few of the chart's own keys (each one in ``values.yaml`` of the chart or a subchart, at 1.16.0 and
1.18.2 both; a unit test reads them):

- ``global.registry`` and ``global.tag``: the images built on this machine, ``onceonly.local/dapr/<name>:<version>``
  (no registry is reachable; ``imagePullPolicy: IfNotPresent`` so that the kubelet uses what containerd has).
- ``dapr_scheduler.cluster.inMemoryStorage``: the scheduler's etcd on an in-memory ``emptyDir``, so no volume
  provisioner is needed. The chart fixes the scheduler at 3 replicas; Dapr 1.16's chart refuses in-memory storage
  with more than one (``fail`` in its StatefulSet template), so 1.16 takes ``storage="volume"``: a claim of
  ``storageSize`` per replica, bound to the volumes ``scheduler_volumes`` describes. A StatefulSet's claims cannot
  change, so an upgrade keeps the storage the release was installed with.
- ``global.ha.enabled``, ``global.logAsJson``, each service's ``logLevel``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from harness.errors import EnvironmentProblem, InputError
from toolchain import module_files
from toolchain.gocmd import BuildError

RELEASE = "dapr"
NAMESPACE = "dapr-system"
REGISTRY = "onceonly.local/dapr"
IMAGE_NAMES = ("daprd", "injector", "operator", "placement", "scheduler", "sentry")  # as the chart names them
SERVICES = ("dapr_operator", "dapr_placement", "dapr_scheduler", "dapr_sentry", "dapr_sidecar_injector")
SCHEDULER_REPLICAS = 3  # fixed by the chart's StatefulSet template (1.16.0 and 1.18.2)
SCHEDULER_CLAIM = "dapr-scheduler-data-dir"  # the StatefulSet's volumeClaimTemplate
Storage = Literal["memory", "volume"]


@dataclass(frozen=True, slots=True)
class ChartValues:
    """What onceonly sets in Dapr's chart; ``document`` is the values file given to helm."""

    version: str
    registry: str = REGISTRY
    storage: Storage = "memory"
    storage_size: str = "1Gi"
    ha: bool = False
    log_level: str = "info"
    pull_policy: str = "IfNotPresent"
    extra: Mapping[str, Any] = field(default_factory=dict)  # --set KEY=VALUE, deepest key last

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "global": {
                "registry": self.registry,
                "tag": self.version,
                "imagePullPolicy": self.pull_policy,
                "ha": {"enabled": self.ha},
                "logAsJson": False,
            },
            **{service: {"logLevel": self.log_level} for service in SERVICES},
        }
        doc["dapr_scheduler"]["cluster"] = {
            "inMemoryStorage": self.storage == "memory",
            "storageSize": self.storage_size,
        }
        doc["dapr_sidecar_injector"]["sidecarImagePullPolicy"] = self.pull_policy
        return merged(doc, self.extra)


def merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def parse_sets(pairs: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs (``dapr_operator.logLevel=debug``) as a nested mapping; VALUE read as YAML (``true``,
    ``3``). ``InputError`` for a pair without ``=`` or an empty key."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        parts = key.split(".")
        if not sep or not all(parts):
            raise InputError(f"--set {pair!r}: give KEY=VALUE with a dotted key, e.g. dapr_operator.logLevel=debug")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise InputError(f"--set {pair!r}: {part} is set to a value and used as a map")
        node[parts[-1]] = yaml.safe_load(raw) if raw else ""
    return out


def chart_dir(version: str) -> Path:
    """``charts/dapr`` of the dapr module at ``version``; ``EnvironmentProblem`` when Go cannot fetch it."""
    try:
        return module_files.dapr_chart_dir(f"v{version.removeprefix('v')}")
    except BuildError as exc:
        raise EnvironmentProblem(f"Dapr {version}'s Helm chart could not be read from the Go module: {exc}") from exc


def local_images(version: str, registry: str = REGISTRY) -> set[str]:
    """The images built on this machine for Dapr ``version``: ``<registry>/<name>:<version>``."""
    return {f"{registry}/{name}:{version}" for name in IMAGE_NAMES}


def images_named(manifests: str) -> set[str]:
    """Every image the manifests name: each container's and init container's, and the sidecar image the injector
    is told (``SIDECAR_IMAGE``)."""
    found: set[str] = set()
    for doc in yaml.safe_load_all(manifests):
        if not isinstance(doc, dict):
            continue
        spec = doc.get("spec") or {}
        pod = (spec.get("template") or {}).get("spec") or (spec if doc.get("kind") == "Pod" else {})
        for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
            found.add(container["image"])
            found.update(e["value"] for e in container.get("env") or [] if e.get("name") == "SIDECAR_IMAGE")
    return found


def unknown_images(manifests: str, known: Collection[str]) -> list[str]:
    """The images the manifests name that are not in ``known``, sorted: each one a pod could not start with."""
    return sorted(images_named(manifests) - set(known))


DAPR_UID = 65532  # Dapr's control plane runs as 65532:65532 (the chart's pods; our images' /etc/passwd)


def scheduler_volume_paths(namespace: str, directory: str) -> list[str]:
    """The node's directory of each scheduler replica's volume."""
    return [f"{directory}/{namespace}/scheduler-{index}" for index in range(SCHEDULER_REPLICAS)]


def scheduler_volumes(namespace: str, directory: str, size: str = "1Gi") -> list[dict[str, Any]]:
    """A hostPath PersistentVolume per scheduler replica, each bound ahead to the claim its pod makes
    (``dapr-scheduler-data-dir-dapr-scheduler-server-<i>`` in ``namespace``): the storage ``storage="volume"``
    needs on a cluster without a provisioner. Not Dapr's manifests: the cluster's storage."""
    volumes = []
    for index, path in enumerate(scheduler_volume_paths(namespace, directory)):
        claim = f"{SCHEDULER_CLAIM}-dapr-scheduler-server-{index}"
        volumes.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": f"onceonly-{namespace}-{claim}", "labels": {"app.kubernetes.io/part-of": "dapr"}},
                "spec": {
                    "capacity": {"storage": size},
                    "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "hostPath": {"path": path, "type": "DirectoryOrCreate"},
                    "claimRef": {"namespace": namespace, "name": claim},
                },
            }
        )
    return volumes
