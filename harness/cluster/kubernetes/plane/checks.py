"""What "ready" means for each step of the local control plane, asked of the API server (each a yes or no; the
waits in ``waits.py`` poll them)."""

from __future__ import annotations

from typing import Any

from harness.cluster.kubernetes.plane import objects
from harness.cluster.kubernetes.plane.api import Api


def _true(conditions: list[dict[str, Any]], kind: str) -> bool:
    return any(c["type"] == kind and c["status"] == "True" for c in conditions)


def nodes_ready(api: Api, names: list[str]) -> bool:
    """Every node in ``names`` has condition Ready (kwok's node stages set it)."""
    items = api.get("/api/v1/nodes")["items"]
    ready = {n["metadata"]["name"] for n in items if _true(n.get("status", {}).get("conditions", []), "Ready")}
    return set(names) <= ready


def crd_established(api: Api, name: str) -> bool:
    found = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
    return _true(found.get("status", {}).get("conditions", []), "Established")


def trust_anchors(api: Api, namespace: str) -> str:
    """Sentry's root certificate(s) as it stored them in the ConfigMap ``dapr-trust-bundle`` ('' before)."""
    found = api.get(f"/api/v1/namespaces/{namespace}/configmaps/{objects.TRUST_BUNDLE}")
    return str(found.get("data", {}).get("ca.crt", ""))


def ca_bundle_set(api: Api) -> bool:
    """The injector has patched its webhook's ``caBundle`` with sentry's trust anchors."""
    path = f"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{objects.WEBHOOK_CONFIGURATION}"
    return bool(api.get(path)["webhooks"][0]["clientConfig"].get("caBundle"))


def webhook_answers(api: Api) -> bool:
    """A Dapr-enabled pod, created with dry run in ``default``, comes back with a ``daprd`` container."""
    probe = objects.probe_pod("default", "onceonly-probe")
    created = api.request("POST", "/api/v1/namespaces/default/pods", params={"dryRun": "All"}, json=probe)
    return "daprd" in [c["name"] for c in created["spec"]["containers"]]
