"""Each process of the local control plane: its command line and environment, every listener on 127.0.0.1 where
the program lets us say so (two do not: see ``injector``).

- etcd: one member, loopback client and peer URLs; ``--unsafe-no-fsync`` because the data is thrown away with the
  plane and fsync dominates on a small CI disk.
- kube-apiserver: client certificates (``--client-ca-file``) for every user, RBAC and Node authorization,
  ``--endpoint-reconciler-type=none`` (the loopback address cannot be the ``kubernetes`` Service's endpoint), the
  service-account key pair for TokenRequest.
- kube-controller-manager: ``--use-service-account-credentials``, so a ReplicaSet's pods are created as
  ``system:serviceaccount:kube-system:replicaset-controller``, a user Dapr's injector accepts (handler.go).
- kube-scheduler; kwok, managing the nodes annotated ``kwok.x-k8s.io/node: fake`` (objects.py makes them).
- Dapr's sentry and injector (Kubernetes mode, on the host, against this API server): see objects.py for the
  objects they need and docs/findings.md for what running them off-cluster takes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.cluster.kubernetes.plane import pki
from harness.cluster.kubernetes.plane.layout import Layout, Ports

SERVICE_CIDR = "10.96.0.0/24"
ISSUER = "https://kubernetes.default.svc.cluster.local"
TRUST_DOMAIN = "cluster.local"
SIDECAR_IMAGE = "ghcr.io/dapr/daprd"  # the image the injector names in the daprd container; kwok never pulls it
# A configuration file replaces kwok's defaults rather than adding to them: 0 parallelism is refused at start.
KWOK_CONFIGURATION = """apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  enablePodsOnNodeSyncStreamWatch: true
  nodeLeaseParallelism: 4
  podPlayStageParallelism: 4
  nodePlayStageParallelism: 4
  nodeLeaseDurationSeconds: 40
  cidr: 10.0.0.0/24
  manageAllNodes: false
  manageNodesWithAnnotationSelector: kwok.x-k8s.io/node=fake
"""


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    argv: list[str]
    env: dict[str, str]


def base_env() -> dict[str, str]:
    """What every process inherits: PATH and HOME, nothing else of ours (no KUBECONFIG, no proxies)."""
    return {k: v for k in ("PATH", "HOME", "TMPDIR") if (v := os.environ.get(k))}


def etcd(bin_dir: Path, layout: Layout, ports: Ports) -> Command:
    client, peer = f"http://127.0.0.1:{ports.etcd_client}", f"http://127.0.0.1:{ports.etcd_peer}"
    argv = [
        str(bin_dir / "etcd"),
        "--name=plane",
        f"--data-dir={layout.etcd_data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=plane={peer}",
        "--unsafe-no-fsync",
        "--log-level=warn",
    ]
    return Command("etcd", argv, base_env())


def apiserver(bin_dir: Path, layout: Layout, ports: Ports) -> Command:
    keys = layout.pki
    argv = [
        str(bin_dir / "kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={ports.apiserver}",
        f"--cert-dir={layout.cert_dir('kube-apiserver')}",
        f"--tls-cert-file={keys.serving_cert}",
        f"--tls-private-key-file={keys.serving_key}",
        f"--client-ca-file={keys.ca_cert}",
        f"--kubelet-client-certificate={keys.client_cert(pki.KUBELET_CLIENT)}",
        f"--kubelet-client-key={keys.client_key(pki.KUBELET_CLIENT)}",
        "--kubelet-preferred-address-types=InternalIP",
        "--authorization-mode=Node,RBAC",
        "--anonymous-auth=false",
        f"--service-account-key-file={keys.sa_pub}",
        f"--service-account-signing-key-file={keys.sa_key}",
        f"--service-account-issuer={ISSUER}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--endpoint-reconciler-type=none",
        "--allow-privileged=true",
        "--profiling=false",
    ]
    return Command("kube-apiserver", argv, base_env())


def _component_flags(layout: Layout, user: pki.User, name: str, port: int) -> list[str]:
    kubeconfig = layout.component_kubeconfig(user)
    return [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={layout.cert_dir(name)}",
        "--leader-elect=false",
        "--profiling=false",
    ]


def controller_manager(bin_dir: Path, layout: Layout, ports: Ports) -> Command:
    keys = layout.pki
    name = "kube-controller-manager"
    argv = [
        str(bin_dir / name),
        *_component_flags(layout, pki.CONTROLLER_MANAGER, name, ports.controller_manager),
        "--use-service-account-credentials",
        f"--service-account-private-key-file={keys.sa_key}",
        f"--root-ca-file={keys.ca_cert}",
        f"--cluster-signing-cert-file={keys.ca_cert}",
        f"--cluster-signing-key-file={keys.ca_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
    ]
    return Command(name, argv, base_env())


def scheduler(bin_dir: Path, layout: Layout, ports: Ports) -> Command:
    name = "kube-scheduler"
    argv = [str(bin_dir / name), *_component_flags(layout, pki.SCHEDULER, name, ports.scheduler)]
    return Command(name, argv, base_env())


def kwok_config(stage_files: tuple[Path, ...]) -> str:
    """kwok's configuration file: its options and its stages (toolchain.module_files), one YAML stream."""
    return "---\n".join([KWOK_CONFIGURATION, *(f.read_text() for f in stage_files)])


