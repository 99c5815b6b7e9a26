"""Pods reach the API server the way they do in any cluster, at the ``kubernetes`` Service (10.96.0.1:443, in every
pod's ``KUBERNETES_SERVICE_HOST``), although the API server listens on 127.0.0.1 only (a pod's loopback is its
own): socat relays TCP from the bridge's gateway address to it, and the ``kubernetes`` Service's EndpointSlice
names that relay, so kube-proxy sends 10.96.0.1:443 there. TLS passes through untouched; the API server's serving
certificate names 10.96.0.1. The plane runs ``--endpoint-reconciler-type=none``, so nothing rewrites the slice.
"""

from __future__ import annotations

from typing import Any

from harness.cluster.kubernetes.plane.commands import Command
from harness.cluster.kubernetes.plane.node.commands import env

SLICE = "kubernetes-onceonly-node"


def socat(listen_address: str, listen_port: int, apiserver_port: int) -> Command:
    argv = [
        "socat",
        f"TCP-LISTEN:{listen_port},bind={listen_address},reuseaddr,fork",
        f"TCP:127.0.0.1:{apiserver_port}",
    ]
    return Command("apiserver-relay", argv, env())


def endpoint_slice(address: str, port: int) -> dict[str, Any]:
    """The ``kubernetes`` Service's one endpoint: the relay (the Service's port is named ``https``)."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": SLICE,
            "namespace": "default",
            "labels": {
                "kubernetes.io/service-name": "kubernetes",
                "endpointslice.kubernetes.io/managed-by": "onceonly",
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    }
