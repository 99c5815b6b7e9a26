"""``KubeApi`` (``harness.cluster.kubernetes.api``) over the official client: ``ClientApi``, made by ``connect`` from
a kubeconfig and a context. Every call the API server refuses is a ``ClusterError`` naming the call and quoting
the server (``refused``), never the client's own exception: a run's error says what was asked and why it failed.

exec and port-forward go through the API server to the pod's kubelet: a node without an address the API server
can dial (kwok's fake nodes run no kubelet) refuses both with "no preferred addresses found", said plainly.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.cluster.kubernetes.api import FIELD_MANAGER, DeploymentView, PodView, PortStream
from harness.errors import ClusterError, EnvironmentProblem, InputError

NO_KUBELET = "no preferred addresses found"
NO_KUBELET_HINT = (
    "the API server has no address of the pod's node to reach its kubelet: a node that runs no kubelet (kwok's "
    "fake nodes) can run no exec and no port-forward"
)


def server_message(exc: BaseException) -> str:
    """What the API server said: the ``message`` of its Status (in the body, or, for a refused exec or
    port-forward handshake, at the end of the reason), else the reason."""
    body = getattr(exc, "body", None)
    reason = str(getattr(exc, "reason", None) or exc)
    tail = reason.rsplit("-+-+-", 1)[-1]  # the handshake's reason: status, headers and body joined by -+-+-
    for text in (body, tail):
        if not text:
            continue
        with contextlib.suppress(ValueError, AttributeError):
            message = json.loads(text).get("message")
            if message:
                return str(message)
    return reason.strip()[:300]


def refused(what: str, exc: BaseException) -> ClusterError:
    """``ClusterError`` for a call the API server refused: the call, the server's status and message."""
    status = getattr(exc, "status", None) or _handshake_status(str(getattr(exc, "reason", "")))
    message = server_message(exc)
    hint = f" ({NO_KUBELET_HINT})" if NO_KUBELET in message else ""
    return ClusterError(f"{what}: the API server refused ({status or 'no status'}): {message}{hint}")


def _handshake_status(reason: str) -> int | None:
    """The HTTP status of a refused exec or port-forward handshake (the client says status 0)."""
    words = reason.split()
    if words[:2] == ["Handshake", "status"] and len(words) > 2 and words[2].isdigit():
        return int(words[2])
    return None


@contextlib.contextmanager
def asking(what: str) -> Iterator[None]:
    """Calls of the client inside are ``what``; what the server refuses becomes ``refused(what, ...)``."""
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    try:
        yield
    except (ApiException, ResourceNotFoundError) as exc:
        raise refused(what, exc) from None


def _ns(stamp: datetime | None) -> int:
    return 0 if stamp is None else int(stamp.timestamp() * 1e9)


def _deletion_asked(meta: Any) -> int | None:
    """When a pod's deletion was asked: its deletionTimestamp is that moment plus the grace period."""
    if meta.deletion_timestamp is None:
        return None
    return _ns(meta.deletion_timestamp) - int((meta.deletion_grace_period_seconds or 0) * 1e9)


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
        deletion_asked_ns=_deletion_asked(meta),
        images={c.name: c.image for c in spec.containers or []},
        restarts={c.name: c.restart_count for c in status.container_statuses or []},
    )


class ClientApi:
    """``KubeApi`` over the official client; what the server refuses is ``refused``'s ``ClusterError``."""

    def __init__(self, api_client: Any, context: str) -> None:
        from kubernetes import client
        from kubernetes.dynamic import DynamicClient

        self._client = api_client
        self._context = context
        # Any: the generated models' Optional fields would need a check per read, for fields a server always sets
        self.core: Any = client.CoreV1Api(api_client)
        self.apps: Any = client.AppsV1Api(api_client)
        self._dynamic: Any = DynamicClient(api_client)

    def close(self) -> None:
        """Close the client's pooled TLS connections (left to the garbage collector, each is an unclosed socket
        warned about at some later, unrelated moment: a CI run failed on one in another test)."""
        self._client.close()

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
            raise refused(f"reading namespace {name}", exc) from None
        return True

    def create_namespace(self, name: str, labels: Mapping[str, str]) -> None:
        with asking(f"creating namespace {name}"):
            self.core.create_namespace(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels)}}
            )

    def delete_namespace(self, name: str) -> None:
        with asking(f"deleting namespace {name}"):
            self.core.delete_namespace(name, propagation_policy="Foreground")

    def apply(self, resource: Mapping[str, Any]) -> None:
        meta = resource["metadata"]
        with asking(f"server-side apply of {resource['kind']} {meta.get('namespace', '')}/{meta['name']}"):
            kind = self._dynamic.resources.get(api_version=resource["apiVersion"], kind=resource["kind"])
            self._dynamic.server_side_apply(
                kind,
                body=dict(resource),
                name=meta["name"],
                namespace=meta.get("namespace"),
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
            )

    def pods(self, namespace: str, selector: str) -> list[PodView]:
        with asking(f"listing pods {selector} in {namespace}"):
            listed = self.core.list_namespaced_pod(namespace, label_selector=selector).items
        return [pod_view(p) for p in listed]

    def deployment(self, namespace: str, name: str) -> DeploymentView:
        with asking(f"reading deployment {namespace}/{name}"):
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
        with asking(f"scaling deployment {namespace}/{name} to {replicas}"):
            self.apps.patch_namespaced_deployment_scale(name, namespace, {"spec": {"replicas": replicas}})

    def patch_template_annotations(self, namespace: str, name: str, annotations: Mapping[str, str]) -> None:
        body = {"spec": {"template": {"metadata": {"annotations": dict(annotations)}}}}
        with asking(f"patching deployment {namespace}/{name}'s pod template"):
            self.apps.patch_namespaced_deployment(name, namespace, body)

    def delete_pod(self, namespace: str, name: str, grace_seconds: int | None) -> None:
        with asking(f"deleting pod {namespace}/{name}"):
            self.core.delete_namespaced_pod(name, namespace, grace_period_seconds=grace_seconds)

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str]) -> str:
        from kubernetes.stream import stream

        with asking(f"exec in pod {namespace}/{pod} (container {container})"):
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

        with asking(f"port-forward to pod {namespace}/{pod}:{port}"):
            forward = portforward(self.core.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port))
        return forward.socket(port), forward.close

    def container_env(self, namespace: str, deployment: str, variable: str) -> str | None:
        with asking(f"reading deployment {namespace}/{deployment}"):
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
