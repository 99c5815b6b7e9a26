"""What every backend gives its daprds and apps from a scenario, as data: Dapr's Configuration, one cron binding
Component per binding source, and the app's behaviour. The local backend writes them as files
(``harness.cluster.local``, ``harness.run.runner``), the Kubernetes renderer as manifests
(``harness.cluster.kubernetes``): the same semantics on both.

Pure: nothing here reads or writes a file.
"""

from __future__ import annotations

from typing import Any

import yaml

from harness.model import BindingPlan
from harness.scenario.schema import Scenario
from target_app.settings import Behaviour

CONFIGURATION_NAME = "onceonly"
DAPR_API_VERSION = "dapr.io/v1alpha1"


def configuration(name: str = CONFIGURATION_NAME) -> dict[str, Any]:
    """The Configuration every daprd reads.

    Name resolution must not be mDNS, the standalone default, which announces the app by multicast on every
    interface (components-contrib v1.18.4:nameresolution/mdns). The kubernetes resolver is the other one in the
    stablecomponents build; its Init only parses its configuration, and onceonly never uses service invocation, so
    it is never asked to resolve anything (on Kubernetes it is the resolver anyway).
    increasedCardinality keeps the path label of daprd's HTTP metrics ("/job/<name>"), which
    harness.oracle.crosscheck reads for Dapr < 1.17; it is the default at 1.16.0 and 1.18.2
    (pkg/config/configuration.go GetHTTPIncreasedCardinality), set here so a changed default cannot silently empty
    those figures.
    """
    return {
        "apiVersion": DAPR_API_VERSION,
        "kind": "Configuration",
        "metadata": {"name": name},
        "spec": {
            "nameResolution": {"component": "kubernetes"},
            "metric": {"enabled": True, "http": {"increasedCardinality": True}},
        },
    }


def binding_route(plan: BindingPlan) -> str:
    """The path of the app that gets this binding's deliveries (``target_app.app``'s ``POST /cron/{name}``)."""
    return f"/cron/{plan.name}"


def binding_component(plan: BindingPlan) -> dict[str, Any]:
    """A cron input binding whose deliveries reach the app's ``POST /cron/<name>``.

    ``direction: input`` means no OPTIONS probe before the first delivery.
    """
    return {
        "apiVersion": DAPR_API_VERSION,
        "kind": "Component",
        "metadata": {"name": plan.name},
        "spec": {
            "type": "bindings.cron",
            "version": "v1",
            "metadata": [
                {"name": "schedule", "value": plan.schedule},
                {"name": "direction", "value": "input"},
                {"name": "route", "value": binding_route(plan)},
            ],
        },
    }


def as_yaml(resource: dict[str, Any]) -> str:
    """One resource as a YAML file, keys in the order written (apiVersion, kind, metadata, spec)."""
    return yaml.safe_dump(resource, sort_keys=False)


def behaviour_of(scenario: Scenario) -> Behaviour:
    """How every replica's app answers during this scenario (``ONCEONLY_BEHAVIOUR``)."""
    app = scenario.app
    return Behaviour(
        delay_ms=app.delay_ms,
        status=app.status,
        fail_first=app.fail_first,
        side_effect=app.side_effect,
        bodies=dict(app.bodies),
    )
