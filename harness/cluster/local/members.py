"""What each process of a local cluster is: its ports, its files, and the exact command line that starts it.

Pure: nothing here starts a process. ``harness.cluster.local.cluster`` hands these command lines to the supervisor.
Every port is explicit and every listener is bound to 127.0.0.1 where Dapr lets us choose (the scheduler's
healthz server is the exception: it always binds ``:port``, v1.18.3:pkg/healthz/server/server.go l.90).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from harness.cluster.dapr_resources import as_yaml, configuration
from harness.cluster.local.ports import PortAllocator
from harness.model import version_tuple

LOOPBACK = "127.0.0.1"

# daprd reads the Configuration named by --config: the one every backend gives (no mDNS; why, in
# harness.cluster.dapr_resources.configuration).
DAPR_CONFIG = as_yaml(configuration())


@dataclass(frozen=True, slots=True)
class RedisMember:
    port: int
    password: str
    directory: Path

    @property
    def name(self) -> str:
        return "redis"

    @property
    def config_path(self) -> Path:
        return self.directory / "redis.conf"

    def config(self) -> str:
        # The password lives in a 0600 file, never on a command line (where `ps` would show it).
        return "\n".join(
            [
                f"bind {LOOPBACK}",
                f"port {self.port}",
                "protected-mode yes",
                f"requirepass {self.password}",
                'save ""',
                "appendonly no",
                f"dir {self.directory}",
                "daemonize no",
                "",
            ]
        )

    def argv(self, redis_server: str) -> list[str]:
        return [redis_server, str(self.config_path)]


@dataclass(frozen=True, slots=True)
class SchedulerMember:
    index: int
    port: int
    healthz_port: int
    metrics_port: int
    etcd_client_port: int
    etcd_peer_port: int
    data_dir: Path

    @property
    def name(self) -> str:
        return f"scheduler-{self.index}"

    @property
    def id(self) -> str:
        return f"dapr-scheduler-server-{self.index}"

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def peer_url(self) -> str:
        return f"{self.id}=http://{LOOPBACK}:{self.etcd_peer_port}"

    @classmethod
    def allocate(cls, index: int, ports: PortAllocator, run_dir: Path) -> SchedulerMember:
        return cls(
            index=index,
            port=ports.take(),
            healthz_port=ports.take(),
            metrics_port=ports.take(),
            etcd_client_port=ports.take(),
            etcd_peer_port=ports.take(),
            data_dir=run_dir / "scheduler" / f"{index}",
        )

    def all_interface_ports(self, version: str) -> set[int]:
        """The ports this member binds on every interface whatever flags it gets (read in Dapr's source).

        healthz: ``net.Listen("tcp", ":port")`` at every tag (v1.18.3:pkg/healthz/server/server.go l.90).
        metrics: before 1.17.0 the scheduler never passes a listen address to its metrics exporter
        (v1.16.5:cmd/scheduler/app/app.go l.54-60); from 1.17.0 it passes ``--listen-address``.
        """
        ports = {self.healthz_port}
        if version_tuple(version) < (1, 17, 0):
            ports.add(self.metrics_port)
        return ports

    def argv(
        self, binary: Path, initial_cluster: str, log_level: str, version: str, broadcast: str | None = None
    ) -> list[str]:
        """Flags as in v1.18.3:tests/integration/framework/process/scheduler/scheduler.go.

        --listen-address=127.0.0.1 also makes the scheduler advertise 127.0.0.1 to daprd (server.go New).
        --etcd-client-listen-address exists from 1.16.1 on; 1.16.0 rejects it (pflag exits on unknown flags)
        and binds etcd's client port to 127.0.0.1 anyway. ``broadcast``: the address daprd is told to dial for
        this member (the fault proxy's link, ``harness.cluster.local.proxy``) instead of its own.
        """
        argv = [
            str(binary),
            f"--id={self.id}",
            "--mode=standalone",
            f"--listen-address={LOOPBACK}",
            f"--port={self.port}",
            f"--healthz-port={self.healthz_port}",
            f"--healthz-listen-address={LOOPBACK}",  # parsed but unused by Dapr; kept for when it is honoured
            f"--metrics-port={self.metrics_port}",
            f"--metrics-listen-address={LOOPBACK}",
            f"--etcd-client-port={self.etcd_client_port}",
            f"--etcd-initial-cluster={initial_cluster}",
            f"--etcd-data-dir={self.data_dir / 'etcd'}",
            f"--identity-directory-write={self.data_dir / 'tls'}",
            f"--log-level={log_level}",
        ]
        if version_tuple(version) >= (1, 16, 1):
            argv.append(f"--etcd-client-listen-address={LOOPBACK}")
        if broadcast is not None:
            argv.append(f"--override-broadcast-host-port={broadcast}")
        return argv


@dataclass(frozen=True, slots=True)
class ReplicaMember:
    """One replica: a uvicorn target app and its daprd."""

    index: int
    app_port: int
    http_port: int
    grpc_port: int
    internal_grpc_port: int
    metrics_port: int

    @property
    def app_name(self) -> str:
        return f"app-{self.index}"

    @property
    def daprd_name(self) -> str:
        return f"daprd-{self.index}"

    @property
    def dapr_http(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    @property
    def app_url(self) -> str:
        return f"http://{LOOPBACK}:{self.app_port}"

    @classmethod
    def allocate(cls, index: int, ports: PortAllocator) -> ReplicaMember:
        return cls(index, ports.take(), ports.take(), ports.take(), ports.take(), ports.take())

    def app_argv(self, python: str = sys.executable) -> list[str]:
        return [
            python,
            "-m",
            "uvicorn",
            "--factory",
            "target_app.app:create_app_from_env",
            # uvloop and httptools by name, not uvicorn's "auto": a missing one fails the start instead of
            # silently halving the recorder's throughput (benchmarks/bench_recorder.py)
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--host",
            LOOPBACK,
            "--port",
            str(self.app_port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]

    def daprd_argv(
        self,
        binary: Path,
        app_id: str,
        schedulers: list[str],
        config: Path,
        resources: Path,
        log_level: str,
    ) -> list[str]:
        # Flags as in v1.18.3:tests/integration/framework/process/daprd/daprd.go; all exist at 1.16.0.
        argv = [
            str(binary),
            "--mode=standalone",
            f"--app-id={app_id}",
            f"--app-port={self.app_port}",
            "--app-protocol=http",
            f"--app-channel-address={LOOPBACK}",
            f"--dapr-http-port={self.http_port}",
            f"--dapr-grpc-port={self.grpc_port}",
            f"--dapr-internal-grpc-port={self.internal_grpc_port}",
            f"--dapr-internal-grpc-listen-address={LOOPBACK}",
            f"--dapr-listen-addresses={LOOPBACK}",
            f"--metrics-port={self.metrics_port}",
            f"--metrics-listen-address={LOOPBACK}",
            f"--config={config}",
            f"--resources-path={resources}",
            "--enable-mtls=false",
            f"--log-level={log_level}",
        ]
        if schedulers:
            argv.append(f"--scheduler-host-address={','.join(schedulers)}")
        return argv
