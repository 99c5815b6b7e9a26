"""The cluster's DNS: CoreDNS on the host answering ``cluster.local`` from the plane's API server, and nothing else.

What resolves (the ``kubernetes`` plugin, from Services and EndpointSlices it watches):

- a Service's name, ``<svc>.<ns>.svc.cluster.local``: its ClusterIP (``dapr-sentry.dapr-system...``,
  ``dapr-api``, ``dapr-scheduler-server-a``, ``onceonly-redis.<run ns>``), or a headless Service's ready endpoints;
- a headless Service's pods by hostname, ``<pod>.<svc>.<ns>.svc.cluster.local`` (a StatefulSet's pods:
  ``dapr-scheduler-server-0.dapr-scheduler-server.dapr-system...``, placement's);
- ``<a-b-c-d>.<ns>.pod.cluster.local`` for pods that exist (``pods verified``); PTR records of the Service CIDR.

Every other name gets NXDOMAIN from a ``.`` block that answers locally (the ``template`` plugin): there is no
``forward`` and no upstream, so no query leaves the machine (this machine's resolver is a private address). Not
REFUSED: glibc's resolver stops walking a pod's search list at a REFUSED, and keeps going after an NXDOMAIN.

A name with a search path (``onceonly-redis``) is the client's job: kubelet writes the pod's resolv.conf.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.cluster.kubernetes.plane.commands import SERVICE_CIDR, Command, base_env
from harness.cluster.kubernetes.plane.waits import http_ok, wait_until
from harness.cluster.local.ports import PortAllocator, is_free
from harness.cluster.local.processes import Supervisor
from harness.errors import EnvironmentProblem, InputError
from toolchain import coredns
from toolchain.selection import kube_cache_root

ZONE = "cluster.local"
PROCESS = "coredns"


def reverse_zone(cidr: str) -> str:
    """The in-addr.arpa zone of an IPv4 CIDR on an octet boundary (``10.96.0.0/24`` -> ``0.96.10.in-addr.arpa``).

    Raises:
        InputError: not IPv4, or its prefix is not 8, 16 or 24.
    """
    network = ipaddress.ip_network(cidr, strict=True)
    if network.version != 4 or network.prefixlen not in (8, 16, 24):
        raise InputError(f"cluster DNS: the Service CIDR {cidr!r} must be IPv4 with a /8, /16 or /24 prefix")
    octets = str(network.network_address).split(".")[: network.prefixlen // 8]
    return ".".join(reversed(octets)) + ".in-addr.arpa"


@dataclass(frozen=True, slots=True)
class DnsConfig:
    """Where CoreDNS listens and what it reads. The node listens on the pods' bridge gateway, port 53; tests on
    127.0.0.1 and a free port. ``health`` and ``ready`` always listen on 127.0.0.1."""

    listen: str  # an IPv4 address on this host
    port: int  # UDP and TCP
    health_port: int
    ready_port: int
    kubeconfig: Path  # to the plane's API server; the admin's, or a user allowed to list/watch what the plugin reads
    service_cidr: str = SERVICE_CIDR
    cache_seconds: int = 5
    log_queries: bool = False

    def problems(self) -> list[str]:
        found = []
        try:
            ipaddress.IPv4Address(self.listen)
        except ValueError:
            found.append(f"listen address {self.listen!r} is not an IPv4 address")
        for name in ("port", "health_port", "ready_port"):
            if not 0 < getattr(self, name) < 65536:
                found.append(f"{name} {getattr(self, name)} is not a port (1-65535)")
        if len({self.port, self.health_port, self.ready_port}) < 3 and self.listen == "127.0.0.1":
            found.append("port, health_port and ready_port must differ on 127.0.0.1")
        if not 0 <= self.cache_seconds <= 300:
            found.append(f"cache_seconds {self.cache_seconds} is outside 0-300")
        return found

    @property
    def address(self) -> str:
        """``host:port`` as a resolver is told it."""
        return f"{self.listen}:{self.port}"


def corefile(config: DnsConfig) -> str:
    """The Corefile for ``config``.

    Raises:
        InputError: ``config.problems()`` is not empty, or the Service CIDR has no whole-octet reverse zone.
    """
    if config.problems():
        raise InputError("cluster DNS: " + "; ".join(config.problems()))
    reverse, port = reverse_zone(config.service_cidr), config.port
    log = ["    log"] if config.log_queries else []
    cache = [f"    cache {config.cache_seconds}"] if config.cache_seconds else []
    return "\n".join(
        [
            "# Rendered by onceonly (harness/cluster/kubernetes/plane/dns.py). No forward: nothing leaves the machine.",
            f"{ZONE}:{port} {reverse}:{port} {{",
            f"    bind {config.listen}",
            "    errors",
            *log,
            f"    health 127.0.0.1:{config.health_port}",
            f"    ready 127.0.0.1:{config.ready_port}",
            f"    kubernetes {ZONE} {reverse} {{",
            f"        kubeconfig {config.kubeconfig}",
            "        pods verified",
            "        ttl 5",
            "    }",
            *cache,
            "}",
            "# Every other name: NXDOMAIN, answered here (a REFUSED would end glibc's search list).",
            f".:{port} {{",
            f"    bind {config.listen}",
            "    errors",
            *log,
            "    template ANY ANY . {",
            "        rcode NXDOMAIN",
            "    }",
            "}",
            "",
        ]
    )


def command(binary: Path, corefile_path: Path, environ: Mapping[str, str] | None = None) -> Command:
    """CoreDNS's argv: its Corefile, the port flag unused (every block names its port)."""
    env = dict(environ) if environ is not None else base_env()
    return Command(PROCESS, [str(binary), "-conf", str(corefile_path)], env)


