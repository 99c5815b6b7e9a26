"""The kubernetes backend's client: what the API server refuses becomes a ``ClusterError`` naming the call and
quoting the server. Observed on the local control plane: an exec or port-forward to a kwok pod came back as the
client's raw ``ApiException`` (status 0, "Handshake status 500 ... no preferred addresses found")."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from harness.cluster.kubernetes.client import NO_KUBELET_HINT, asking, refused, server_message
from harness.errors import ClusterError, ExitCode

STATUS = {"kind": "Status", "status": "Failure", "message": "no preferred addresses found; known addresses: []"}
# what the websocket client raised for a refused exec handshake on the plane (headers shortened)
HANDSHAKE = f"Handshake status 500 Internal Server Error -+-+- {{'audit-id': 'x'}} -+-+- {json.dumps(STATUS)}"


def test_the_servers_message_is_read_from_a_refused_handshakes_reason() -> None:
    assert server_message(ApiException(status=0, reason=HANDSHAKE)) == STATUS["message"]


def test_the_servers_message_is_read_from_the_body() -> None:
    exc = ApiException(status=404, reason="Not Found")
    exc.body = json.dumps({"kind": "Status", "message": 'namespaces "x" not found'})
    assert server_message(exc) == 'namespaces "x" not found'
    assert server_message(ApiException(status=403, reason="Forbidden")) == "Forbidden"


def test_a_refused_exec_names_the_call_and_says_no_kubelet_plainly() -> None:
    with pytest.raises(ClusterError) as caught, asking("exec in pod ns/p (container app)"):
        raise ApiException(status=0, reason=HANDSHAKE)
    message = str(caught.value)
    assert message.startswith("exec in pod ns/p (container app): the API server refused (500): no preferred")
    assert "no preferred addresses found" in message and NO_KUBELET_HINT in message
    assert caught.value.exit_code == ExitCode.ENVIRONMENT


def test_another_refusal_has_no_kubelet_hint() -> None:
    error = refused("scaling deployment ns/app to 2", ApiException(status=403, reason="Forbidden"))
    assert str(error) == "scaling deployment ns/app to 2: the API server refused (403): Forbidden"
