"""The seam between a run and where it runs: the ``Cluster`` protocol, what a backend can do, and the refusal.

A backend (``Backend``) makes clusters (``Cluster``): Redis for the ledger, the scheduler member(s) and N replicas
(the recorder app + its daprd). The run (``harness.run.runner``), the faults (``harness.nemesis``), the load
(``harness.load.process``) and Dapr's metrics scrape (``harness.cluster.metrics``) use only what this module
declares; ``harness.cluster.local`` is today's backend (processes on 127.0.0.1).

What a backend can do is a set of ``Capability``. A scenario needs some (a ``pause`` fault needs ``pause``);
``refusal`` names the first one missing, so a scenario the backend cannot play is refused before anything starts.
"""

from __future__ import annotations

import secrets
import signal
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol, Self

import redis

from harness.cluster.user_app import UserApp
from harness.errors import InputError
from harness.model import Capability
from toolchain.binaries import Binaries

Part = Literal["app", "daprd", "both"]
PARTS: tuple[Part, ...] = ("app", "daprd", "both")
Role = Literal["scheduler", "daprd"]
NetworkKind = Literal["delay", "blackhole", "reset"]
Direction = Literal["both", "to-scheduler", "from-scheduler"]


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    replicas: int
    schedulers: int = 1
    app_id: str = "onceonly"
    ready_timeout: float = 90.0
    log_level: str = "info"
    fault_proxy: bool = False  # put a fault proxy between the daprds and each scheduler member (network faults)
    user_app: UserApp | None = None  # run this app behind a recording hop instead of the recorder (own-app)

    def validate(self) -> None:
        if self.replicas < 1:
            raise InputError(f"replicas must be at least 1, got {self.replicas}")
        if self.schedulers not in (1, 3):
            raise InputError(f"schedulers must be 1 or 3 (a single scheduler or an HA cluster), got {self.schedulers}")
        if not self.app_id or "." in self.app_id:
            raise InputError(f"app id {self.app_id!r} must be non-empty and contain no dots (Dapr's rule)")


@dataclass(frozen=True, slots=True)
class Tokens:
    """Per-run secrets. Never printed or logged; ``up`` writes them to a 0600 env file in the run dir."""

    dapr_api: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    app_api: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    redis: str = field(default_factory=lambda: secrets.token_urlsafe(24))


@dataclass(frozen=True, slots=True)
class MetricsTarget:
    """One process whose Prometheus counters are read at the end. ``url`` None: not running then (``note``)."""

    process: str  # "scheduler-0", "daprd-2"
    role: Role
    index: int  # member or replica index
    url: str | None
    lives: int  # how many times it was started during the run (a restart loses its counters)
    started_ns: int | None  # when its last life started
    note: str = ""
    version: str | None = None  # the Dapr version it runs (its last life's: a rolling upgrade switches members)


class Replica(Protocol):
    """Where a replica is reached from this machine."""

    @property
    def index(self) -> int: ...
    @property
    def dapr_http(self) -> str: ...  # daprd's HTTP API, e.g. http://127.0.0.1:3500
    @property
    def app_url(self) -> str: ...  # the recorder app, e.g. http://127.0.0.1:8000


