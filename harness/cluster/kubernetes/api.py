"""What the Kubernetes backend asks of the API server, as one small typed surface (``KubeApi``); the real one is
``harness.cluster.kubernetes.client.ClientApi`` (the official client), made by ``client.connect``.

Every operation the backend does is one call here, so each is observable through the API (the integration tests'
way to check a capability did what it promises) and replaceable by a FAKE in unit tests. Objects come back as
``PodView`` / ``DeploymentView``: the few fields the backend reads, not the client's models.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.errors import ClusterError

FIELD_MANAGER = "onceonly"
PortStream = tuple[socket.socket, Callable[[], None]]  # a connected stream to a pod's port, and its closer


@dataclass(frozen=True, slots=True)
class PodView:
    name: str
    uid: str = ""
    node: str = ""
    ip: str = ""
    phase: str = "Pending"
    ready: bool = False
    created_ns: int = 0
    ready_ns: int | None = None  # when the Ready condition last turned true
    deleting: bool = False  # a deletionTimestamp is set
    # when its deletion was asked: the deletionTimestamp less the grace period (the kubelet signals the containers
    # then; second precision, so at most 1 s early); None when not deleting
    deletion_asked_ns: int | None = None
    images: Mapping[str, str] = field(default_factory=dict)  # container name -> image
    restarts: Mapping[str, int] = field(default_factory=dict)  # container name -> restart count


@dataclass(frozen=True, slots=True)
class DeploymentView:
    replicas: int  # spec
    ready: int
    available: int
    updated: int
    generation: int
    observed: int

    def rolled_out(self) -> bool:
        return self.observed >= self.generation and self.replicas == self.updated == self.ready == self.available


class KubeApi(Protocol):
    """The calls the backend makes; ``ClientApi`` makes them on a real API server."""

    @property
    def context(self) -> str: ...
    def namespace_exists(self, name: str) -> bool: ...
    def create_namespace(self, name: str, labels: Mapping[str, str]) -> None: ...
    def delete_namespace(self, name: str) -> None: ...
    def apply(self, resource: Mapping[str, Any]) -> None: ...  # server-side apply, field manager ``onceonly``
    def pods(self, namespace: str, selector: str) -> list[PodView]: ...
    def deployment(self, namespace: str, name: str) -> DeploymentView: ...
    def scale(self, namespace: str, name: str, replicas: int) -> None: ...
    def patch_template_annotations(self, namespace: str, name: str, annotations: Mapping[str, str]) -> None: ...
    def delete_pod(self, namespace: str, name: str, grace_seconds: int | None) -> None: ...
    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str]) -> str: ...
    def open_port(self, namespace: str, pod: str, port: int) -> PortStream: ...
    def container_env(self, namespace: str, deployment: str, variable: str) -> str | None: ...


def wait_until(
    what: str,
    probe: Callable[[], str | None],
    timeout: float,
    on_wait: Callable[[str], None] | None = None,
    poll: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Poll ``probe`` (None: satisfied, else what is missing) until it is satisfied; the seconds it took.
    ``ClusterError`` naming ``what`` and the last reason after ``timeout`` seconds."""
    start, last = clock(), ""
    while True:
        reason = probe()
        if reason is None:
            return clock() - start
        if on_wait is not None and reason != last:
            on_wait(f"waiting for {what} ({reason})")
        last = reason
        if clock() - start > timeout:
            raise ClusterError(f"{what} not reached after {timeout:.0f} s: {reason}")
        sleep(poll)
