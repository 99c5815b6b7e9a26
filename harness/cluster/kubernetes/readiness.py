"""A Kubernetes run is ready when the app's Deployment is rolled out (``Workload.rollout_problem``) and then every
pod's daprd answers ``/v1.0/healthz`` 204 and lists as many scheduler connections in ``/v1.0/metadata`` as Dapr's
scheduler has members, both through a port-forward to daprd's HTTP port (3500), all holding for a while: the local
readiness (``harness.cluster.local.readiness``) asked of pods.

A control plane whose nodes run no containers (kwok) lists its pods Running and Ready, but nothing answers on a
port-forward: the error says so plainly. When the API server refuses every port-forward to every pod (it opens
none) for ``REFUSED_FOR`` seconds, the wait ends then with the server's words, not at its timeout: a refusal is
not a daprd still starting (a pod whose kubelet serves opens the stream; only the connection inside it fails).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import httpx

from harness.cluster.kubernetes.api import PodView, wait_until
from harness.cluster.kubernetes.client import NO_KUBELET
from harness.cluster.kubernetes.portforward import Forwards
from harness.errors import ClusterError

DAPR_HTTP = 3500
TOKEN_HEADER = "dapr-api-token"
NO_ANSWER = "no answer over the port-forward"
NO_CONTAINERS = (
    "the pods are Running and Ready but daprd does not answer over a port-forward: are the nodes real? A control "
    "plane whose nodes run no containers (kwok's) cannot run onceonly's replicas"
)
REFUSED_FOR = 10.0  # seconds of every port-forward refused by the API server before the wait gives up


def daprd_problem(http: httpx.Client, url: str, token: str, schedulers: int | None) -> str | None:
    """None when the daprd at ``url`` is healthy and connected to ``schedulers`` members (None: to at least one);
    else what is missing."""
    try:
        health = http.get(f"{url}/v1.0/healthz", timeout=3.0)
        if health.status_code != 204:
            return f"/v1.0/healthz answered {health.status_code}"
        meta = http.get(f"{url}/v1.0/metadata", headers={TOKEN_HEADER: token}, timeout=3.0)
    except httpx.HTTPError as exc:
        return f"{NO_ANSWER} ({type(exc).__name__})"
    if meta.status_code != 200:
        return f"/v1.0/metadata answered {meta.status_code}"
    connected = (meta.json().get("scheduler") or {}).get("connected_addresses") or []
    want = schedulers or 1
    if len(connected) < want:
        return f"connected to {len(connected)} scheduler(s), want {want}"
    return None


class PortForwardsRefused(ClusterError):
    """The API server refused every port-forward to the app's pods for ``REFUSED_FOR`` seconds."""


def wait_daprds_ready(
    http: httpx.Client,
    forwards: Forwards,
    pods: Callable[[], Mapping[int, PodView]],
    token: str,
    schedulers: int | None,
    timeout: float,
    on_wait: Callable[[str], None] | None = None,
    stable_for: float = 1.0,
    refused_for: float = REFUSED_FOR,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """Wait until every pod of ``pods()`` (index -> pod) has a ready daprd, ``stable_for`` seconds in a row;
    ``PortForwardsRefused`` once every port-forward tried has been refused for ``refused_for`` seconds."""
    answered: set[str] = set()
    passing: list[float] = []
    refusing_since: list[float] = []

    def refusals(pod: str) -> None:
        forward = forwards.forward(pod, DAPR_HTTP)
        if answered or forward.opened or not forward.failures:  # a stream opened: the kubelet is there
            refusing_since.clear()
            return
        refusing_since.append(clock())
        if refusing_since[-1] - refusing_since[0] >= refused_for:
            said = forward.last_error
            lead = f"{NO_CONTAINERS} (" if NO_KUBELET in said else "the API server refuses port-forwards to the pods ("
            raise PortForwardsRefused(f"{lead}every one refused for {refused_for:.0f} s; the last: {said})")

    def probe() -> str | None:
        for index, pod in sorted(pods().items()):
            reason = daprd_problem(http, forwards.url(pod.name, DAPR_HTTP), token, schedulers)
            if reason is None or not reason.startswith(NO_ANSWER):
                answered.add(pod.name)
            if reason is not None:
                passing.clear()
                refusals(pod.name)
                return f"replica {index} ({pod.name}): {reason}"
        passing.append(0.0)
        return None if len(passing) * 0.5 >= stable_for else "holding"

    what = "every daprd ready and connected to the scheduler"
    try:
        return wait_until(what, probe, timeout, on_wait, poll=0.5, clock=clock)
    except PortForwardsRefused:
        raise
    except ClusterError as exc:
        if not answered:
            raise ClusterError(f"{exc}. {NO_CONTAINERS}") from None
        raise
