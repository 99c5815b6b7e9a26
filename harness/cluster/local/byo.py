"""A user's own app on the local backend: per replica the user's command, a recording hop, and daprd.

::

    daprd --app-port <hop.app_listen>  ──▶  hop (python -m hop)  ──▶  your app on <hop.app_port>
    your app, DAPR_HTTP_PORT=<hop.dapr_listen>  ──▶  hop  ──▶  daprd on <hop.dapr_port>

The replica's ``app_port`` (daprd's ``--app-port``, the ``app_url`` the nemesis and the endpoints name) is the
hop's app-side listener: what daprd sees as the app. The process ``app-<i>`` is the user's command (its own
process group): ``kill``/``pause``/``restart`` with ``part: app`` strike it. The hop ``hop-<i>`` is onceonly's
measuring instrument, not part of the replica under test: ``part: both`` strikes the app and daprd and leaves the
hop up, so a kill mid-handler is seen as it happens (daprd's connection dropped: a delivery cut off) and the
restarted app comes back behind the same hop; it stops with the replica (scale, the end of the run).

Start order per replica: hop, app, daprd (daprd probes its app channel, the hop, which passes the probe on).
Readiness adds one check per replica: the app's ``health`` path answers 2xx through the hop (both up), or, without
``health``, the app's port accepts connections.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from harness.cluster.local.members import LOOPBACK, ReplicaMember
from harness.cluster.local.ports import PortAllocator, is_listening
from harness.cluster.local.readiness import Check
from harness.cluster.user_app import UserApp

if TYPE_CHECKING:
    from harness.cluster.local.cluster import LocalCluster


@dataclass(frozen=True, slots=True)
class HopMember:
    """One replica's hop and the ports on its two sides."""

    index: int
    app_listen: int  # daprd -> hop (the replica's app_port)
    app_port: int  # hop -> the user's app
    dapr_listen: int  # the app's DAPR_HTTP_PORT -> hop
    dapr_port: int  # hop -> daprd's HTTP port

    @property
    def name(self) -> str:
        return f"hop-{self.index}"

    @classmethod
    def allocate(cls, replica: ReplicaMember, ports: PortAllocator) -> HopMember:
        return cls(replica.index, replica.app_port, ports.take(), ports.take(), replica.http_port)

    def argv(self, run_id: str, redis_port: int, journal: Path, python: str = sys.executable) -> list[str]:
        """The hop's command line; the ledger's password goes in its environment (``ONCEONLY_REDIS_PASSWORD``)."""
        return [
            python,
            "-m",
            "hop",
            f"--app-listen={self.app_listen}",
            f"--app-port={self.app_port}",
            f"--dapr-listen={self.dapr_listen}",
            f"--dapr-port={self.dapr_port}",
            f"--host={LOOPBACK}",
            f"--replica={self.index}",
            f"--run-id={run_id}",
            f"--redis-port={redis_port}",
            f"--journal={journal}",
        ]


def app_env(
    hop: HopMember, replica: ReplicaMember, app: UserApp, app_id: str, dapr_token: str, app_token: str
) -> dict[str, str]:
    """What the user's app is given: the scenario's env, then Dapr's usual variables (which the scenario cannot
    set), pointing its Dapr HTTP calls at the hop."""
    return {
        **app.env,
        "APP_ID": app_id,
        "APP_PORT": str(hop.app_port),
        "DAPR_HTTP_PORT": str(hop.dapr_listen),
        "DAPR_GRPC_PORT": str(replica.grpc_port),
        "DAPR_API_TOKEN": dapr_token,
        "APP_API_TOKEN": app_token,
        "PYTHONUNBUFFERED": "1",
    }


def app_ready(http: httpx.Client, hop: HopMember, app: UserApp, name: str) -> Check:
    """The app's health path answers 2xx through the hop; without one, the app's port accepts connections."""

    def probe() -> str | None:
        if app.health is None:
            return None if is_listening(hop.app_port) else f"nothing listens on its port {hop.app_port} yet"
        url = f"http://{LOOPBACK}:{hop.app_listen}{app.health}"
        try:
            resp = http.get(url, timeout=2.0)
        except httpx.HTTPError as exc:
            return f"{app.health} (through the hop): {type(exc).__name__}"
        return None if resp.is_success else f"{app.health} (through the hop) answered {resp.status_code}"

    what = f"{app.health} 2xx through the hop" if app.health else f"port {hop.app_port} listening"
    return Check(name, what, probe)


def start_hop(cluster: LocalCluster, replica: ReplicaMember, base: dict[str, str], python: str) -> HopMember:
    """Allocate and start replica's hop (before its app and daprd); ``base``: the children's environment."""
    hop = HopMember.allocate(replica, cluster.ports)
    cluster.hops[replica.index] = hop
    journal = cluster.journal_dir / f"{hop.name}.jsonl"
    env = {
        **base,
        "ONCEONLY_REDIS_PASSWORD": cluster.tokens.redis,
        "PYTHONUNBUFFERED": "1",
    }
    cluster.supervisor.start(hop.name, hop.argv(cluster.run_id, cluster.redis.port, journal, python), env)
    return hop


def start_app(cluster: LocalCluster, replica: ReplicaMember, app: UserApp, base: dict[str, str]) -> None:
    """Start the user's command as replica's app (its own process group, in ``app.cwd``)."""
    hop = cluster.hops[replica.index]
    env = {
        **base,
        **app_env(hop, replica, app, cluster.spec.app_id, cluster.tokens.dapr_api, cluster.tokens.app_api),
    }
    cluster.supervisor.start(replica.app_name, app.argv(hop.app_port), env, cwd=app.cwd)
