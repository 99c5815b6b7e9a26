"""The fault proxy between every daprd and each scheduler member: a real Toxiproxy, driven over its HTTP API.

How traffic goes through it. daprd is given the proxy's addresses (``--scheduler-host-address``), but that is
only where it *starts*: it asks one scheduler for the member list (WatchHosts) and then dials the addresses the
members broadcast (v1.18.2:pkg/runtime/scheduler/internal/watchhosts/watchhosts.go, ``Run``). So each scheduler
member is also started with ``--override-broadcast-host-port`` set to its link's listen address
(v1.18.2:pkg/scheduler/server/server.go ``New``; the flag exists at 1.16.0 too), and every job stream, schedule
call and ack passes through the link of its member. One link per member, shared by all replicas.

Faults are toxics on a link (toxiproxy v2.12.0 toxics/):

- ``delay``: ``latency`` toxic, every byte held ``delay`` in the chosen direction(s);
- ``blackhole``: ``timeout`` toxic with timeout 0: bytes dropped, connections left open (no FIN, no RST),
  so only gRPC keepalive can notice (field note 22);
- ``reset``: ``reset_peer`` toxic with timeout 0: the first bytes on any connection, old or new, reset it (RST).

Directions: ``to-scheduler`` is Toxiproxy's *upstream* (daprd -> scheduler: schedule calls, acks of triggers),
``from-scheduler`` its *downstream* (triggers, answers), ``both`` both. Removing the toxic heals the link.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.cluster.base import Direction, NetworkKind
from harness.cluster.local.ports import PortAllocator
from harness.errors import ClusterError

LOOPBACK = "127.0.0.1"
_STREAMS: dict[Direction, tuple[str, ...]] = {
    "both": ("upstream", "downstream"),
    "to-scheduler": ("upstream",),
    "from-scheduler": ("downstream",),
}


@dataclass(frozen=True, slots=True)
class FaultProxyMember:
    """The toxiproxy-server process: its API port and one listen port per scheduler member (same order)."""

    api_port: int
    listen_ports: tuple[int, ...]

    name = "toxiproxy"

    @classmethod
    def allocate(cls, schedulers: int, ports: PortAllocator) -> FaultProxyMember:
        return cls(ports.take(), tuple(ports.take() for _ in range(schedulers)))

    @property
    def api(self) -> str:
        return f"http://{LOOPBACK}:{self.api_port}"

    def address(self, member: int) -> str:
        return f"{LOOPBACK}:{self.listen_ports[member]}"

    @staticmethod
    def link(member: int) -> str:
        return f"scheduler-{member}"

    def argv(self, binary: Path) -> list[str]:
        # -host binds the API to loopback; proxies listen where we create them (127.0.0.1 only). A fixed seed
        # makes toxicity draws reproducible (we only use toxicity 1.0, so nothing is drawn).
        return [str(binary), "-host", LOOPBACK, "-port", str(self.api_port), "-seed", "1"]


@dataclass(frozen=True, slots=True)
class Toxic:
    """One toxic on one link: enough to remove it again."""

    link: str
    name: str
    type: str
    stream: str
    attributes: dict[str, int]


class ToxiproxyClient:
    """The few calls of Toxiproxy's HTTP API onceonly needs (toxiproxy v2.12.0 api.go)."""

    def __init__(self, http: httpx.Client, api: str) -> None:
        self.http = http
        self.api = api

    def wait_up(self, timeout: float, alive: Callable[[], bool] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.http.get(f"{self.api}/version", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or (alive is not None and not alive()):
                raise ClusterError(f"toxiproxy-server did not answer {self.api}/version within {timeout:.0f} s")
            time.sleep(0.05)

    def create_link(self, name: str, listen: str, upstream: str) -> None:
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": True}
        self._ok(self.http.post(f"{self.api}/proxies", json=body), f"create link {name}")

    def add(self, toxic: Toxic) -> None:
        body = {
            "name": toxic.name,
            "type": toxic.type,
            "stream": toxic.stream,
            "toxicity": 1.0,
            "attributes": toxic.attributes,
        }
        self._ok(self.http.post(f"{self.api}/proxies/{toxic.link}/toxics", json=body), f"add toxic {toxic.name}")

    def remove(self, toxic: Toxic) -> None:
        resp = self.http.delete(f"{self.api}/proxies/{toxic.link}/toxics/{toxic.name}")
        if resp.status_code != 404:  # already gone is healed
            self._ok(resp, f"remove toxic {toxic.name}")

    def toxics(self, link: str) -> list[dict[str, object]]:
        resp = self.http.get(f"{self.api}/proxies/{link}/toxics")
        self._ok(resp, f"list toxics of {link}")
        result: list[dict[str, object]] = resp.json()
        return result

    @staticmethod
    def _ok(resp: httpx.Response, what: str) -> None:
        if resp.status_code >= 300:
            raise ClusterError(f"toxiproxy: {what} failed: {resp.status_code} {resp.text.strip()[:300]}")


def toxics_for(
    link: str, kind: NetworkKind, direction: Direction, delay_ms: int = 0, tag: str = "fault"
) -> list[Toxic]:
    """The toxics that make ``kind`` in ``direction`` on ``link`` (one per stream)."""
    if kind == "delay":
        if delay_ms <= 0:
            raise ValueError("a delay fault needs a delay above 0 ms")
        type_, attributes = "latency", {"latency": delay_ms, "jitter": 0}
    elif kind == "blackhole":
        type_, attributes = "timeout", {"timeout": 0}
    else:
        type_, attributes = "reset_peer", {"timeout": 0}
    return [Toxic(link, f"{tag}-{kind}-{stream}", type_, stream, attributes) for stream in _STREAMS[direction]]
