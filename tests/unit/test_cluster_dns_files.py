"""harness/cluster/kubernetes/plane/dns.py: the Corefile, the argv, ports, and start/ready/stop through the
Supervisor with a FAKE coredns (a Python script serving /ready). The real CoreDNS is in
tests/integration/test_cluster_dns.py."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from harness.cluster.kubernetes.plane import dns
from harness.cluster.local.ports import PortAllocator
from harness.cluster.local.processes import Supervisor
from harness.errors import ClusterError, EnvironmentProblem, InputError
from tests.unit.fake_go import executable


def config(**overrides: object) -> dns.DnsConfig:
    values: dict[str, object] = {
        "listen": "10.88.0.1",
        "port": 53,
        "health_port": 28080,
        "ready_port": 28181,
        "kubeconfig": Path("/plane/kubeconfig"),
    }
    values.update(overrides)
    return dns.DnsConfig(**values)  # type: ignore[arg-type]


def blocks(corefile: str) -> dict[str, list[str]]:
    """Each server block's first line -> its directive lines (nested lines included, stripped)."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in corefile.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not raw.startswith(" ") and line.endswith("{"):
            current = found.setdefault(line.removesuffix("{").strip(), [])
        elif not raw.startswith(" ") and line == "}":
            current = None
        elif current is not None:
            current.append(line)
    return found


def test_the_corefile_serves_cluster_local_and_the_service_reverse_zone_and_forwards_nothing() -> None:
    text = dns.corefile(config())
    found = blocks(text)
    assert list(found) == ["cluster.local:53 0.96.10.in-addr.arpa:53", ".:53"]
    cluster = found["cluster.local:53 0.96.10.in-addr.arpa:53"]
    assert cluster[0] == "bind 10.88.0.1"
    assert "health 127.0.0.1:28080" in cluster and "ready 127.0.0.1:28181" in cluster
    assert "kubernetes cluster.local 0.96.10.in-addr.arpa {" in cluster
    assert "kubeconfig /plane/kubeconfig" in cluster and "pods verified" in cluster
    assert "cache 5" in cluster and "log" not in cluster
    assert found[".:53"] == ["bind 10.88.0.1", "errors", "template ANY ANY . {", "rcode NXDOMAIN", "}"]
    for word in ("forward", "proxy", "fallthrough", "resolv.conf", "grpc"):
        assert word not in text.replace("No forward", "")


def test_logging_and_cache_follow_the_config() -> None:
    found = blocks(dns.corefile(config(log_queries=True, cache_seconds=0)))
    assert all("log" in lines for lines in found.values())
    assert not any(line.startswith("cache") for lines in found.values() for line in lines)


@pytest.mark.parametrize(
    ("cidr", "zone"),
    [
        ("10.96.0.0/24", "0.96.10.in-addr.arpa"),
        ("10.96.0.0/16", "96.10.in-addr.arpa"),
        ("10.0.0.0/8", "10.in-addr.arpa"),
    ],
)
def test_reverse_zone(cidr: str, zone: str) -> None:
    assert dns.reverse_zone(cidr) == zone


@pytest.mark.parametrize("cidr", ["10.96.0.0/20", "fd00::/64"])
def test_reverse_zone_refuses_what_has_no_whole_octet_zone(cidr: str) -> None:
    with pytest.raises(InputError, match="/8, /16 or /24"):
        dns.reverse_zone(cidr)


def test_a_bad_config_is_refused_with_every_problem_named() -> None:
    bad = config(listen="localhost", port=0, cache_seconds=900)
    with pytest.raises(InputError) as caught:
        dns.corefile(bad)
    message = str(caught.value)
    assert "'localhost' is not an IPv4 address" in message
    assert "port 0 is not a port" in message and "cache_seconds 900" in message
    clash = config(listen="127.0.0.1", port=28080)
    assert clash.problems() == ["port, health_port and ready_port must differ on 127.0.0.1"]
    assert config().problems() == []


def test_the_command_names_only_the_corefile() -> None:
    cmd = dns.command(Path("/cache/coredns"), Path("/plane/dns/Corefile"), {"PATH": "/usr/bin"})
    assert cmd.name == "coredns"
    assert cmd.argv == ["/cache/coredns", "-conf", "/plane/dns/Corefile"]
    assert cmd.env == {"PATH": "/usr/bin"}


def test_a_loopback_config_has_a_port_free_for_udp_and_tcp() -> None:
    cfg = dns.loopback_config(Path("/k"), PortAllocator())
    assert cfg.listen == "127.0.0.1" and cfg.problems() == []
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.bind(("127.0.0.1", cfg.port))


def test_an_unbuilt_coredns_names_the_command_that_builds_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONCEONLY_CACHE_DIR", str(tmp_path / "dapr"))
    with pytest.raises(EnvironmentProblem, match="onceonly k8s dns build"):
        dns.cached_binary()


FAKE_COREDNS = """#!{python}
# FAKE coredns: reads the ready port from -conf's Corefile and answers GET /ready with 200 (or exits with 3)
import http.server, re, sys
text = open(sys.argv[2]).read()
if "{fail}" == "yes":
    print("plugin/kubernetes: FAKE failure"); sys.exit(3)
port = int(re.search(r"ready 127.0.0.1:(\\d+)", text).group(1))
class Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/ready" else 404); self.end_headers()
http.server.HTTPServer(("127.0.0.1", port), Ready).serve_forever()
"""


def fake_coredns(tmp_path: Path, fail: bool = False) -> Path:
    script = FAKE_COREDNS.replace("{python}", sys.executable).replace("{fail}", "yes" if fail else "no")
    return executable(tmp_path / "coredns", script)


def test_cluster_dns_writes_its_corefile_starts_waits_for_ready_and_stops(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs")
    cfg = dns.loopback_config(tmp_path / "kubeconfig")
    server = dns.ClusterDns(tmp_path / "dns", fake_coredns(tmp_path), cfg)
    try:
        seconds = server.start(supervisor, timeout=20)
        assert seconds < 20
        assert server.corefile_path.read_text() == dns.corefile(cfg)
        assert supervisor.get("coredns").alive()
    finally:
        server.stop(supervisor, grace=5)
    assert not supervisor.get("coredns").alive()
    assert server.stop(Supervisor(tmp_path / "other")) is None  # never started there: nothing to stop


def test_a_coredns_that_exits_fails_the_wait_with_its_log(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs")
    server = dns.ClusterDns(tmp_path / "dns", fake_coredns(tmp_path, fail=True), dns.loopback_config(tmp_path / "k"))
    try:
        with pytest.raises(ClusterError, match=r"(?s)coredns exited \(code 3\).*FAKE failure"):
            server.start(supervisor, timeout=20)
    finally:
        supervisor.stop_all()
