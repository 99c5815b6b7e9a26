"""Pods as replica indices (harness.cluster.kubernetes.replicas): by first appearance, never reused, a replacement
is a new index, lifetimes and removals as the local cluster's mean them; pods.json; the ledger read with it."""

from __future__ import annotations

from pathlib import Path

import fakeredis

from harness.cluster.kubernetes.api import PodView
from harness.cluster.kubernetes.replicas import ReplicaMap
from harness.io.ledger import Ledger
from harness.io.pods import read_pods, replica_by_pod, write_pods
from target_app import contract
from target_app.contract import ArrivalRecord


def pod(name: str, created: int, *, ready: bool = True, deleting: bool = False) -> PodView:
    return PodView(name, phase="Running", ready=ready, created_ns=created, ready_ns=created + 5, deleting=deleting)


def test_indices_follow_first_appearance_then_creation_time_then_name() -> None:
    m = ReplicaMap()
    m.observe([pod("c", 30), pod("a", 10), pod("b", 10)], now_ns=100)
    assert m.names() == {"a": 0, "b": 1, "c": 2}
    m.observe([pod("z", 1), pod("a", 10), pod("b", 10), pod("c", 30)], now_ns=200)  # older name, seen later
    assert m.names()["z"] == 3


def test_a_replacement_pod_is_a_new_index_and_the_old_one_is_never_reused() -> None:
    m = ReplicaMap()
    m.observe([pod("a", 1), pod("b", 2)], now_ns=10)
    m.started()
    m.removing("a", now_ns=20)
    m.observe([pod("a", 1, deleting=True), pod("b", 2)], now_ns=25)
    m.observe([pod("b", 2), pod("c", 30)], now_ns=40)
    assert m.names() == {"a": 0, "b": 1, "c": 2}
    assert m.lifetimes == {0: (0, 20), 2: (35, None)}  # initial pods: since 0; the newcomer: its Ready time
    assert m.removed == {0: 40}
    assert sorted(m.live()) == [1, 2]


def test_scale_down_then_up_gives_new_indices() -> None:
    m = ReplicaMap()
    m.observe([pod("a", 1), pod("b", 2), pod("c", 3)], now_ns=10)
    m.started()
    m.observe([pod("a", 1)], now_ns=50)  # scaled to 1
    m.observe([pod("a", 1), pod("d", 60), pod("e", 61)], now_ns=70)  # scaled to 3 again
    assert m.names() == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}
    assert m.removed == {1: 50, 2: 50}  # gone (a delivery from them after this is a zombie)
    # never listed deleting: they may have stopped any time after they were last listed alive (10), so their
    # windows end there (k8s-chart-upgrade: a rollout's deletes fell between two listings, and a cron tick the
    # stopping daprds did not fire was judged missed)
    assert m.lifetimes == {1: (0, 10), 2: (0, 10), 3: (65, None), 4: (66, None)}


def test_a_pod_not_ready_or_deleting_is_not_live_but_present_until_deleting() -> None:
    m = ReplicaMap()
    m.observe([pod("a", 1, ready=False), pod("b", 2, deleting=True)], now_ns=5)
    assert m.live() == {}
    assert sorted(m.present()) == [0]


def test_a_pod_named_only_by_the_ledger_gets_the_next_index_and_no_lifetime() -> None:
    m = ReplicaMap()
    m.observe([pod("a", 1)], now_ns=5)
    assert m.index_of("ghost") == 1
    assert m.index_of("ghost") == 1
    assert m.index_of("a") == 0
    assert 1 not in m.lifetimes and 1 not in m.live()
    assert [r["seen_in"] for r in m.rows()] == ["api", "ledger"]


def test_pods_json_round_trips(tmp_path: Path) -> None:
    m = ReplicaMap()
    m.observe([pod("a", 1), pod("b", 2)], now_ns=5)
    write_pods(tmp_path, "ns-1", "ctx", m.rows())
    doc = read_pods(tmp_path)
    assert doc is not None and doc["namespace"] == "ns-1" and doc["context"] == "ctx"
    assert replica_by_pod(doc) == {"a": 0, "b": 1}
    assert doc["pods"][0]["ready_ns"] == 6 and doc["pods"][0]["gone_ns"] is None
    assert read_pods(tmp_path / "nothing") is None


def arrival(delivery: str, replica: int, pod_name: str | None, at: int) -> str:
    pods = {"name": pod_name, "node": "n1", "ip": "10.0.0.9"} if pod_name else {}
    return ArrivalRecord(delivery, "jobs", "j", replica, 7, at, pod=pods).to_json()


def test_the_ledger_maps_a_pods_arrivals_to_its_index_and_keeps_a_local_replica() -> None:
    """FAKE Redis (fakeredis) holding what the apps would write."""
    client = fakeredis.FakeRedis()
    key = contract.deliveries_key("run")
    for record in (
        arrival("d1", -1, "pod-b", 10),
        arrival("d2", -1, "pod-a", 20),
        arrival("d3", 4, None, 30),  # a local run's record: its own index
        arrival("d4", -1, "pod-new", 40),  # a pod the harness never listed
    ):
        client.xadd(key, {contract.STREAM_FIELD: record})
    m = ReplicaMap()
    m.observe([pod("pod-a", 1), pod("pod-b", 2)], now_ns=5)
    deliveries, _stats = Ledger(client, "run", pod_replica=m.index_of).deliveries()
    assert [(d.delivery_id, d.replica) for d in deliveries] == [("d1", 1), ("d2", 0), ("d3", 4), ("d4", 2)]
    local, _ = Ledger(client, "run").deliveries()
    assert [d.replica for d in local] == [-1, -1, 4, -1]


def test_a_pod_a_rollout_deletes_leaves_from_when_its_deletion_was_asked_not_when_it_was_seen() -> None:
    """From k8s-chart-upgrade on the local node (2026-12-01): the rolling restart deleted pod 2 (graceful); the
    harness first listed it deleting ~2 s later and ended its window then, so a cron tick its daprd, already
    stopping, did not fire was judged missed (a FAIL of the binding with nothing lost)."""
    m = ReplicaMap()
    m.observe([pod("a", 1), pod("b", 2)], now_ns=10)
    m.started()
    asked = PodView("b", phase="Running", ready=True, created_ns=2, ready_ns=7, deleting=True, deletion_asked_ns=30)
    m.observe([pod("a", 1), asked], now_ns=50)
    m.observe([pod("a", 1)], now_ns=60)
    assert m.lifetimes[1] == (0, 30)
    no_time = PodView("a", phase="Running", ready=True, created_ns=1, ready_ns=6, deleting=True)
    m.observe([no_time], now_ns=70)  # a deletion whose asking time is not known: when it was seen
    assert m.lifetimes[0] == (0, 70)


def test_the_deletion_was_asked_a_grace_period_before_the_deletion_timestamp() -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace as Obj

    from harness.cluster.kubernetes.client import pod_view

    stamp = datetime(2026, 12, 1, 7, 20, 46, tzinfo=UTC)
    meta = Obj(name="p", uid="u", creation_timestamp=None, deletion_timestamp=stamp, deletion_grace_period_seconds=30)
    v1pod = Obj(metadata=meta, spec=Obj(node_name="n", containers=[]), status=Obj(pod_ip="", phase="Running",
        conditions=[], container_statuses=[]))  # fmt: skip
    view = pod_view(v1pod)
    assert view.deleting and view.deletion_asked_ns == int((stamp.timestamp() - 30) * 1e9)
    meta.deletion_timestamp = None
    assert pod_view(v1pod).deletion_asked_ns is None
