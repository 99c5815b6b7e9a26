"""The fault proxy's pure parts and its API client, against a FAKE Toxiproxy API (httpx.MockTransport)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from harness.cluster.local.members import SchedulerMember
from harness.cluster.local.ports import PortAllocator
from harness.cluster.local.proxy import FaultProxyMember, Toxic, ToxiproxyClient, toxics_for
from harness.errors import ClusterError


def test_each_kind_maps_to_its_toxic_in_each_direction() -> None:
    both = toxics_for("scheduler-0", "blackhole", "both", tag="fault2")
    assert [(t.type, t.stream, t.attributes) for t in both] == [
        ("timeout", "upstream", {"timeout": 0}),
        ("timeout", "downstream", {"timeout": 0}),
    ]
    assert {t.name for t in both} == {"fault2-blackhole-upstream", "fault2-blackhole-downstream"}
    (acks,) = toxics_for("scheduler-1", "reset", "to-scheduler")
    assert (acks.link, acks.type, acks.stream) == ("scheduler-1", "reset_peer", "upstream")
    (late,) = toxics_for("scheduler-0", "delay", "from-scheduler", delay_ms=300)
    assert (late.type, late.stream, late.attributes) == ("latency", "downstream", {"latency": 300, "jitter": 0})
    with pytest.raises(ValueError, match="delay above 0"):
        toxics_for("scheduler-0", "delay", "both")


def test_the_proxy_listens_on_loopback_only_and_members_broadcast_its_links(tmp_path: Path) -> None:
    ports = PortAllocator()
    proxy = FaultProxyMember.allocate(3, ports)
    assert len(set(proxy.listen_ports) | {proxy.api_port}) == 4
    argv = proxy.argv(Path("/bin/toxiproxy-server"))
    assert argv[argv.index("-host") + 1] == "127.0.0.1"
    member = SchedulerMember.allocate(1, ports, tmp_path)
    flags = member.argv(Path("/bin/scheduler"), "x", "info", "1.18.2", broadcast=proxy.address(1))
    assert f"--override-broadcast-host-port=127.0.0.1:{proxy.listen_ports[1]}" in flags
    assert not any("override-broadcast" in f for f in member.argv(Path("/bin/scheduler"), "x", "info", "1.18.2"))


class FakeToxiproxy:
    """Answers the API calls ToxiproxyClient makes, keeping links and toxics in memory."""

    def __init__(self) -> None:
        self.links: dict[str, dict[str, object]] = {}
        self.toxics: dict[str, dict[str, dict[str, object]]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if request.method == "GET" and parts == ["version"]:
            return httpx.Response(200, text="2.12.0")
        if request.method == "POST" and parts == ["proxies"]:
            body = json.loads(request.content)
            if body["name"] in self.links:
                return httpx.Response(409, text="proxy already exists")
            self.links[body["name"]] = body
            self.toxics[body["name"]] = {}
            return httpx.Response(201, json=body)
        if parts[0] == "proxies" and len(parts) >= 3 and parts[2] == "toxics":
            toxics = self.toxics.get(parts[1])
            if toxics is None:
                return httpx.Response(404, text="proxy not found")
            if request.method == "POST":
                body = json.loads(request.content)
                toxics[body["name"]] = body
                return httpx.Response(200, json=body)
            if request.method == "GET":
                return httpx.Response(200, json=list(toxics.values()))
            if request.method == "DELETE":
                return httpx.Response(204) if toxics.pop(parts[3], None) else httpx.Response(404, text="not found")
        return httpx.Response(405)


def test_client_creates_links_adds_and_removes_toxics() -> None:
    fake = FakeToxiproxy()
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        client = ToxiproxyClient(http, "http://127.0.0.1:1")
        client.wait_up(1.0)
        client.create_link("scheduler-0", "127.0.0.1:2", "127.0.0.1:3")
        toxics = toxics_for("scheduler-0", "blackhole", "both")
        for t in toxics:
            client.add(t)
        assert sorted(str(t["name"]) for t in client.toxics("scheduler-0")) == sorted(t.name for t in toxics)
        for t in toxics:
            client.remove(t)
        client.remove(toxics[0])  # removing twice is fine: healed is healed
        assert client.toxics("scheduler-0") == []
        with pytest.raises(ClusterError, match="create link scheduler-0 failed: 409"):
            client.create_link("scheduler-0", "127.0.0.1:2", "127.0.0.1:3")
        with pytest.raises(ClusterError, match="add toxic x failed: 404"):
            client.add(Toxic("nope", "x", "timeout", "upstream", {"timeout": 0}))
