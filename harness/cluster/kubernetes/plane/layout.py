"""Where a local control plane keeps its files, and the loopback ports its processes listen on.

One directory per plane::

    pki/                  CA, serving and client certificates, the service-account key pair (pki.py)
    kubeconfig            the admin's (system:masters), 0600: what `export KUBECONFIG=` points at
    kubeconfigs/<user>    one per component (controller-manager, scheduler, kwok), 0600
    etcd/                 etcd's data
    certs/<component>/    what kube-apiserver, -controller-manager and -scheduler write to --cert-dir
    kwok.yaml             kwok's configuration (none of the user's ~/.kwok is read)
    dapr/                 sentry's and the injector's files: the trust anchors, the injector's sentry token (0600)
    logs/<process>.log    one log per process (the Supervisor's)
    plane.json            what runs where: ports, pids, versions (written when the plane is ready)

Every port is drawn free (``cluster.local.ports``), never fixed, so two planes, or a plane and a run, coexist.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.cluster.kubernetes.plane.pki import Pki, User
from harness.cluster.local.ports import PortAllocator


@dataclass(frozen=True, slots=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    sentry: int
    sentry_healthz: int
    injector: int
    injector_healthz: int

    @classmethod
    def take(cls, ports: PortAllocator) -> Ports:
        return cls(**{name: ports.take() for name in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class Layout:
    dir: Path

    @property
    def pki(self) -> Pki:
        return Pki(self.dir / "pki")

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    def component_kubeconfig(self, user: User) -> Path:
        return self.dir / "kubeconfigs" / user.file

    @property
    def etcd_data(self) -> Path:
        return self.dir / "etcd"

    def cert_dir(self, component: str) -> Path:
        return self.dir / "certs" / component

    @property
    def kwok_config(self) -> Path:
        return self.dir / "kwok.yaml"

    @property
    def dapr(self) -> Path:
        return self.dir / "dapr"

    @property
    def trust_anchors(self) -> Path:
        return self.dapr / "ca.crt"

    @property
    def injector_token(self) -> Path:
        return self.dapr / "injector-sentry-token"

    @property
    def logs(self) -> Path:
        return self.dir / "logs"

    @property
    def record(self) -> Path:
        return self.dir / "plane.json"


def write_kubeconfig(path: Path, server: str, pki: Pki, user: User) -> None:
    """A kubeconfig (mode 0600) naming the CA and ``user``'s client certificate by path."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "onceonly", "cluster": {"server": server, "certificate-authority": str(pki.ca_cert)}}],
        "users": [
            {
                "name": user.name,
                "user": {
                    "client-certificate": str(pki.client_cert(user)),
                    "client-key": str(pki.client_key(user)),
                },
            }
        ],
        "contexts": [{"name": "onceonly", "context": {"cluster": "onceonly", "user": user.name}}],
        "current-context": "onceonly",
    }
    write_private(path, yaml.safe_dump(doc, sort_keys=False))


def write_private(path: Path, text: str) -> None:
    """``text`` into ``path``, readable by its owner only (created 0600, never briefly wider)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