def kwok(bin_dir: Path, layout: Layout) -> Command:
    """kwok serves nothing (no ``--server-address``): it only watches nodes and pods and plays their stages."""
    argv = [
        str(bin_dir / "kwok"),
        f"--kubeconfig={layout.component_kubeconfig(pki.KWOK)}",
        f"--config={layout.kwok_config}",
    ]
    return Command("kwok", argv, base_env())


def _dapr_env(namespace: str) -> dict[str, str]:
    """Sentry and the injector read their namespace from NAMESPACE. In Kubernetes mode both refuse to run as root
    (pkg/security: "Dapr must be run as a non-root user") unless told otherwise; CI runs as root, and on the host
    that check guards nothing a container would."""
    env = {**base_env(), "NAMESPACE": namespace}
    if os.geteuid() == 0:
        env["DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK"] = "true"
    return env


def sentry(dapr_bin: Path, layout: Layout, ports: Ports, namespace: str) -> Command:
    """Sentry keeps its CA in the Secret ``dapr-trust-bundle`` of ``namespace`` (Kubernetes mode)."""
    argv = [
        str(dapr_bin / "sentry"),
        "--mode=kubernetes",
        f"--kubeconfig={layout.kubeconfig}",
        f"--trust-domain={TRUST_DOMAIN}",
        "--listen-address=127.0.0.1",
        f"--port={ports.sentry}",
        "--healthz-listen-address=127.0.0.1",
        f"--healthz-port={ports.sentry_healthz}",
        "--enable-metrics=false",
        f"--issuer-credentials={layout.dapr / 'issuer'}",  # watched, empty: the CA is in the cluster
    ]
    return Command("sentry", argv, _dapr_env(namespace))


def injector(dapr_bin: Path, layout: Layout, ports: Ports, namespace: str) -> Command:
    """The injector gets its serving certificate from sentry with the token of its identity pod (objects.py).

    v1.18.2 binds its webhook and healthz servers to ``:port`` whatever ``--listen-address`` and
    ``--healthz-listen-address`` say (pkg/injector/service/injector.go, pkg/healthz/server/server.go): two
    listeners on every interface, on free ports, for the plane's life. The flags are passed anyway.
    """
    env = {
        **_dapr_env(namespace),
        "SIDECAR_IMAGE": SIDECAR_IMAGE,
        "SIDECAR_IMAGE_PULL_POLICY": "IfNotPresent",
        "KUBE_CLUSTER_DOMAIN": "cluster.local",
        "DAPR_SENTRY_ADDRESS": f"127.0.0.1:{ports.sentry}",
        "DAPR_TRUST_ANCHORS_FILE": str(layout.trust_anchors),
        "DAPR_CONTROL_PLANE_TRUST_DOMAIN": TRUST_DOMAIN,
        "DAPR_SENTRY_TOKEN_FILE": str(layout.injector_token),
    }
    argv = [
        str(dapr_bin / "injector"),
        f"--kubeconfig={layout.kubeconfig}",
        "--listen-address=127.0.0.1",
        f"--port={ports.injector}",
        "--healthz-listen-address=127.0.0.1",
        f"--healthz-port={ports.injector_healthz}",
        "--enable-metrics=false",
    ]
    return Command("injector", argv, env)
