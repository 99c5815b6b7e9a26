"""The ``kubernetes`` backend: a run's cluster in a namespace of its own on a Kubernetes cluster with Dapr
installed (``KubeCluster``), able to kill (delete a pod, or signal its app or daprd), restart, scale, and upgrade
Dapr through its Helm chart (``chart-upgrade``, then ``sidecar-upgrade``: ``chart_upgrade``).

What it cannot do is refused before anything is created: ``pause``, ``network`` and ``upgrade`` are not its
capabilities (``harness.cluster.base.refusal`` names the one missing), and a fault on Dapr's scheduler or its
release needs the opt-in (``allow_scheduler_faults``: the run changes pods in Dapr's namespace), said by
``refusal``, as is a sidecar step before any chart upgrade.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.cluster.base import ClusterSpec, Tokens
from harness.cluster.kubernetes.api import KubeApi
from harness.cluster.kubernetes.chart_upgrade import ChartStep
from harness.cluster.kubernetes.cluster import KubeCluster, Placement
from harness.cluster.kubernetes.render import CAPABILITIES, check_name
from harness.errors import InputError
from harness.faults.registry import kind_of
from harness.model import Capability
from harness.scenario.schema import FaultSpec, Scenario
from toolchain.binaries import Binaries

NAME = "kubernetes"
DEFAULT_IMAGE = "onceonly-target-app:latest"  # k8s/base/app.yaml's; a real cluster needs one it can pull


def run_id_of(run_dir: Path) -> str:
    """The run id of a Kubernetes run: the run dir's name as a Kubernetes name (lower case; any other character
    than a-z, 0-9 and '-' as '-'; at most 63), since it is a label value and names the app's ledger."""
    return re.sub(r"[^a-z0-9-]", "-", run_dir.name.lower())[-63:].strip("-") or "run"


def namespace_of(scenario: Scenario, run_id: str) -> str:
    """``onceonly-<scenario>-<short run id>`` (8 hex of the run id's SHA-256), cut to Kubernetes' 63."""
    short = hashlib.sha256(run_id.encode()).hexdigest()[:8]
    return f"onceonly-{scenario.name}"[: 63 - 9].rstrip("-") + f"-{short}"


def scheduler_refusal(faults: Sequence[FaultSpec], allowed: bool) -> str | None:
    """Why a fault on Dapr's scheduler cannot be played without the opt-in, or None."""
    if allowed:
        return None
    for i, fault in enumerate(faults):
        kind = kind_of(fault.kind)
        if kind.on_scheduler:
            does = (
                "upgrades Dapr's Helm release (every control-plane pod replaced)"
                if kind.whole
                else "deletes a pod of Dapr's scheduler StatefulSet"
            )
            return (
                f"fault {i} ({fault.kind}) {does}, in Dapr's namespace: the kubernetes backend does that only with "
                "--allow-scheduler-faults (and the right to change pods there)"
            )
    return None


def chart_refusal(faults: Sequence[FaultSpec], prepared: bool) -> str | None:
    """Why the Helm-chart upgrade steps cannot be played as given, or None: a sidecar step before any chart upgrade
    (the injector would still give the old daprd), or a chart upgrade with none prepared."""
    upgraded = False
    for fault in sorted(faults, key=lambda f: f.at):
        kind = kind_of(fault.kind)
        if kind.capability != Capability.CHART_UPGRADE:
            continue
        if kind.on_scheduler:
            upgraded = True
            if not prepared:
                return f"fault {fault.kind} needs the chart upgrade prepared before the run (onceonly run does it)"
        elif not upgraded:
            return (
                f"{fault.kind} at {fault.at.total_seconds():g}s comes before any chart upgrade: Dapr's injector would "
                "give the new pods the old daprd; put it after the chart-upgrade step"
            )
    return None


@dataclass(frozen=True, slots=True)
class KubernetesBackend:
    """Clusters of ``scenario`` on ``api``; ``namespace`` None: one per run (``namespace_of``);
    ``journal_host_dir``: the nodes' directory for the apps' journals (None: each pod's ``emptyDir``)."""

    api: KubeApi
    scenario: Scenario
    image: str = DEFAULT_IMAGE
    namespace: str | None = None
    dapr_namespace: str = "dapr-system"
    allow_scheduler_faults: bool = False
    tokens: Tokens | None = None
    journal_host_dir: str | None = None
    chart: ChartStep | None = None  # the Helm upgrade a chart-upgrade step runs (cli_backend prepares it)

    @property
    def name(self) -> str:
        return NAME

    @property
    def capabilities(self) -> frozenset[Capability]:
        return CAPABILITIES

    def refusal(self, *, before_prepare: bool = False) -> str | None:
        """What the capabilities alone do not say: a scheduler fault without the opt-in, or a name Kubernetes
        would refuse; ``before_prepare``: the check made before the API is reached, when a chart upgrade cannot be
        prepared yet (so only its order is checked)."""
        faults = self.scenario.faults
        prepared = self.chart is not None or before_prepare
        return scheduler_refusal(faults, self.allow_scheduler_faults) or chart_refusal(faults, prepared)

    def create(
        self,
        spec: ClusterSpec,
        binaries: Binaries,
        run_dir: Path,
        *,
        on_progress: Callable[[str], None] | None = None,
        resources: dict[str, str] | None = None,
        app_env: dict[str, str] | None = None,
    ) -> KubeCluster:
        """``resources`` and ``app_env`` are made again from the scenario by the renderer (the same bindings and
        behaviour); ``binaries`` are Dapr's installation (``images.Installation.binaries``), not started here."""
        refused = self.refusal()
        if refused is not None:
            raise InputError(f"scenario {self.scenario.name}: {refused}")
        run_id = run_id_of(run_dir)
        namespace = self.namespace or namespace_of(self.scenario, run_id)
        check_name(namespace, "the namespace", "choose another with --namespace")
        placement = Placement(
            namespace,
            self.image,
            self.dapr_namespace,
            self.allow_scheduler_faults,
            journal_host_dir=self.journal_host_dir,
            chart=self.chart,
        )
        return KubeCluster(
            self.api,
            self.scenario,
            spec,
            run_dir,
            placement,
            run_id=run_id,
            tokens=self.tokens,
            on_progress=on_progress,
        )
