"""harness.cluster.kubernetes.dapr_chart: the values onceonly gives Dapr's chart are keys the chart reads (checked
against the chart's own values.yaml files in the dapr Go module, 1.16.0 and 1.18.2), the images it names, the
volumes the scheduler claims. No helm here: rendering with the built helm is tests/integration/test_dapr_chart.py."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cluster.kubernetes import dapr_chart
from harness.cluster.kubernetes.dapr_chart import ChartValues
from harness.errors import InputError

VERSIONS = ("1.16.0", "1.18.2")


def _leaves(doc: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in doc.items():
        if isinstance(value, Mapping) and value:
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key)


def _chart_defaults(chart: Path) -> dict[str, Any]:
    """The chart's values.yaml with each subchart's under its name, as helm merges them."""
    defaults: dict[str, Any] = yaml.safe_load((chart / "values.yaml").read_text())
    for sub in (chart / "charts").iterdir():
        defaults.setdefault(sub.name, {}).update(yaml.safe_load((sub / "values.yaml").read_text()) or {})
    return defaults


@pytest.mark.parametrize("version", VERSIONS)
def test_every_value_set_is_a_key_the_chart_has(version: str) -> None:
    defaults = _chart_defaults(dapr_chart.chart_dir(version))
    document = ChartValues(version, storage="volume", ha=True, log_level="debug").document()
    missing = []
    for path in _leaves(document):
        node: Any = defaults
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                missing.append(".".join(path))
                break
            node = node[key]
    assert missing == []
    assert document["global"]["tag"] == version
    assert document["global"]["registry"] == "onceonly.local/dapr"
    assert document["dapr_scheduler"]["cluster"]["inMemoryStorage"] is False
    assert document["dapr_operator"]["logLevel"] == "debug"


@pytest.mark.parametrize("version", VERSIONS)
def test_the_chart_names_the_images_and_claims_onceonly_expects(version: str) -> None:
    """Each image name the chart's values give is one of IMAGE_NAMES, and the scheduler's claim template and
    StatefulSet have the names scheduler_volumes binds to."""
    defaults = _chart_defaults(dapr_chart.chart_dir(version))
    names = {defaults[s]["image"]["name"] for s in dapr_chart.SERVICES}
    names.add(defaults["dapr_sidecar_injector"]["injectorImage"]["name"])
    assert names == set(dapr_chart.IMAGE_NAMES)
    template = dapr_chart.chart_dir(version) / "charts/dapr_scheduler/templates/dapr_scheduler_statefulset.yaml"
    text = template.read_text()
    assert f"name: {dapr_chart.SCHEDULER_CLAIM}\n" in text
    assert "name: dapr-scheduler-server\n" in text


def test_memory_storage_is_the_default_and_extra_values_merge_deep() -> None:
    doc = ChartValues("1.18.2", extra={"dapr_scheduler": {"cluster": {"etcdSpaceQuota": "2G"}}}).document()
    assert doc["dapr_scheduler"]["cluster"] == {"inMemoryStorage": True, "storageSize": "1Gi", "etcdSpaceQuota": "2G"}
    assert doc["global"]["imagePullPolicy"] == "IfNotPresent"
    assert doc["dapr_sidecar_injector"]["sidecarImagePullPolicy"] == "IfNotPresent"
    assert doc["global"]["ha"] == {"enabled": False}


def test_set_pairs_become_nested_yaml_values() -> None:
    parsed = dapr_chart.parse_sets(["dapr_operator.logLevel=debug", "global.ha.enabled=true", "a.b=3", "a.c="])
    assert parsed == {
        "dapr_operator": {"logLevel": "debug"},
        "global": {"ha": {"enabled": True}},
        "a": {"b": 3, "c": ""},
    }


@pytest.mark.parametrize("pair", ["novalue", "=x", "a..b=1"])
def test_a_bad_set_pair_is_bad_input_naming_it(pair: str) -> None:
    with pytest.raises(InputError, match=f"--set {pair!r}"):
        dapr_chart.parse_sets([pair])


MANIFESTS = """
kind: Deployment
spec:
  template:
    spec:
      initContainers: [{name: init, image: "reg/init:1"}]
      containers:
      - name: injector
        image: reg/injector:1
        env: [{name: SIDECAR_IMAGE, value: "reg/daprd:1"}, {name: OTHER, value: "x"}]
---
kind: Pod
spec:
  containers: [{name: p, image: "reg/pod:1"}]
---
kind: Service
spec: {ports: [{port: 1}]}
---
"""


def test_images_named_are_containers_init_containers_and_the_sidecar_image() -> None:
    assert dapr_chart.images_named(MANIFESTS) == {"reg/init:1", "reg/injector:1", "reg/daprd:1", "reg/pod:1"}
    known = {"reg/init:1", "reg/injector:1", "reg/daprd:1"}
    assert dapr_chart.unknown_images(MANIFESTS, known) == ["reg/pod:1"]


def test_local_images_are_one_per_chart_image_at_the_version() -> None:
    assert dapr_chart.local_images("1.16.0") == {f"onceonly.local/dapr/{n}:1.16.0" for n in dapr_chart.IMAGE_NAMES}


def test_scheduler_volumes_are_bound_ahead_to_each_replicas_claim() -> None:
    volumes = dapr_chart.scheduler_volumes("dapr-chart", "/var/lib/onceonly", "2Gi")
    assert [v["spec"]["claimRef"] for v in volumes] == [
        {"namespace": "dapr-chart", "name": f"dapr-scheduler-data-dir-dapr-scheduler-server-{i}"} for i in range(3)
    ]
    assert {v["spec"]["capacity"]["storage"] for v in volumes} == {"2Gi"}
    assert volumes[2]["spec"]["hostPath"]["path"] == "/var/lib/onceonly/dapr-chart/scheduler-2"
    assert len({v["metadata"]["name"] for v in volumes}) == 3
