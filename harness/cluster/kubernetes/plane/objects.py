"""The API objects the local control plane creates for kwok and Dapr, as data (written here from the APIs' meaning,
not copied from Dapr's chart; Dapr's CRDs themselves are read from the dapr module, ``dapr_crds``).

- Fake nodes: Node objects annotated for kwok, which then keeps them Ready and plays their pods' stages
  (scheduled pods become Running and Ready; they run no container).
- Sentry's needs in the control-plane namespace: the Secret and ConfigMap ``dapr-trust-bundle`` it fills (it
  updates them, it does not create them) and the Configuration ``daprsystem`` it reads at start (it exits without).
- The injector's identity: Dapr's sentry signs a control-plane certificate only for a token bound to a pod of the
  control-plane namespace annotated ``dapr.io/control-plane: injector`` whose service account is the token's
  (pkg/sentry/server/validator/kubernetes). The injector process runs on the host; this pod, placed on a kwok node,
  only stands for it.
- The webhook: ``clientConfig.service`` names the ExternalName Service ``dapr-sidecar-injector`` that points at
  ``localhost``. Sentry puts only ``dapr-sidecar-injector.<ns>.svc`` in the injector's certificate, and the API
  server checks a service webhook's certificate against exactly that name while dialling the address its service
  resolver gives (k8s.io/apiserver pkg/util/webhook/client.go), so a URL of 127.0.0.1 would fail TLS.
  ``failurePolicy: Fail``: a pod that Dapr should have mutated is refused rather than created without daprd, so a
  broken injector shows at once. The injector patches ``caBundle`` itself with sentry's trust anchors.
"""

from __future__ import annotations

from typing import Any

Resource = dict[str, Any]

WEBHOOK_CONFIGURATION = "dapr-sidecar-injector"
WEBHOOK_SERVICE = "dapr-sidecar-injector"
TRUST_BUNDLE = "dapr-trust-bundle"
INJECTOR_SERVICE_ACCOUNT = "dapr-injector"
INJECTOR_POD = "dapr-sidecar-injector"
KWOK_ANNOTATION = {"kwok.x-k8s.io/node": "fake"}
NOT_WEBHOOKED = ("kube-system", "kube-public", "kube-node-lease")


def node_name(index: int) -> str:
    return f"kwok-node-{index}"


def fake_node(index: int) -> Resource:
    name = node_name(index)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {**KWOK_ANNOTATION, "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok"},
        },
        "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"}},
    }


def namespace(name: str) -> Resource:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def sentry_objects(ns: str, trust_domain: str, sentry_address: str) -> list[Resource]:
    meta = {"name": TRUST_BUNDLE, "namespace": ns}
    configuration = {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Configuration",
        "metadata": {"name": "daprsystem", "namespace": ns},
        "spec": {
            "mtls": {
                "enabled": True,
                "workloadCertTTL": "24h",
                "allowedClockSkew": "15m",
                "controlPlaneTrustDomain": trust_domain,
                "sentryAddress": sentry_address,
            }
        },
    }
    return [
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque"},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta},
        configuration,
    ]


def injector_identity(ns: str, node: str) -> list[Resource]:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": INJECTOR_POD,
            "namespace": ns,
            "annotations": {"dapr.io/control-plane": "injector"},
            "labels": {"app": "dapr-sidecar-injector"},
        },
        "spec": {
            "serviceAccountName": INJECTOR_SERVICE_ACCOUNT,
            "automountServiceAccountToken": False,
            "nodeName": node,
            # Stands for the injector process on the host; kwok runs no container, the image is never pulled.
            "containers": [{"name": "dapr-sidecar-injector", "image": "onceonly.invalid/runs-on-the-host"}],
        },
    }
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": INJECTOR_SERVICE_ACCOUNT, "namespace": ns},
    }
    return [account, pod]


def webhook_service(ns: str, port: int) -> Resource:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": WEBHOOK_SERVICE, "namespace": ns},
        "spec": {"type": "ExternalName", "externalName": "localhost", "ports": [{"name": "https", "port": port}]},
    }


def webhook_configuration(ns: str, port: int) -> Resource:
    webhook = {
        "name": "sidecar-injector.dapr.io",
        "clientConfig": {"service": {"namespace": ns, "name": WEBHOOK_SERVICE, "path": "/mutate", "port": port}},
        "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}],
        "failurePolicy": "Fail",
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        "timeoutSeconds": 10,
        "namespaceSelector": {
            "matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [*NOT_WEBHOOKED, ns]}
            ]
        },
    }
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": WEBHOOK_CONFIGURATION},
        "webhooks": [webhook],
    }


def probe_pod(ns: str, app_id: str) -> Resource:
    """A Dapr-enabled pod, created with dry run only: the injector's answer shows the webhook works."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "onceonly-injector-probe",
            "namespace": ns,
            "annotations": {"dapr.io/enabled": "true", "dapr.io/app-id": app_id},
        },
        "spec": {"containers": [{"name": "app", "image": "onceonly.invalid/probe"}]},
    }
