"""The overlay a scenario renders onto the base (``k8s/base``): the cron binding Components and the Dapr
Configuration it asks for, the app's replicas, image, run id and behaviour, the Secrets' values, and (opt-in) the
apps' journals on the node's disk instead of an ``emptyDir`` (``harness.cluster.kubernetes.journals``).

Pure: a list of resources (dicts) in, the same list changed and the generated resources out; nothing is read,
written or applied here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.cluster.base import ClusterSpec, Tokens
from harness.cluster.dapr_resources import CONFIGURATION_NAME, behaviour_of, binding_component, configuration
from harness.cluster.kubernetes.journals import JOURNAL_DIR, host_dir_of
from harness.cluster.kubernetes.kustomize import Resource
from harness.errors import EnvironmentProblem
from harness.scenario.schema import Scenario

APP = "onceonly-app"  # the recorder's Deployment and its container "app"
APP_CONTAINER = "app"
APP_ID = ClusterSpec(replicas=1).app_id  # the Dapr app id every backend gives the replicas
# Secret name -> key -> which token it holds (``Tokens`` field); Dapr's injector reads key ``token``.
SECRETS = {
    "onceonly-dapr-api-token": {"token": "dapr_api"},
    "onceonly-app-token": {"token": "app_api"},
    "onceonly-redis": {"password": "redis"},
}
REDIS_CONF = "redis.conf"
JOURNAL_VOLUME = "journal"  # k8s/base/app.yaml's volume, mounted at /journal
JOURNAL_OWNER = "journal-owner"  # the init container giving a host directory to the app's user
CHOWN = "import os, sys; os.chown(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))"


@dataclass(frozen=True, slots=True)
class Overlay:
    """What a render sets beyond the scenario: where (namespace), what the app runs (image), the ledger's run id,
    the Secrets' values, and the node directory for the journals (None: an ``emptyDir``, as the base has)."""

    namespace: str
    image: str
    run_id: str
    tokens: Tokens
    journal_host_dir: str | None = None


def generated(scenario: Scenario) -> list[Resource]:
    """The Dapr resources the scenario asks for: the Configuration every daprd reads, one cron binding Component
    per binding source (its schedule, its route on the app), scoped to the app."""
    components = [binding_component(plan) | {"scopes": [APP_ID]} for plan in scenario.binding_plans()]
    config = configuration(CONFIGURATION_NAME)
    # Dapr's CRD requires the resolver's version and configuration, which standalone daprd lets us leave out: v1 is
    # what daprd takes for an empty version (v1.18.2:pkg/runtime/runtime.go l.1235, FirstStableVersion).
    config["spec"]["nameResolution"] |= {"version": "v1", "configuration": {}}
    return [config, *components]


def apply(resources: list[Resource], scenario: Scenario, overlay: Overlay) -> None:
    """The scenario's replicas, the image, the run id and the behaviour on the app's Deployment; the journals on
    the node (``journal_on_host``) when asked; the tokens in the Secrets (``SECRETS``) and the Redis password in
    Redis's config file."""
    app = one(resources, "Deployment", APP)
    app["spec"]["replicas"] = scenario.cluster.replicas
    pod = app["spec"]["template"]
    pod["metadata"]["annotations"] |= {"dapr.io/app-id": APP_ID, "dapr.io/config": CONFIGURATION_NAME}
    container = next(c for c in pod["spec"]["containers"] if c["name"] == APP_CONTAINER)
    container["image"] = overlay.image
    set_env(container, "ONCEONLY_RUN_ID", overlay.run_id)
    set_env(container, "ONCEONLY_BEHAVIOUR", behaviour_of(scenario).to_json())
    if overlay.journal_host_dir is not None:
        journal_on_host(pod["spec"], host_dir_of(overlay.journal_host_dir, overlay.namespace), overlay.image)
    for name, keys in SECRETS.items():
        secret = one(resources, "Secret", name)
        secret["stringData"] |= {key: getattr(overlay.tokens, field) for key, field in keys.items()}
    redis = one(resources, "Secret", "onceonly-redis")["stringData"]
    redis[REDIS_CONF] = "".join(
        f"requirepass {overlay.tokens.redis}\n" if line.startswith("requirepass ") else f"{line}\n"
        for line in redis[REDIS_CONF].splitlines()
    )


def journal_on_host(pod: dict[str, Any], path: str, image: str) -> None:
    """The journal volume as the node's directory ``path`` (``hostPath``, made when missing) instead of the base's
    ``emptyDir``: same name, same mountPath, same file names. The kubelet makes a missing directory root's (0755)
    and the app runs as the pod's user, so an init container (root, with only CAP_CHOWN) gives it to that user."""
    volume = next((v for v in pod.get("volumes", []) if v["name"] == JOURNAL_VOLUME), None)
    if volume is None:
        raise EnvironmentProblem(f"the Kubernetes base's app has no volume {JOURNAL_VOLUME!r}: k8s/base/app.yaml")
    volume.clear()
    volume |= {"name": JOURNAL_VOLUME, "hostPath": {"path": path, "type": "DirectoryOrCreate"}}
    user = pod["securityContext"]
    owner = {
        "name": JOURNAL_OWNER,
        "image": image,
        "command": ["python", "-c", CHOWN, JOURNAL_DIR, str(user["runAsUser"]), str(user["runAsGroup"])],
        "securityContext": {
            "runAsUser": 0,
            "runAsNonRoot": False,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"], "add": ["CHOWN"]},
        },
        "volumeMounts": [{"name": JOURNAL_VOLUME, "mountPath": JOURNAL_DIR}],
    }
    pod["initContainers"] = [*pod.get("initContainers", []), owner]


def one(resources: list[Resource], kind: str, name: str) -> Resource:
    found = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    if len(found) != 1:
        raise EnvironmentProblem(f"the Kubernetes base has {len(found)} {kind} named {name!r}, not one: k8s/base")
    return found[0]


def set_env(container: dict[str, Any], name: str, value: str) -> None:
    """Set an environment variable the base declares (a missing one is the base's error, not the scenario's)."""
    for var in container.get("env", []):
        if var["name"] == name:
            var["value"] = value
            return
    raise EnvironmentProblem(f"the Kubernetes base's {container['name']} container has no {name}: k8s/base/app.yaml")
