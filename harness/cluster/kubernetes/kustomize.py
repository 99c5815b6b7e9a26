"""The part of kustomize onceonly applies itself (there is no kubectl or kustomize binary to call): read a base's
``kustomization.yaml`` and its ``resources``, set the namespace, add labels.

It applies exactly the fields ``k8s/base/kustomization.yaml`` uses (``namespace``, ``labels`` without selectors,
``resources`` as files) and refuses a kustomization with any other field, so the base stays one a person can
``kubectl kustomize`` and get what ``onceonly k8s render`` starts from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import EnvironmentProblem

Resource = dict[str, Any]

# The base in this repository (next to scenarios/); the renderer is run from a checkout, like the scenarios.
BASE_DIR = Path(__file__).resolve().parents[3] / "k8s" / "base"
KUSTOMIZATION = "kustomization.yaml"
APPLIED = frozenset({"apiVersion", "kind", "namespace", "labels", "resources"})
CLUSTER_SCOPED = frozenset({"Namespace"})  # every other kind the base or the overlay makes is namespaced


@dataclass(frozen=True, slots=True)
class Base:
    namespace: str
    labels: dict[str, str]
    resources: list[Resource]


def read_base(base_dir: Path = BASE_DIR) -> Base:
    """The base's resources, in the order ``resources`` lists their files, with its namespace and labels applied
    (what ``kubectl kustomize base_dir`` prints, in that order)."""
    path = base_dir / KUSTOMIZATION
    try:
        kustomization = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise EnvironmentProblem(
            f"cannot read the Kubernetes base {path}: {exc} (run from a onceonly checkout)"
        ) from None
    unknown = set(kustomization) - APPLIED
    if unknown:
        raise EnvironmentProblem(
            f"{path}: field(s) {sorted(unknown)} are not applied by onceonly's renderer (it applies {sorted(APPLIED)})"
        )
    labels: dict[str, str] = {}
    for entry in kustomization.get("labels", []):
        if entry.get("includeSelectors") or entry.get("includeTemplates"):
            raise EnvironmentProblem(f"{path}: labels with includeSelectors/includeTemplates are not applied")
        labels |= entry["pairs"]
    resources: list[Resource] = []
    for name in kustomization["resources"]:
        try:
            docs = list(yaml.safe_load_all((base_dir / name).read_text()))
        except (OSError, yaml.YAMLError) as exc:
            raise EnvironmentProblem(f"cannot read {base_dir / name}, listed in {path}: {exc}") from None
        resources += [doc for doc in docs if doc]
    namespace = kustomization["namespace"]
    set_namespace(resources, namespace, was=namespace)
    add_labels(resources, labels)
    return Base(namespace, labels, resources)


def set_namespace(resources: list[Resource], namespace: str, *, was: str) -> None:
    """Every namespaced resource into ``namespace``; the Namespace itself renamed to it; a RoleBinding's subjects
    that were in namespace ``was`` moved with it (as kustomize's namespace transformer does)."""
    for res in resources:
        meta = res["metadata"]
        if res["kind"] == "Namespace":
            meta["name"] = namespace
            continue
        meta["namespace"] = namespace
        for subject in res.get("subjects", []):
            if subject.get("namespace") == was:
                subject["namespace"] = namespace


def add_labels(resources: list[Resource], labels: Mapping[str, str], *, templates: bool = False) -> None:
    """``labels`` on every resource's metadata, and with ``templates`` on its pod template too (never on a
    selector: a Deployment's selector cannot change once applied)."""
    for res in resources:
        res["metadata"]["labels"] = {**res["metadata"].get("labels", {}), **labels}
        template = res.get("spec", {}).get("template") if templates else None
        if template is not None:
            template["metadata"]["labels"] = {**template["metadata"].get("labels", {}), **labels}
