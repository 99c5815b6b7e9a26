"""A FAKE Kubernetes API (``FakeKube``) for the backend's unit tests: it keeps namespaces, the app's Deployment and
pods in memory and records every call, so a test can say what the backend asked of the API server (and that a
refused run asked nothing). Its pods are Running and Ready as soon as they exist; nothing runs in them but the
journal scripts (``harness.cluster.kubernetes.journals``), run here for real against ``host_dirs``: node -> a local
directory standing for that node's journal host directory (``/journal`` in a pod is ``<it>/<namespace>``; a pod on
a node not in it has no journal at all)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.cluster.kubernetes import journals, signals
from harness.cluster.kubernetes.api import DeploymentView, PodView, PortStream

APP_POD = {"app": "ghcr.io/example/onceonly-target-app:1", "daprd": "docker.io/daprio/daprd:1.18.2"}


@dataclass
class FakeKube:
    context: str = "fake-context"
    namespaces: set[str] = field(default_factory=set)
    pods_by_ns: dict[str, list[PodView]] = field(default_factory=dict)
    replicas: int = 0
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    exec_output: str = "signalled: 42"
    fail_on: dict[str, BaseException] = field(default_factory=dict)  # call name -> what it raises
    clock: int = 1_000
    opener: Callable[[], PortStream] | None = None
    host_dirs: dict[str, Path] = field(default_factory=dict)
    sidecar: str = APP_POD["daprd"]  # the injector's SIDECAR_IMAGE: the daprd every new app pod gets

    def _call(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if name in self.fail_on:
            raise self.fail_on[name]

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def add_pod(self, namespace: str, name: str, **kw: Any) -> PodView:
        self.clock += 1
        pod = PodView(
            name,
            uid=f"uid-{name}-{self.clock}",
            node="node-1",
            ip="10.0.0.1",
            phase="Running",
            ready=True,
            created_ns=self.clock,
            ready_ns=self.clock,
            images={**APP_POD, "daprd": self.sidecar},
            restarts={"app": 0, "daprd": 0},
        )
        pod = replace(pod, **kw)
        self.pods_by_ns.setdefault(namespace, []).append(pod)
        return pod

    # --- KubeApi ---

    def namespace_exists(self, name: str) -> bool:
        self._call("namespace_exists", name)
        return name in self.namespaces

    def create_namespace(self, name: str, labels: Mapping[str, str]) -> None:
        self._call("create_namespace", name, dict(labels))
        self.namespaces.add(name)

    def delete_namespace(self, name: str) -> None:
        self._call("delete_namespace", name)
        self.namespaces.discard(name)
        self.pods_by_ns.pop(name, None)

    def apply(self, resource: Mapping[str, Any]) -> None:
        self._call("apply", resource["kind"], resource["metadata"]["name"])
        if resource["kind"] == "Deployment" and resource["metadata"]["name"] == "onceonly-app":
            ns = resource["metadata"]["namespace"]
            self.replicas = resource["spec"]["replicas"]
            for i in range(self.replicas):
                self.add_pod(ns, f"onceonly-app-abc-{i}")

    def pods(self, namespace: str, selector: str) -> list[PodView]:
        self._call("pods", namespace, selector)
        if "redis" in selector:
            return [PodView("onceonly-redis-0", phase="Running", ready=True)]
        return list(self.pods_by_ns.get(namespace, []))

    def deployment(self, namespace: str, name: str) -> DeploymentView:
        self._call("deployment", namespace, name)
        n = self.replicas if name == "onceonly-app" else 1
        return DeploymentView(n, n, n, n, 1, 1)

    def scale(self, namespace: str, name: str, replicas: int) -> None:
        self._call("scale", namespace, name, replicas)
        pods = self.pods_by_ns.setdefault(namespace, [])
        while len(pods) > replicas:
            pods.pop()
        while len(pods) < replicas:
            self.add_pod(namespace, f"onceonly-app-new-{self.clock}")
        self.replicas = replicas

    def patch_template_annotations(self, namespace: str, name: str, annotations: Mapping[str, str]) -> None:
        """A rollout done at once: every app pod replaced by a new one (with the injector's sidecar now)."""
        self._call("patch_template_annotations", namespace, name, dict(annotations))
        old = self.pods_by_ns.get(namespace, [])
        self.pods_by_ns[namespace] = []
        for _ in old:
            self.add_pod(namespace, f"onceonly-app-rolled-{self.clock}")

    def delete_pod(self, namespace: str, name: str, grace_seconds: int | None) -> None:
        self._call("delete_pod", namespace, name, grace_seconds)
        pods = self.pods_by_ns.get(namespace, [])
        self.pods_by_ns[namespace] = [p for p in pods if p.name != name]
        if namespace != "dapr-system":  # the Deployment replaces it
            self.add_pod(namespace, f"onceonly-app-new-{self.clock}")
        else:
            self.add_pod(namespace, name, images={"dapr-scheduler-server": "daprio/dapr:1.18.2"})

    def exec(self, namespace: str, pod: str, container: str, argv: Sequence[str]) -> str:
        """A kill exec (``signals.SCRIPT``) counts a restart of each container it names; a journal script runs on
        the pod's node's directory (``host_dirs``); a pod not listed cannot be exec'd into."""
        self._call("exec", namespace, pod, container, list(argv))
        if journals.READ_JOURNAL in argv or journals.REMOVE_JOURNALS in argv:
            return self._journal_script(namespace, pod, list(argv))
        if signals.SCRIPT not in argv:
            return ""
        hit = {"app" if mark == signals.APP_MARK else "daprd" for mark in argv[4:]}
        self.pods_by_ns[namespace] = [
            replace(p, restarts={c: n + (c in hit) for c, n in p.restarts.items()}) if p.name == pod else p
            for p in self.pods_by_ns.get(namespace, [])
        ]
        return self.exec_output

    def _journal_script(self, namespace: str, pod: str, argv: list[str]) -> str:
        listed = next((p for p in self.pods_by_ns.get(namespace, []) if p.name == pod), None)
        if listed is None:
            raise RuntimeError(f"FAKE: pods {pod!r} not found")
        host = self.host_dirs.get(listed.node, Path("/nonexistent-FAKE-node-dir"))
        where = str(host / namespace) + argv[3].removeprefix(journals.JOURNAL_DIR)
        done = subprocess.run([sys.executable, *argv[1:3], where], capture_output=True, text=True, check=False)
        return done.stdout + done.stderr  # as the API's exec answers: both streams in one text

    def open_port(self, namespace: str, pod: str, port: int) -> PortStream:
        self._call("open_port", namespace, pod, port)
        if self.opener is None:
            raise ConnectionRefusedError(f"FAKE: no stream to {pod}:{port}")
        return self.opener()

    def container_env(self, namespace: str, deployment: str, variable: str) -> str | None:
        self._call("container_env", namespace, deployment, variable)
        return self.sidecar


def echo_opener() -> PortStream:
    """A FAKE pod port: one end of a socket pair whose other end echoes what it reads."""
    ours, theirs = socket.socketpair()

    def echo() -> None:
        while data := theirs.recv(1024):
            theirs.sendall(data)
        theirs.close()

    threading.Thread(target=echo, daemon=True).start()
    return ours, lambda: None


def daprd_opener(connected: int = 1) -> Callable[[], PortStream]:
    """A FAKE daprd's HTTP port: /v1.0/healthz answers 204, /v1.0/metadata lists ``connected`` schedulers."""
    metadata = json.dumps({"scheduler": {"connected_addresses": [f"s{i}:50006" for i in range(connected)]}})

    def serve(sock: socket.socket) -> None:
        buffer = b""
        with sock:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = sock.recv(4096)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                path = head.split(b" ")[1].decode()
                status, body = (204, "") if path.endswith("/healthz") else (200, metadata)
                sock.sendall(f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode())

    def opener() -> PortStream:
        ours, theirs = socket.socketpair()
        threading.Thread(target=serve, args=(theirs,), daemon=True).start()
        return ours, lambda: None

    return opener
