"""harness.cluster.local.members and .ports: command lines, config files and ports; nothing is started."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import pytest
import yaml

from harness.cluster.base import Tokens
from harness.cluster.local.members import (
    DAPR_CONFIG,
    LOOPBACK,
    RedisMember,
    ReplicaMember,
    SchedulerMember,
)
from harness.cluster.local.ports import HIGH, LOW, PortAllocator, is_free
from harness.model import version_tuple

RUN = Path("/run/onceonly-test")
SCHEDULER_BIN = Path("/opt/dapr/bin/scheduler")
DAPRD_BIN = Path("/opt/dapr/bin/daprd")


def scheduler(index: int = 0) -> SchedulerMember:
    base = 21000 + 10 * index
    return SchedulerMember(
        index=index,
        port=base,
        healthz_port=base + 1,
        metrics_port=base + 2,
        etcd_client_port=base + 3,
        etcd_peer_port=base + 4,
        data_dir=RUN / "scheduler" / str(index),
    )


def replica(index: int = 0) -> ReplicaMember:
    base = 22000 + 10 * index
    return ReplicaMember(index, base, base + 1, base + 2, base + 3, base + 4)


def flags(argv: list[str]) -> dict[str, str]:
    """``--name=value`` arguments as a dict (each flag appears once in these command lines)."""
    pairs = [a.removeprefix("--").split("=", 1) for a in argv[1:] if a.startswith("--") and "=" in a]
    result = dict((k, v) for k, v in pairs)
    assert len(result) == len(pairs), f"a flag appears twice in {argv}"
    return result


# --- version_tuple -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.16.0", (1, 16, 0)), ("v1.18.2", (1, 18, 2)), ("1.17.0-rc.1", (1, 17, 0)), ("1.16.10", (1, 16, 10))],
)
def test_version_tuple(version: str, expected: tuple[int, ...]) -> None:
    assert version_tuple(version) == expected


@pytest.mark.parametrize("version", ["edge", "", "1.x.0", "dev-build"])
def test_non_numeric_version_counts_as_newest(version: str) -> None:
    assert version_tuple(version) > version_tuple("1.18.3")
    assert version_tuple(version) > version_tuple("99.99.99")


def test_version_tuple_orders_numerically() -> None:
    assert version_tuple("1.16.10") > version_tuple("1.16.9")
    assert version_tuple("1.16.0") < version_tuple("1.16.1") < version_tuple("1.17.0")


# --- scheduler -----------------------------------------------------------------------------------------------


def test_scheduler_identity_and_addresses() -> None:
    member = scheduler(2)
    assert member.name == "scheduler-2"
    assert member.id == "dapr-scheduler-server-2"
    assert member.address == "127.0.0.1:21020"
    assert member.peer_url == "dapr-scheduler-server-2=http://127.0.0.1:21024"


def test_scheduler_argv_binds_loopback_and_uses_its_own_ports() -> None:
    member = scheduler(1)
    argv = member.argv(SCHEDULER_BIN, "peers", "debug", "1.18.2")
    assert argv[0] == str(SCHEDULER_BIN)
    got = flags(argv)
    assert got["listen-address"] == LOOPBACK == "127.0.0.1"
    assert got["metrics-listen-address"] == "127.0.0.1"
    assert got["healthz-listen-address"] == "127.0.0.1"
    assert got["id"] == member.id
    assert got["mode"] == "standalone"
    assert got["port"] == str(member.port)
    assert got["healthz-port"] == str(member.healthz_port)
    assert got["metrics-port"] == str(member.metrics_port)
    assert got["etcd-client-port"] == str(member.etcd_client_port)
    assert got["etcd-initial-cluster"] == "peers"
    assert got["etcd-data-dir"] == str(member.data_dir / "etcd")
    assert got["identity-directory-write"] == str(member.data_dir / "tls")
    assert got["log-level"] == "debug"


def test_scheduler_etcd_client_listen_address_only_from_1_16_1() -> None:
    member = scheduler()
    old = member.argv(SCHEDULER_BIN, "peers", "info", "1.16.0")
    new = member.argv(SCHEDULER_BIN, "peers", "info", "1.18.2")
    assert not any(a.startswith("--etcd-client-listen-address") for a in old)
    assert flags(new)["etcd-client-listen-address"] == "127.0.0.1"
    assert "--etcd-client-listen-address=127.0.0.1" in member.argv(SCHEDULER_BIN, "p", "info", "1.16.1")
    assert "--etcd-client-listen-address=127.0.0.1" in member.argv(SCHEDULER_BIN, "p", "info", "edge")
    assert set(new) - set(old) == {"--etcd-client-listen-address=127.0.0.1"}


def test_scheduler_ports_of_three_members_differ_and_form_one_initial_cluster() -> None:
    members = [scheduler(i) for i in range(3)]
    initial = ",".join(m.peer_url for m in members)
    for m in members:
        assert flags(m.argv(SCHEDULER_BIN, initial, "info", "1.18.2"))["etcd-initial-cluster"] == initial
    ports = [p for m in members for p in (m.port, m.healthz_port, m.metrics_port, m.etcd_client_port)]
    assert len(set(ports)) == len(ports)


@pytest.mark.parametrize(
    ("version", "metrics_on_all"),
    [("1.16.0", True), ("1.16.5", True), ("1.17.0", False), ("1.18.2", False), ("edge", False)],
)
def test_all_interface_ports(version: str, metrics_on_all: bool) -> None:
    member = scheduler()
    expected = {member.healthz_port, member.metrics_port} if metrics_on_all else {member.healthz_port}
    assert member.all_interface_ports(version) == expected


def test_scheduler_allocate_takes_distinct_ports(tmp_path: Path) -> None:
    ports = PortAllocator()
    a = SchedulerMember.allocate(0, ports, tmp_path)
    b = SchedulerMember.allocate(1, ports, tmp_path)
    taken = [a.port, a.healthz_port, a.metrics_port, a.etcd_client_port, a.etcd_peer_port]
    taken += [b.port, b.healthz_port, b.metrics_port, b.etcd_client_port, b.etcd_peer_port]
    assert len(set(taken)) == 10
    assert set(taken) == ports.taken
    assert a.data_dir == tmp_path / "scheduler" / "0"
    assert b.data_dir == tmp_path / "scheduler" / "1"


# --- replica -------------------------------------------------------------------------------------------------


def test_replica_names_and_urls() -> None:
    member = replica(4)
    assert (member.app_name, member.daprd_name) == ("app-4", "daprd-4")
    assert member.dapr_http == f"http://127.0.0.1:{member.http_port}"
    assert member.app_url == f"http://127.0.0.1:{member.app_port}"


def test_daprd_argv_binds_loopback_and_names_its_files() -> None:
    member = replica(1)
    config, resources = RUN / "dapr" / "config.yaml", RUN / "dapr" / "resources"
    schedulers = ["127.0.0.1:21000", "127.0.0.1:21010", "127.0.0.1:21020"]
    argv = member.daprd_argv(DAPRD_BIN, "onceonly", schedulers, config, resources, "info")
    assert argv[0] == str(DAPRD_BIN)
    got = flags(argv)
    assert got["dapr-listen-addresses"] == "127.0.0.1"
    assert got["app-channel-address"] == "127.0.0.1"
    assert got["dapr-internal-grpc-listen-address"] == "127.0.0.1"
    assert got["metrics-listen-address"] == "127.0.0.1"
    assert got["config"] == str(config)
    assert got["resources-path"] == str(resources)
    assert got["scheduler-host-address"] == "127.0.0.1:21000,127.0.0.1:21010,127.0.0.1:21020"
    assert got["app-id"] == "onceonly"
    assert got["app-port"] == str(member.app_port)
    assert got["dapr-http-port"] == str(member.http_port)
    assert got["dapr-grpc-port"] == str(member.grpc_port)
    assert got["dapr-internal-grpc-port"] == str(member.internal_grpc_port)
    assert got["metrics-port"] == str(member.metrics_port)
    assert got["mode"] == "standalone"


def test_daprd_argv_without_schedulers_has_no_scheduler_flag() -> None:
    argv = replica().daprd_argv(DAPRD_BIN, "onceonly", [], RUN / "c.yaml", RUN / "r", "info")
    assert not any(a.startswith("--scheduler-host-address") for a in argv)


def test_app_argv_serves_the_target_app_on_loopback() -> None:
    member = replica(2)
    argv = member.app_argv("/usr/bin/python3")
    assert argv[:3] == ["/usr/bin/python3", "-m", "uvicorn"]
    assert "target_app.app:create_app_from_env" in argv
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("--port") + 1] == str(member.app_port)


def test_replica_allocate_takes_distinct_ports() -> None:
    ports = PortAllocator()
    members = [ReplicaMember.allocate(i, ports) for i in range(3)]
    taken = [p for m in members for p in (m.app_port, m.http_port, m.grpc_port, m.internal_grpc_port, m.metrics_port)]
    assert len(set(taken)) == 15
    assert [m.index for m in members] == [0, 1, 2]


# --- redis ---------------------------------------------------------------------------------------------------


def test_redis_config_binds_loopback_with_the_password() -> None:
    member = RedisMember(23000, "s3cret-pw", RUN / "redis")
    lines = member.config().splitlines()
    assert "bind 127.0.0.1" in lines
    assert "requirepass s3cret-pw" in lines
    assert "port 23000" in lines
    assert "protected-mode yes" in lines
    assert f"dir {RUN / 'redis'}" in lines
    assert member.config_path == RUN / "redis" / "redis.conf"


def test_redis_argv_has_only_the_config_file() -> None:
    member = RedisMember(23000, "s3cret-pw", RUN / "redis")
    argv = member.argv("/usr/bin/redis-server")
    assert argv == ["/usr/bin/redis-server", str(RUN / "redis" / "redis.conf")]
    assert not any("s3cret-pw" in a for a in argv)
    assert member.name == "redis"


# --- no secret on any command line ---------------------------------------------------------------------------


def test_no_token_or_password_appears_in_any_argv() -> None:
    tokens = Tokens()
    secrets = {tokens.dapr_api, tokens.app_api, tokens.redis}
    assert len(secrets) == 3
    members = [scheduler(i) for i in range(3)]
    initial = ",".join(m.peer_url for m in members)
    argvs = [m.argv(SCHEDULER_BIN, initial, "info", v) for m in members for v in ("1.16.0", "1.18.2")]
    for r in (replica(0), replica(1)):
        argvs.append(r.daprd_argv(DAPRD_BIN, "onceonly", [m.address for m in members], RUN / "c", RUN / "r", "info"))
        argvs.append(r.app_argv())
    argvs.append(RedisMember(23000, tokens.redis, RUN / "redis").argv("redis-server"))

    for argv in argvs:
        for arg in argv:
            assert not any(secret in arg for secret in secrets), arg
            assert "token" not in arg.lower(), arg
            assert "pass" not in arg.lower(), arg


def test_tokens_differ_per_run() -> None:
    assert Tokens().dapr_api != Tokens().dapr_api


# --- Dapr configuration --------------------------------------------------------------------------------------


def test_dapr_config_selects_kubernetes_name_resolution() -> None:
    config = yaml.safe_load(DAPR_CONFIG)
    assert config["kind"] == "Configuration"
    assert config["spec"]["nameResolution"]["component"] == "kubernetes"
    assert config["spec"]["metric"]["enabled"] is True
    assert "mdns" not in DAPR_CONFIG.lower()


# --- ports ---------------------------------------------------------------------------------------------------


class ScriptedRandom(random.Random):
    """Hands out ``randint`` results from a script (a FAKE rng that repeats itself on purpose)."""

    def __init__(self, script: list[int]) -> None:
        super().__init__(0)
        self.script = list(script)

    def randint(self, a: int, b: int) -> int:
        assert (a, b) == (LOW, HIGH)
        return self.script.pop(0)


def free_ports(count: int) -> list[int]:
    found = [p for p in range(LOW + 500, LOW + 1500) if is_free(p)][:count]
    assert len(found) == count
    return found


def test_port_allocator_never_hands_out_a_port_twice() -> None:
    ports = PortAllocator()
    taken = [ports.take() for _ in range(200)]
    assert len(set(taken)) == len(taken)
    assert all(LOW <= p <= HIGH for p in taken)
    assert (LOW, HIGH) == (20000, 32767)
    assert set(taken) == ports.taken


def test_port_allocator_skips_a_port_it_already_gave_out() -> None:
    p, q = free_ports(2)
    ports = PortAllocator(rng=ScriptedRandom([p, p, p, q]))
    assert ports.take() == p
    assert ports.take() == q
    assert ports.taken == {p, q}


def test_port_allocator_skips_a_port_in_use() -> None:
    p, q = free_ports(2)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", p))
        busy.listen()
        assert not is_free(p)
        ports = PortAllocator(rng=ScriptedRandom([p, q]))
        assert ports.take() == q
    assert ports.taken == {q}


def test_port_allocator_gives_up_after_many_tries() -> None:
    (p,) = free_ports(1)
    ports = PortAllocator(rng=ScriptedRandom([p] * 2001), taken={p})
    with pytest.raises(RuntimeError, match="no free port"):
        ports.take()


def test_a_binding_component_fires_on_the_scenarios_schedule_at_the_apps_cron_route() -> None:
    from harness.cluster.dapr_resources import as_yaml, binding_component
    from harness.model import BindingPlan

    text = as_yaml(binding_component(BindingPlan("tick-cron", "*/1 * * * * *")))
    component = yaml.safe_load(text)
    assert (component["kind"], component["metadata"]["name"], component["spec"]["type"]) == (
        "Component",
        "tick-cron",
        "bindings.cron",
    )
    meta = {m["name"]: m["value"] for m in component["spec"]["metadata"]}
    assert meta == {"schedule": "*/1 * * * * *", "direction": "input", "route": "/cron/tick-cron"}
