"""What the Kubernetes backend asks of the API server, as one small typed surface (``KubeApi``), and the real one
over the official client (``ClientApi``, made by ``connect`` from a kubeconfig and a context).

Every operation the backend does is one call here, so each is observable through the API (the integration tests'
way to check a capability did what it promises) and replaceable by a FAKE in unit tests. Objects come back as
``PodView`` / ``DeploymentView``: the few fields the backend reads, not the client's models.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from harness.errors import ClusterError, EnvironmentProblem, InputError

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


def _ns(stamp: datetime | None) -> int:
    return 0 if stamp is None else int(stamp.timestamp() * 1e9)


def pod_view(pod: Any) -> PodView:
    """The fields the backend reads of a ``V1Pod``."""
    meta, spec, status = pod.metadata, pod.spec, pod.status
    ready = next((c for c in (status.conditions or []) if c.type == "Ready"), None)
    is_ready = ready is not None and ready.status == "True"
    return PodView(
        name=meta.name,
        uid=meta.uid or "",
        node=spec.node_name or "",
        ip=status.pod_ip or "",
        phase=status.phase or "Pending",
        ready=is_ready,
        created_ns=_ns(meta.creation_timestamp),
        ready_ns=_ns(ready.last_transition_time) if is_ready and ready is not None else None,
        deleting=meta.deletion_timestamp is not None,
        images={c.name: c.image for c in spec.containers or []},
        restarts={c.name: c.restart_count for c in status.container_statuses or []},
    )


class ClientApi:
    """``KubeApi`` over the official client. Errors from the server become ``ClusterError`` naming the call."""

    def __init__(self, api_client: Any, context: str) -> None:
        from kubernetes import client
        from kubernetes.dynamic import DynamicClient

        self._client = api_client
        self._context = context
        # Any: the generated models' Optional fields would need a check per read, for fields a server always sets
        self.core: Any = client.CoreV1Api(api_client)
        self.apps: Any = client.AppsV1Api(api_client)
        self._dynamic: Any = DynamicClient(api_client)

    @property
    def context(self) -> str:
        return self._context

    def namespace_exists(self, name: str) -> bool:
        from kubernetes.client.exceptions import ApiException

        try:
            self.core.read_namespace(name)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise ClusterError(f"reading namespace {name}: {exc.status} {exc.reason}") from None
        return True

    def create_namespace(self, name: str, labels: Mapping[str, str]) -> None:
        self.core.create_namespace(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels)}}
        )

    def delete_namespace(self, name: str) -> None:
        self.core.delete_namespace(name, propagation_policy="Foreground")

    def apply(self, resource: Mapping[str, Any]) -> None:
        kind = self._dynamic.resources.get(api_version=resource["apiVersion"], kind=resource["kind"])
        meta = resource["metadata"]
        self._dynamic.server_side_apply(
            kind,
            body=dict(resource),
            name=meta["name"],
            namespace=meta.get("namespace"),
            field_manager=FIELD_MANAGER,
            force_conflicts=True,
        )

    def pods(self, namespace: str, selector: str) -> list[PodView]:
        return [pod_view(p) for p in self.core.list_namespaced_pod(namespace, label_selector=selector).items]

    def deployment(self, namespace: str, name: str) -> DeploymentView:
        d = self.apps.read_namespaced_deployment(name, namespace)
        s = d.status
        return DeploymentView(
            replicas=d.spec.replicas or 0,
            ready=s.ready_replicas or 0,
            available=s.available_replicas or 0,
            updated=s.updated_replicas or 0,
            generation=d.metadata.generation or 0,
            observed=s.observed_generation or 0,
        )

    def scale(self, namespace: str, name: str, replicas: int) -> None:
        self.apps.patch_namespaced_deployment_scale(name, namespace, {"spec": {"replicas": replicas}})

    def patch_template_annotations(self, namespace: str, name: str, annotations: Mapping[str, str]) -> None:
        body = {"spec": {"template": {"metadata": {"annotations": dict(annotations)}}}}
        self.apps.patch_namespaced_deployment(name, namespace, body)

    def delete_pod(self, namespace: str, name: str, grace_seconds: int | None) -> None:
        self.core.delete_namespaced_pod(name, namespace, grace_period_seconds=grace_seconds)

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str]) -> str:
        from kubernetes.stream import stream

        out = stream(
            self.core.connect_get_namespaced_pod_exec,
            pod,
            namespace,
            container=container,
            command=list(argv),
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
        )
        return str(out)

    def open_port(self, namespace: str, pod: str, port: int) -> PortStream:
        from kubernetes.stream import portforward

        forward = portforward(self.core.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port))
        return forward.socket(port), forward.close

    def container_env(self, namespace: str, deployment: str, variable: str) -> str | None:
        d = self.apps.read_namespaced_deployment(deployment, namespace)
        for container in d.spec.template.spec.containers:
            for var in container.env or []:
                if var.name == variable:
                    return str(var.value)
        return None


def connect(context: str | None = None, kubeconfig: str | None = None) -> ClientApi:
    """The API of ``context`` in ``kubeconfig`` (default: ``$KUBECONFIG`` as it is now, a list of files joined by
    ':', else ``~/.kube/config``; its current context), checked to answer. ``InputError`` for a kubeconfig or
    context that does not exist (nothing is started); ``EnvironmentProblem`` for an API server that does not
    answer."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    files = kubeconfig or os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())
    try:
        contexts, current = config.list_kube_config_contexts(config_file=files)
    except (ConfigException, OSError) as exc:
        raise InputError(f"no usable kubeconfig in {files} ({exc}): set KUBECONFIG to one") from None
    names = [c["name"] for c in contexts]
    if context is not None and context not in names:
        raise InputError(f"context {context!r} is not in the kubeconfig (it has: {', '.join(names) or 'none'})")
    if context is None and not current:
        raise InputError(f"the kubeconfig {files} has no current context: give one with --context")
    chosen = context or current["name"]
    configuration = client.Configuration()
    try:
        config.load_kube_config(
            config_file=files,
            context=chosen,
            client_configuration=configuration,
        )
    except ConfigException as exc:
        raise InputError(f"context {chosen!r} cannot be used: {exc}") from None
    api_client = client.ApiClient(configuration)
    try:
        client.VersionApi(api_client).get_code(_request_timeout=10)
    except Exception as exc:  # urllib3's connection errors, TLS, 401: all say the API server cannot be used
        raise EnvironmentProblem(
            f"the API server of context {chosen!r} ({configuration.host}) did not answer: {type(exc).__name__}: "
            f"{str(exc)[:300]}"
        ) from None
    return ClientApi(api_client, chosen)


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
