"""Readiness on Kubernetes when daprd cannot answer: a port-forward the API server refuses to open (every time,
for ``refused_for`` seconds) ends the wait with the server's words, instead of waiting out the timeout (observed on
the local control plane: 'no preferred addresses found' for every kwok pod, and a run waited its whole 90 s).
A stream that opens but carries no daprd (a FAKE pod port that echoes) is waited for, as a daprd still starting."""

from __future__ import annotations

import httpx
import pytest

from harness.cluster.kubernetes.api import PodView, PortStream
from harness.cluster.kubernetes.client import NO_KUBELET
from harness.cluster.kubernetes.portforward import Forwards
from harness.cluster.kubernetes.readiness import NO_CONTAINERS, PortForwardsRefused, wait_daprds_ready
from harness.errors import ClusterError
from tests.unit.fake_kube import echo_opener

PODS = {0: PodView("app-0", phase="Running", ready=True), 1: PodView("app-1", phase="Running", ready=True)}


def refusing(_pod: str, _port: int) -> PortStream:
    raise ClusterError(f"port-forward FAKE: the API server refused (500): {NO_KUBELET}; known addresses: []")


def wait(forwards: Forwards, timeout: float, refused_for: float) -> float:
    with httpx.Client() as http:
        try:
            return wait_daprds_ready(http, forwards, lambda: PODS, "t", 1, timeout, refused_for=refused_for)
        finally:
            forwards.close()


def test_every_port_forward_refused_ends_the_wait_early_saying_the_nodes_run_no_containers() -> None:
    with pytest.raises(PortForwardsRefused) as caught:
        wait(Forwards(refusing), timeout=60.0, refused_for=1.0)
    message = str(caught.value)
    assert message.startswith(NO_CONTAINERS) and NO_KUBELET in message and "refused for 1 s" in message


def test_another_refusal_is_said_as_the_servers() -> None:
    def forbidden(_pod: str, _port: int) -> PortStream:
        raise ClusterError("port-forward FAKE: the API server refused (403): pods/portforward is forbidden")

    with pytest.raises(PortForwardsRefused, match=r"refuses port-forwards to the pods .*forbidden"):
        wait(Forwards(forbidden), timeout=60.0, refused_for=0.0)


def test_streams_that_open_are_waited_for_until_the_timeout() -> None:
    with pytest.raises(ClusterError) as caught:
        wait(Forwards(lambda _pod, _port: echo_opener()), timeout=1.5, refused_for=0.0)
    assert not isinstance(caught.value, PortForwardsRefused)
    assert "not reached after" in str(caught.value)
