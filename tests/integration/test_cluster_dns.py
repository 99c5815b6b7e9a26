"""The cluster's DNS against real processes: CoreDNS (built from its module, ``toolchain/coredns.py``) on
127.0.0.1 and a free port, reading the local control plane's API server, answers the names Dapr's injected sidecar
and the recorder use, and nothing outside ``cluster.local``.

kwok gives each pod an IP (its pod stage, from 10.0.0.0/24) and marks it Ready, so the EndpointSlice controller
writes real endpoints, with hostnames for a StatefulSet's pods behind its headless Service.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from harness.cluster.kubernetes.plane import dns, objects
from harness.cluster.kubernetes.plane.control_plane import LocalControlPlane
from harness.cluster.kubernetes.plane.dns_query import Answer, query
from toolchain import coredns
from toolchain.selection import kube_cache_root

pytestmark = [pytest.mark.integration, pytest.mark.kubernetes]

RUN_NS = "onceonly-dns-test"  # a run's namespace: the recorder reaches Redis as onceonly-redis there
DAPR_NS = "dapr-system"
SCHEDULER = "dapr-scheduler-server"  # the chart's StatefulSet and its headless Service (publishNotReadyAddresses)
PLACEMENT = "dapr-placement-server"  # the same for placement


@pytest.fixture(scope="module")
def cluster_dns(kube_plane: LocalControlPlane) -> Iterator[dns.ClusterDns]:
    """CoreDNS under the plane's own Supervisor, ready; stopped (and gone) after the module's tests."""
    coredns.build(kube_cache_root())  # a no-op when built; ~3-7 min cold
    config = dns.loopback_config(kube_plane.kubeconfig)
    server = dns.ClusterDns(kube_plane.layout.dir / "dns", dns.cached_binary(), config)
    seconds = server.start(kube_plane.supervisor, timeout=60)
    print(f"CoreDNS ready in {seconds:.2f} s on {config.address}")
    pid = kube_plane.supervisor.get(dns.PROCESS).pid
    yield server
    server.stop(kube_plane.supervisor)
    assert not psutil.pid_exists(pid)


def ask(server: dns.ClusterDns, name: str) -> Answer:
    return query(server.config.listen, server.config.port, name)


def resolves_to(server: dns.ClusterDns, name: str, expected: set[str], timeout: float = 30.0) -> Answer:
    """Ask until the answer's addresses are ``expected`` (objects just created take a watch event, and a
    negative answer is cached up to 5 s); the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = ask(server, name)
        if set(answer.addresses) == expected or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def service(ns: str, name: str, port: int, *, headless: bool = False, target: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"app": name.removesuffix("-a")},
        "ports": [{"name": "api", "port": port, "targetPort": target or port}],
        "publishNotReadyAddresses": True,
    }
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def stateful_set(ns: str, name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "serviceName": name,
            "replicas": replicas,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "scheduler", "image": "onceonly.invalid/scheduler"}]},
            },
        },
    }