def free_dns_port(ports: PortAllocator) -> int:
    """A port free for TCP (the allocator checks) and for UDP on 127.0.0.1."""
    for _ in range(50):
        port = ports.take()
        with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        if is_free(port):
            return port
    raise EnvironmentProblem("cluster DNS: no port free for both UDP and TCP on 127.0.0.1 after 50 tries")


def loopback_config(kubeconfig: Path, ports: PortAllocator | None = None) -> DnsConfig:
    """A config on 127.0.0.1 with free ports (tests, or a plane without a node)."""
    ports = ports or PortAllocator()
    return DnsConfig("127.0.0.1", free_dns_port(ports), ports.take(), ports.take(), kubeconfig)


def cached_binary(version: str = coredns.VERSION) -> Path:
    """The coredns built in the kube cache; ``EnvironmentProblem`` naming how to build it."""
    root = kube_cache_root()
    if not coredns.built(root, version):
        raise EnvironmentProblem(
            f"CoreDNS {version} is not built in {root}: run `onceonly k8s dns build` (3-7 min cold)"
        )
    return coredns.binary_path(root, version)


class ClusterDns:
    """CoreDNS as a supervised process: its Corefile written into ``directory``, started, waited for ``/ready``
    (200 once the ``kubernetes`` plugin has synced with the API server), stopped by the supervisor."""

    def __init__(self, directory: Path, binary: Path, config: DnsConfig) -> None:
        self.directory = directory
        self.binary = binary
        self.config = config
        self.corefile_path = directory / "Corefile"

    @property
    def ready_url(self) -> str:
        return f"http://127.0.0.1:{self.config.ready_port}/ready"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.config.health_port}/health"

    def start(self, supervisor: Supervisor, timeout: float = 60.0) -> float:
        """Write the Corefile, start CoreDNS, wait until it is ready; the seconds that took."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.corefile_path.write_text(corefile(self.config))
        cmd = command(self.binary, self.corefile_path)
        supervisor.start(cmd.name, cmd.argv, cmd.env, cwd=self.directory)
        return wait_until(supervisor, PROCESS, "/ready answered 200", http_ok(self.ready_url), timeout)

    def stop(self, supervisor: Supervisor, grace: float = 10.0) -> int | None:
        if PROCESS not in supervisor.children:
            return None
        return supervisor.stop(PROCESS, grace)
