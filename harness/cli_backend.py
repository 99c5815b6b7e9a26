"""``run --backend``: which backend a run goes to and, for ``kubernetes``, its options checked, the API reached and
Dapr's installation read, all before anything is created. Bad input (an unknown backend, a Kubernetes option with
the local backend, a kubeconfig or context that does not exist) is ``InputError`` (exit 3); an API server that does
not answer, or a Dapr installation that cannot be read, ``EnvironmentProblem`` (exit 4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from harness.cli_k8s import image_default
from harness.cluster.base import refusal
from harness.cluster.kubernetes import client as kube_client
from harness.cluster.kubernetes.api import KubeApi
from harness.cluster.kubernetes.backend import KubernetesBackend
from harness.cluster.kubernetes.images import installation
from harness.cluster.kubernetes.journals import HOST_DIR_FLAG, check_host_dir
from harness.errors import InputError
from harness.nemesis import needs
from harness.scenario.schema import Scenario
from toolchain.binaries import Binaries

if TYPE_CHECKING:
    from harness.campaign.experiment import RunOptions

BACKENDS = ("local", "kubernetes")
DAPR_NAMESPACE = "dapr-system"


@dataclass(frozen=True, slots=True)
class Target:
    """``run``'s backend options as given."""

    backend: str = "local"
    context: str | None = None
    namespace: str | None = None
    image: str | None = None
    dapr_namespace: str = DAPR_NAMESPACE
    allow_scheduler_faults: bool = False
    journal_host_dir: str | None = None

    def check(self, repeat: int = 1) -> None:
        """Refuse what does not fit together (before anything is read or started)."""
        if self.backend not in BACKENDS:
            raise InputError(f"unknown backend {self.backend!r}: --backend takes {' or '.join(BACKENDS)}")
        if self.backend == "local":
            given = [
                name
                for name, value in (
                    ("--context", self.context),
                    ("--namespace", self.namespace),
                    ("--image", self.image),
                    ("--dapr-namespace", self.dapr_namespace != DAPR_NAMESPACE or None),
                    ("--allow-scheduler-faults", self.allow_scheduler_faults or None),
                    (HOST_DIR_FLAG, self.journal_host_dir),
                )
                if value is not None
            ]
            if given:
                raise InputError(f"{', '.join(given)} only apply to --backend kubernetes; remove them or add it")
        elif repeat > 1:
            raise InputError("--repeat is not yet done on --backend kubernetes: run it once per invocation")
        elif self.journal_host_dir is not None:
            check_host_dir(self.journal_host_dir)


@dataclass(frozen=True, slots=True)
class KubeRun:
    backend: KubernetesBackend
    bins: Binaries  # Dapr's installation, as run.json records a run's Dapr

    @property
    def dapr(self) -> tuple[Binaries, Binaries | None]:
        """As ``case_binaries`` answers: the run's Dapr, and none to upgrade to (no upgrade on Kubernetes)."""
        return self.bins, None


def kubernetes(target: Target, scenario: Scenario, repeat: int, say: Callable[[str], None]) -> KubeRun | None:
    """None for the local backend; else the kubernetes backend for ``scenario``: refused up front for what it
    cannot play (before the API is reached), then the API reached (``connect``) and Dapr's installation read."""
    target.check(repeat)
    if target.backend == "local":
        return None
    backend = KubernetesBackend(
        api=cast(KubeApi, _Unconnected()),
        scenario=scenario,
        image=target.image or image_default(),
        namespace=target.namespace,
        dapr_namespace=target.dapr_namespace,
        allow_scheduler_faults=target.allow_scheduler_faults,
        journal_host_dir=target.journal_host_dir,
    )
    refused = refusal(backend, needs(scenario.faults)) or backend.refusal()
    if refused is not None:
        raise InputError(f"scenario {scenario.name}: {refused}")
    api = kube_client.connect(target.context)
    say(f"kubernetes context {api.context}; Dapr in namespace {target.dapr_namespace}")
    found = installation(api, target.dapr_namespace)
    return KubeRun(
        KubernetesBackend(
            api,
            scenario,
            backend.image,
            target.namespace,
            target.dapr_namespace,
            target.allow_scheduler_faults,
            journal_host_dir=target.journal_host_dir,
        ),
        found.binaries(api.context),
    )


def run_options(kube: KubeRun | None) -> RunOptions:
    """What ``experiment.run`` is told of the backend: nothing for the local one (its default)."""
    from harness.campaign.experiment import RunOptions  # the campaign is imported when a run starts, not before

    return RunOptions() if kube is None else RunOptions(backend=kube.backend)


class _Unconnected:
    """Stands for the API while only the scenario is checked: any call is a bug."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the Kubernetes API was called ({name}) before it was connected")