def pod_ips(plane: LocalControlPlane, ns: str, names: list[str], timeout: float = 60.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        pods = plane.api.get(f"/api/v1/namespaces/{ns}/pods")["items"]
        ips = {p["metadata"]["name"]: p.get("status", {}).get("podIP") for p in pods}
        if all(ips.get(n) for n in names) or time.monotonic() > deadline:
            return {n: str(ips.get(n)) for n in names}
        time.sleep(0.5)


def injected_names(plane: LocalControlPlane) -> set[tuple[str, str]]:
    """The (service, namespace) of every ``*.svc.cluster.local`` address in the daprd container Dapr's real
    injector adds to a pod (created with dry run)."""
    probe = objects.probe_pod(RUN_NS, "dns-probe")
    created = plane.api.request("POST", f"/api/v1/namespaces/{RUN_NS}/pods", params={"dryRun": "All"}, json=probe)
    daprd = next(c for c in created["spec"]["containers"] if c["name"] == "daprd")
    text = " ".join([*daprd.get("args", []), *(e.get("value", "") for e in daprd.get("env", []))])
    return set(re.findall(r"([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local", text))


def test_the_names_the_injector_gives_daprd_and_redis_resolve_as_the_chart_makes_their_services(
    kube_plane: LocalControlPlane, cluster_dns: dns.ClusterDns
) -> None:
    """ClusterIP Services answer their ClusterIP; placement's, headless in the chart, its pod's IP."""
    kube_plane.api.apply(objects.namespace(RUN_NS))
    names = injected_names(kube_plane)
    print(f"names in the injected daprd: {sorted(names)}")
    assert ("dapr-sentry", DAPR_NS) in names and (PLACEMENT, DAPR_NS) in names, names
    wanted = {*names, ("onceonly-redis", RUN_NS)}
    for name, ns in sorted(wanted):
        kube_plane.api.apply(service(ns, name, 6379 if name == "onceonly-redis" else 443, headless=name == PLACEMENT))
    kube_plane.api.apply(stateful_set(DAPR_NS, PLACEMENT, 1))
    placement_ip = pod_ips(kube_plane, DAPR_NS, [f"{PLACEMENT}-0"])[f"{PLACEMENT}-0"]
    for name, ns in sorted(wanted):
        expected = kube_plane.api.get(f"/api/v1/namespaces/{ns}/services/{name}")["spec"]["clusterIP"]
        if name == PLACEMENT:
            assert expected == "None"
            expected = placement_ip
        else:
            assert expected.startswith("10.96.0.")
        answer = resolves_to(cluster_dns, f"{name}.{ns}.svc.cluster.local", {expected})
        assert answer.addresses == (expected,), (name, ns, answer)
    pod_name = f"{PLACEMENT}-0.{PLACEMENT}.{DAPR_NS}.svc.cluster.local"  # placement's raft peers in HA
    assert resolves_to(cluster_dns, pod_name, {placement_ip}).addresses == (placement_ip,)


def test_a_statefulsets_pods_resolve_by_hostname_through_its_headless_service(
    kube_plane: LocalControlPlane, cluster_dns: dns.ClusterDns
) -> None:
    kube_plane.api.apply(service(DAPR_NS, SCHEDULER, 50006, headless=True))
    kube_plane.api.apply(stateful_set(DAPR_NS, SCHEDULER, 3))
    pods = [f"{SCHEDULER}-{i}" for i in range(3)]
    ips = pod_ips(kube_plane, DAPR_NS, pods)
    assert all(ip.startswith("10.0.0.") for ip in ips.values()), ips
    for pod in pods:
        name = f"{pod}.{SCHEDULER}.{DAPR_NS}.svc.cluster.local"  # the scheduler's etcd peers: --etcd-initial-cluster
        answer = resolves_to(cluster_dns, name, {ips[pod]})
        assert answer.addresses == (ips[pod],), (name, answer)
    every = resolves_to(cluster_dns, f"{SCHEDULER}.{DAPR_NS}.svc.cluster.local", set(ips.values()))
    assert set(every.addresses) == set(ips.values())


def test_names_outside_cluster_local_are_nxdomain_answered_here_and_nothing_is_forwarded(
    cluster_dns: dns.ClusterDns,
) -> None:
    for name in ("example.com", "kubernetes.io", "dapr-sentry", "localhost"):
        started = time.monotonic()
        answer = ask(cluster_dns, name)
        assert (answer.rcode, answer.addresses) == ("NXDOMAIN", ()), (name, answer)
        assert time.monotonic() - started < 1.0  # answered locally: no upstream tried and timed out
    missing = ask(cluster_dns, f"no-such-service.{RUN_NS}.svc.cluster.local")
    assert missing.rcode == "NXDOMAIN"
    text = cluster_dns.corefile_path.read_text()
    assert "forward" not in text.replace("No forward", "") and "/etc/resolv.conf" not in text
    listed = coredns.plugins_listed(coredns.printed(cluster_dns.binary, "-plugins"))
    assert not listed & set(coredns.SENDERS), listed


def test_the_kubernetes_service_resolves(cluster_dns: dns.ClusterDns, kube_plane: LocalControlPlane) -> None:
    cluster_ip = kube_plane.api.get("/api/v1/namespaces/default/services/kubernetes")["spec"]["clusterIP"]
    assert ask(cluster_dns, "kubernetes.default.svc.cluster.local").addresses == (cluster_ip,)