class Cluster(Protocol):
    """A running cluster, as the run, the faults, the load and the metrics scrape see it."""

    @property
    def capabilities(self) -> frozenset[Capability]: ...
    @property
    def run_id(self) -> str: ...
    @property
    def tokens(self) -> Tokens: ...
    @property
    def ready_seconds(self) -> float | None: ...
    @property
    def replicas(self) -> Mapping[int, Replica]: ...  # live replicas by index
    @property
    def lifetimes(self) -> Mapping[int, tuple[int, int | None]]: ...  # scale: index -> (ready since, removed at)
    @property
    def removed(self) -> Mapping[int, int]: ...  # scale: index -> when it was surely gone
    @property
    def scheduler_count(self) -> int: ...
    @property
    def redis_port(self) -> int: ...  # the ledger's Redis, reachable on 127.0.0.1

    def __enter__(self) -> Self: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def endpoints(self) -> dict[str, object]: ...
    def versions(self) -> dict[str, str]: ...  # "scheduler-<i>" / "daprd-<i>" -> the version it runs now
    def redis_client(self) -> redis.Redis: ...
    def replica_of_pod(self, pod: str) -> int: ...  # a Kubernetes pod's replica index (its arrivals carry -1)
    def journal_texts(self) -> list[str | None]: ...  # each app's fallback journal (None: unreadable)
    def live_replica(self) -> Replica | None: ...  # the lowest-indexed replica whose daprd runs now
    def metrics_targets(self) -> list[MetricsTarget]: ...
    def start_helper(self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None: ...
    def stop_helper(self, name: str) -> int | None: ...  # its exit code

    # faults (each needs its capability)
    def kill(self, index: int, part: Part = "both", sig: signal.Signals = signal.SIGKILL) -> bool: ...  # True: the
    # platform has started the part again already (Kubernetes: kubelet restarts a killed container), no heal needed
    def pause(self, index: int, part: Part = "both") -> None: ...
    def resume(self, index: int, part: Part = "both") -> None: ...
    def restart_replica(self, index: int, part: Part = "both", wait: bool = True) -> None: ...
    def stop_scheduler(self, index: int, sig: signal.Signals = signal.SIGTERM) -> None: ...
    def start_scheduler(self, index: int, wait: bool = True) -> None: ...
    def restart_scheduler(self, index: int = 0, sig: signal.Signals = signal.SIGTERM, wait: bool = True) -> None: ...
    def upgrade_scheduler(self, index: int, to: Binaries, wait: bool = True) -> str: ...
    def upgrade_replica(self, index: int, to: Binaries, part: Part = "both", wait: bool = True) -> str: ...
    def upgrade_chart(self, to: Binaries, wait: bool = True) -> str: ...  # Dapr's release to ``to``'s version
    def roll_sidecars(self, to: Binaries, wait: bool = True) -> str: ...  # every app pod replaced, daprd ``to``'s
    def scale(self, replicas: int) -> None: ...
    def cut_network(
        self, members: Sequence[int], kind: NetworkKind, direction: Direction, delay_ms: int, tag: str
    ) -> object: ...  # a token for ``mend_network``
    def mend_network(self, cut: object) -> None: ...


class WithoutChart:
    """What a cluster with no Dapr Helm chart (local processes) says to the chart's upgrade steps: no (their
    capability is not its backend's, so a run needing them is refused before this could be asked)."""

    def upgrade_chart(self, to: Binaries, wait: bool = True) -> str:
        raise InputError(CHART_ONLY)

    def roll_sidecars(self, to: Binaries, wait: bool = True) -> str:
        raise InputError(CHART_ONLY)


CHART_ONLY = "an upgrade through Dapr's Helm chart needs a cluster with Dapr's chart: run it with --backend kubernetes"


class Backend(Protocol):
    """Makes clusters of one kind (``name``), each able to do ``capabilities``."""

    @property
    def name(self) -> str: ...
    @property
    def capabilities(self) -> frozenset[Capability]: ...

    def create(
        self,
        spec: ClusterSpec,
        binaries: Binaries,
        run_dir: Path,
        *,
        on_progress: Callable[[str], None] | None = None,
        resources: dict[str, str] | None = None,
        app_env: dict[str, str] | None = None,
    ) -> Cluster: ...


def refusal(backend: Backend, needs: Iterable[tuple[Capability, str]]) -> str | None:
    """Why ``backend`` cannot play what needs ``needs`` ((capability, what needs it) pairs), or None."""
    for capability, why in needs:
        if capability not in backend.capabilities:
            can = ", ".join(sorted(backend.capabilities)) or "nothing beyond running it"
            return (
                f"{why} needs the {capability.value!r} capability, which the {backend.name} backend does not have "
                f"(it can: {can}); remove it from the scenario or run on a backend that can"
            )
    return None
