"""Each fault kind on real processes: it takes effect (process gone or stopped, port closed, traffic delayed or
cut) and its heal undoes it. Faults are driven through ``Nemesis`` exactly as a scenario's timeline does."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from harness.cluster.base import ClusterSpec
from harness.cluster.local.cluster import LocalCluster
from harness.cluster.local.ports import is_listening
from harness.model import ALL_MEMBERS
from harness.nemesis import FaultHandle, Nemesis
from harness.scenario.schema import FaultSpec
from tests.integration.helpers import deliveries, schedule_job, wait_gone
from toolchain import toxiproxy
from toolchain.binaries import Binaries
from toolchain.selection import cache_root

pytestmark = pytest.mark.integration
NS = 1_000_000_000


def fault(**fields: Any) -> FaultSpec:
    return FaultSpec.model_validate({"at": 0, **fields})


def nemesis(cluster: LocalCluster, http: httpx.Client, events: list[tuple[str, dict[str, Any]]]) -> Nemesis:
    return Nemesis(cluster, random.Random(1), http, lambda name, **kw: events.append((name, kw)))


def received(cluster: LocalCluster, name: str, after_ns: int, before_ns: int) -> list[int]:
    times = [int(str(r["received_ns"])) for r in deliveries(cluster, name)]
    return sorted(t for t in times if after_ns <= t < before_ns)


@pytest.fixture(scope="module")
def proxy_binary() -> Path:
    return toxiproxy.build(cache_root().parent / "toxiproxy")


@pytest.fixture
def proxied(dapr_bins: Binaries, proxy_binary: Path, tmp_path: Path) -> Iterator[LocalCluster]:
    """One replica, one scheduler, the fault proxy between them, and a job firing every second."""
    spec = ClusterSpec(replicas=1, schedulers=1, fault_proxy=True)
    with LocalCluster(spec, dapr_bins, tmp_path / "run", toxiproxy=proxy_binary) as cluster:
        schedule_job(cluster, cluster.replicas[0], "tick", {"schedule": "@every 1s", "data": {"job": "tick"}})
        time.sleep(2.5)
        yield cluster


def test_network_faults_delay_or_cut_the_traffic_and_heal(proxied: LocalCluster, http: httpx.Client) -> None:
    c = proxied
    events: list[tuple[str, dict[str, Any]]] = []
    nem = nemesis(c, http, events)
    link = c.proxy.link(0) if c.proxy else ""

    # delay: deliveries keep coming, each ~600 ms late (the job's due times are whole seconds after creation)
    handle = nem.inject(0, fault(kind="network-delay", target="all", delay="600ms", direction="from-scheduler"))
    assert handle.target == ALL_MEMBERS
    assert [t["type"] for t in c.toxiproxy().toxics(link)] == ["latency"]
    time.sleep(4.5)
    delayed = received(c, "tick", handle.injected_ns + NS, time.time_ns())
    nem.heal(handle)
    assert c.toxiproxy().toxics(link) == []
    gaps = _phase_shift_ms(c, delayed)
    assert len(delayed) >= 2 and min(gaps) >= 550, gaps  # held 600 ms by the proxy, not by Dapr
    time.sleep(3.0)
    healed = received(c, "tick", handle.healed_ns + 1500 * 1_000_000, time.time_ns())  # type: ignore[operator]
    assert healed and max(_phase_shift_ms(c, healed)) < 300, _phase_shift_ms(c, healed)

    # blackhole: nothing arrives while it is open, and the held triggers arrive after the heal
    handle = nem.inject(1, fault(kind="network-blackhole", target=0))
    time.sleep(4.0)
    cut = received(c, "tick", handle.injected_ns + 1500 * 1_000_000, time.time_ns())
    nem.heal(handle)
    assert cut == [], "deliveries came through a blackhole"
    time.sleep(4.0)
    assert received(c, "tick", _healed(handle), time.time_ns()), "no delivery after the blackhole was healed"

    # reset: daprd's scheduler connection is reset (its log says so) and nothing arrives; then it comes back
    handle = nem.inject(2, fault(kind="network-reset", target="all"))
    time.sleep(4.0)
    cut = received(c, "tick", handle.injected_ns + 1500 * 1_000_000, time.time_ns())
    nem.heal(handle)
    assert cut == [], "deliveries came through while every connection was reset"
    log = c.supervisor.log_tail(c.replicas[0].daprd_name, 400)
    assert "Scheduler stream disconnected" in log or "connection reset" in log, log[-2000:]
    time.sleep(4.0)
    assert received(c, "tick", _healed(handle), time.time_ns()), "no delivery after the reset was healed"
    assert [e for e, _ in events] == ["fault_injected", "fault_healed"] * 3
    assert c.toxiproxy().toxics(link) == []


def test_replica_faults_stop_processes_and_heal(dapr_bins: Binaries, http: httpx.Client, tmp_path: Path) -> None:
    with LocalCluster(ClusterSpec(replicas=2), dapr_bins, tmp_path / "run") as c:
        events: list[tuple[str, dict[str, Any]]] = []
        nem = nemesis(c, http, events)
        r1 = c.replicas[1]

        # kill daprd: process gone, its HTTP port closed; heal starts it again on the same port
        old = c.supervisor.get(r1.daprd_name).pid
        handle = nem.inject(0, fault(kind="kill", target=1, part="daprd", heal_after="1s"))
        assert wait_gone([old]) == [] and not is_listening(r1.http_port)
        nem.heal(handle)
        assert c.supervisor.get(r1.daprd_name).pid != old and is_listening(r1.http_port)

        # pause the app: the process is stopped (state T) until the heal sends SIGCONT
        handle = nem.inject(1, fault(kind="pause", target=1, part="app"))
        app = psutil.Process(c.supervisor.get(r1.app_name).pid)
        assert app.status() == psutil.STATUS_STOPPED
        nem.heal(handle)
        assert app.status() != psutil.STATUS_STOPPED

        # restart daprd: a new process (new pid), ready again; the fault window is the restart itself
        old = c.supervisor.get(r1.daprd_name).pid
        handle = nem.inject(2, fault(kind="restart", target=1, part="daprd"))
        assert c.supervisor.get(r1.daprd_name).pid != old and handle.healed_ns is not None

        # scale 2 -> 3 -> 1: a new replica index appears, then the newest ones' processes are gone
        nem.inject(3, fault(kind="scale", replicas=3))
        assert sorted(c.replicas) == [0, 1, 2]
        pids = [c.supervisor.get(n).pid for i in (1, 2) for n in (c.replicas[i].app_name, c.replicas[i].daprd_name)]
        nem.inject(4, fault(kind="scale", replicas=1))
        assert sorted(c.replicas) == [0] and wait_gone(pids) == []


def test_scheduler_faults_stop_a_member_and_heal(dapr_bins: Binaries, http: httpx.Client, tmp_path: Path) -> None:
    with LocalCluster(ClusterSpec(replicas=1, schedulers=3), dapr_bins, tmp_path / "run") as c:
        events: list[tuple[str, dict[str, Any]]] = []
        nem = nemesis(c, http, events)
        member = c.schedulers[1]

        # kill member 1: process gone, port closed; heal starts it with the same id and ports, daprd reconnects
        old = c.supervisor.get(member.name).pid
        handle = nem.inject(0, fault(kind="scheduler-kill", target=1, heal_after="1s"))
        assert wait_gone([old]) == [] and not is_listening(member.port)
        nem.heal(handle)
        assert c.supervisor.get(member.name).pid != old and is_listening(member.port)
        assert len(c.scheduler_addresses) == 3  # wait_ready in the heal saw daprd connected to all three again

        # restart member 0: a new process on the same port
        old = c.supervisor.get(c.schedulers[0].name).pid
        nem.inject(1, fault(kind="scheduler-restart", target=0))
        assert c.supervisor.get(c.schedulers[0].name).pid != old and is_listening(c.schedulers[0].port)


def _healed(handle: FaultHandle) -> int:
    assert handle.healed_ns is not None
    return handle.healed_ns


def _phase_shift_ms(cluster: LocalCluster, received_ns: list[int]) -> list[float]:
    """How far after a whole-second due time each delivery came: the job's phase comes from its first delivery."""
    first = min(received(cluster, "tick", 0, 2**63))
    slack = NS // 10  # an on-time delivery a few ms earlier in its second than the first one is not 999 ms late
    return [(((t - first + slack) % NS) - slack) / 1e6 for t in received_ns]
