"""``onceonly k8s render``: a scenario as the Kubernetes manifests that would run it (the base in ``k8s/base``
with the scenario's overlay, ``harness.cluster.kubernetes.manifests``), as one multi-document YAML for
``kubectl apply -f -`` or a GitOps repository. Nothing is applied or started.

What the manifests do not hold, and a Kubernetes run would therefore refuse or leave to the cluster, is said by
``notes``: faults needing a capability Kubernetes will not have (network faults need the fault proxy between
daprd and the scheduler; pausing a process and switching Dapr binaries mid-run have no Kubernetes form here), and
what belongs to Dapr's own installation (the scheduler's replicas, the Dapr version).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from harness.cluster.kubernetes import kustomize
from harness.cluster.kubernetes.kustomize import Resource
from harness.cluster.kubernetes.manifests import Overlay, apply, generated
from harness.errors import InputError
from harness.faults.registry import kind_of
from harness.model import Capability
from harness.scenario.schema import Scenario

# What the Kubernetes backend is to do (issue 14, item 2): delete a pod or signal its app/daprd (kill), a rolling
# restart (restart), scale the Deployment (scale). Anything else a scenario needs is refused by a Kubernetes run.
CAPABILITIES = frozenset({Capability.KILL, Capability.RESTART, Capability.SCALE, Capability.CHART_UPGRADE})
LABEL_SCENARIO = "onceonly/scenario"
LABEL_RUN = "onceonly/run-id"
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def default_namespace(scenario: Scenario) -> str:
    return f"onceonly-{scenario.name}"


def render(scenario: Scenario, overlay: Overlay, base_dir: Path = kustomize.BASE_DIR) -> list[Resource]:
    """The manifests: the base's resources in its order with the overlay applied, then the generated Dapr
    resources; every one in ``overlay.namespace`` (but the Namespace itself) and labelled with the scenario and
    the run id. ``InputError`` for a namespace, run id or binding name Kubernetes would refuse."""
    check_name(overlay.namespace, "the namespace", "choose another with --namespace")
    check_name(overlay.run_id, "the run id", "choose a shorter scenario name or another --namespace")
    for plan in scenario.binding_plans():
        check_name(plan.name, f"binding {plan.name!r} (a Dapr Component's name)", "rename it in the scenario")
    base = kustomize.read_base(base_dir)
    resources = base.resources + generated(scenario)
    apply(resources, scenario, overlay)
    kustomize.set_namespace(resources, overlay.namespace, was=base.namespace)
    kustomize.add_labels(resources, base.labels)
    kustomize.add_labels(resources, {LABEL_SCENARIO: scenario.name, LABEL_RUN: overlay.run_id}, templates=True)
    return resources


def check_name(name: str, what: str, fix: str) -> None:
    """A name Kubernetes takes as a namespace, a label value and a resource name: an RFC 1123 label."""
    if len(name) > 63 or not _DNS_LABEL.fullmatch(name):
        raise InputError(
            f"{what} {name!r} is not a Kubernetes name (1 to 63 of a-z, 0-9 and '-', starting and ending with a "
            f"letter or digit): {fix}"
        )


def to_yaml(resources: list[Resource]) -> str:
    """One YAML stream, a document per resource, keys in the order written."""
    return yaml.safe_dump_all(resources, sort_keys=False, explicit_start=True)


def notes(scenario: Scenario) -> list[str]:
    """What a Kubernetes run of ``scenario`` would refuse (each fault needing a capability outside
    ``CAPABILITIES``) and what the manifests leave to Dapr's installation."""
    said = []
    for i, fault in enumerate(scenario.faults):
        capability = kind_of(fault.kind).capability
        if capability not in CAPABILITIES:
            said.append(
                f"a Kubernetes run would refuse fault {i} ({fault.kind}): it needs the {capability.value!r} "
                f"capability, which Kubernetes runs will not have (they can: {', '.join(sorted(CAPABILITIES))})"
            )
    if scenario.cluster.schedulers != 1:
        said.append(
            f"cluster.schedulers is {scenario.cluster.schedulers}: the scheduler is Dapr's installation (its Helm "
            "chart's dapr_scheduler.replicaCount), not in these manifests"
        )
    if scenario.dapr.version is not None:
        said.append(
            f"dapr.version is {scenario.dapr.version}: the sidecar and scheduler are those of the cluster's Dapr "
            "installation, not set by these manifests"
        )
    return said
