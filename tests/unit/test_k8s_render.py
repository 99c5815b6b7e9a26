"""``onceonly k8s render``: every scenario's manifests validate offline (Kubernetes 1.37 schemas, strict; Dapr's
CRDs), the app Deployment is what Dapr's injector and the ledger need, the Role grants only what the harness needs,
and the command prints a YAML stream (nothing on stdout for a bad scenario, exit 3). No cluster is involved."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from harness import cli
from harness.cluster.base import Tokens
from harness.cluster.dapr_resources import configuration
from harness.cluster.kubernetes import kustomize
from harness.cluster.kubernetes.manifests import Overlay
from harness.cluster.kubernetes.render import default_namespace, render, to_yaml
from harness.errors import EnvironmentProblem, InputError
from harness.scenario.loader import load_scenario
from harness.scenario.schema import Scenario
from target_app.settings import POD_IDENTITY, Behaviour
from tests.unit import k8s_schemas

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p for p in (ROOT / "scenarios").glob("*.yaml") if p.name != "regression.yaml")
HEADLINE = ROOT / "scenarios" / "jobs-vs-cron.yaml"
TOKENS = Tokens(dapr_api="dapr-api-test", app_api="app-test", redis="redis-test")

# What the harness may do in a run's namespace (k8s/base/rbac.yaml says why each is needed), and nothing else.
HARNESS_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "delete"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["pods/portforward", "pods/exec"], "verbs": ["create"]},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch", "patch"]},
    {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"]},
]


def rendered(path: Path, namespace: str | None = None, **overrides: str) -> tuple[Scenario, list[dict[str, Any]]]:
    sc = load_scenario(path, [f"{k}={v}" for k, v in overrides.items()])
    ns = namespace or default_namespace(sc)
    return sc, render(sc, Overlay(namespace=ns, image="registry.example/onceonly:t1", run_id=ns, tokens=TOKENS))


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenarios_manifests_validate_offline(path: Path) -> None:
    sc, docs = rendered(path)
    for doc in yaml.safe_load_all(to_yaml(docs)):  # what is printed, read back
        k8s_schemas.validate(doc)
    components = [d for d in docs if d["kind"] == "Component"]
    assert [c["metadata"]["name"] for c in components] == [b.name for b in sc.binding_plans()]
    namespaced = [d for d in docs if d["kind"] != "Namespace"]
    assert {d["metadata"]["namespace"] for d in namespaced} == {default_namespace(sc)}
    assert all(d["metadata"]["labels"]["onceonly/scenario"] == sc.name for d in docs)


def test_the_validator_refuses_what_kubernetes_or_dapr_would() -> None:
    """The validation can fail: an unknown field, a wrong type, a Dapr Component without its type."""
    _, docs = rendered(HEADLINE)
    app = one(docs, "Deployment", "onceonly-app")
    broken: list[dict[str, Any]] = [
        app | {"spec": app["spec"] | {"replica": 3}},
        app | {"spec": app["spec"] | {"replicas": "3"}},
        one(docs, "Component", "tick-cron") | {"spec": {"version": "v1", "metadata": []}},
        one(docs, "Component", "tick-cron") | {"spec": one(docs, "Component", "tick-cron")["spec"] | {"typ": "x"}},
        one(docs, "Configuration", "onceonly") | {"metadata": {"name": "onceonly", "labls": {}}},
    ]
    for doc in broken:
        with pytest.raises(k8s_schemas.Invalid):
            k8s_schemas.validate(doc)


def test_the_app_deployment_has_daprs_annotations_and_the_pod_identity() -> None:
    _, docs = rendered(HEADLINE, **{"cluster.replicas": "5", "app.delay_ms": "250"})
    app = one(docs, "Deployment", "onceonly-app")
    assert app["spec"]["replicas"] == 5
    pod = app["spec"]["template"]
    notes = pod["metadata"]["annotations"]
    assert notes["dapr.io/enabled"] == "true" and notes["dapr.io/app-id"] == "onceonly"
    assert notes["dapr.io/app-port"] == "8000" and notes["dapr.io/config"] == "onceonly"
    assert notes["dapr.io/api-token-secret"] == "onceonly-dapr-api-token"
    assert notes["dapr.io/app-token-secret"] == "onceonly-app-token"
    assert pod["spec"]["shareProcessNamespace"] is True
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "registry.example/onceonly:t1"
    env = {e["name"]: e for e in container["env"]}
    fields = {name: env[name]["valueFrom"]["fieldRef"]["fieldPath"] for name in POD_IDENTITY}
    assert fields == {
        "ONCEONLY_POD_NAME": "metadata.name",
        "ONCEONLY_NODE_NAME": "spec.nodeName",
        "ONCEONLY_POD_IP": "status.podIP",
    }
    assert Behaviour.from_json(env["ONCEONLY_BEHAVIOUR"]["value"]).delay_ms == 250
    assert env["ONCEONLY_RUN_ID"]["value"] == "onceonly-jobs-vs-cron"
    assert env["ONCEONLY_REDIS_HOST"]["value"] == one(docs, "Service", "onceonly-redis")["metadata"]["name"]
    assert env["ONCEONLY_APP_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "onceonly-app-token", "key": "token"}
    assert pod["metadata"]["labels"]["onceonly/run-id"] == "onceonly-jobs-vs-cron"
    assert "onceonly/run-id" not in app["spec"]["selector"]["matchLabels"]  # a selector never changes


def test_dapr_gets_the_local_backends_configuration_and_the_scenarios_bindings() -> None:
    _, docs = rendered(HEADLINE)
    config = one(docs, "Configuration", "onceonly")
    local = configuration()["spec"]
    assert config["spec"]["metric"] == local["metric"]
    assert config["spec"]["nameResolution"]["component"] == local["nameResolution"]["component"] == "kubernetes"
    cron = one(docs, "Component", "tick-cron")
    meta = {m["name"]: m["value"] for m in cron["spec"]["metadata"]}
    assert (cron["spec"]["type"], meta["schedule"], meta["route"]) == (
        "bindings.cron",
        "*/1 * * * * *",
        "/cron/tick-cron",
    )
    assert cron["scopes"] == ["onceonly"]


def test_the_role_grants_only_what_the_harness_needs_to_its_account() -> None:
    _, docs = rendered(HEADLINE, namespace="ns-1")
    assert one(docs, "Role", "onceonly-harness")["rules"] == HARNESS_RULES
    binding = one(docs, "RoleBinding", "onceonly-harness")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "onceonly-harness", "namespace": "ns-1"}]
    assert [d["kind"] for d in docs].count("Role") == 1 and "ClusterRole" not in [d["kind"] for d in docs]
    assert one(docs, "ServiceAccount", "onceonly-app")["automountServiceAccountToken"] is False


def test_the_secrets_hold_the_given_tokens_and_redis_its_password_in_its_config() -> None:
    _, docs = rendered(HEADLINE)
    assert one(docs, "Secret", "onceonly-dapr-api-token")["stringData"] == {"token": "dapr-api-test"}
    assert one(docs, "Secret", "onceonly-app-token")["stringData"] == {"token": "app-test"}
    redis = one(docs, "Secret", "onceonly-redis")["stringData"]
    assert redis["password"] == "redis-test"
    assert "requirepass redis-test" in redis["redis.conf"].splitlines()
    assert "change-me" not in to_yaml(docs)


def test_a_name_kubernetes_would_refuse_is_bad_input() -> None:
    with pytest.raises(InputError, match="--namespace"):
        rendered(HEADLINE, namespace="Not_A_Name")
    with pytest.raises(InputError, match="not a Kubernetes name"):
        rendered(HEADLINE, namespace="x" * 64)


def test_the_base_is_what_kustomize_reads_and_other_fields_are_refused(tmp_path: Path) -> None:
    base = kustomize.read_base()
    assert base.namespace == "onceonly"
    assert {d["kind"] for d in base.resources} >= {"Namespace", "Deployment", "Service", "Secret", "Role"}
    copy = tmp_path / "base"
    shutil.copytree(kustomize.BASE_DIR, copy)
    with (copy / "kustomization.yaml").open("a") as f:
        f.write("images:\n  - name: onceonly-target-app\n    newTag: x\n")
    with pytest.raises(EnvironmentProblem, match="images"):
        kustomize.read_base(copy)


# --- the command ----------------------------------------------------------------------------------------------


@pytest.fixture
def consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "console", Console(stderr=True, width=200, color_system=None))
    for var in ("ONCEONLY_K8S_DAPR_API_TOKEN", "ONCEONLY_K8S_APP_TOKEN", "ONCEONLY_K8S_REDIS_PASSWORD"):
        monkeypatch.delenv(var, raising=False)


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert isinstance(info.value.code, int)
    return info.value.code


@pytest.mark.usefixtures("consoles")
def test_render_prints_a_yaml_stream_with_fresh_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["k8s", "render", str(HEADLINE), "--image", "img:2"]) == 0
    first = capsys.readouterr()
    docs = list(yaml.safe_load_all(first.out))
    assert one(docs, "Deployment", "onceonly-app")["spec"]["template"]["spec"]["containers"][0]["image"] == "img:2"
    assert first.err == ""  # nothing to note for the headline scenario
    token = one(docs, "Secret", "onceonly-dapr-api-token")["stringData"]["token"]
    assert run(["k8s", "render", str(HEADLINE)]) == 0
    again = list(yaml.safe_load_all(capsys.readouterr().out))
    assert one(again, "Secret", "onceonly-dapr-api-token")["stringData"]["token"] != token  # generated per render
    image = one(again, "Deployment", "onceonly-app")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith("onceonly-target-app:")


@pytest.mark.usefixtures("consoles")
def test_render_takes_the_secrets_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONCEONLY_K8S_APP_TOKEN", "from-env")
    assert run(["k8s", "render", str(HEADLINE), "--namespace", "team-a"]) == 0
    docs = list(yaml.safe_load_all(capsys.readouterr().out))
    assert one(docs, "Secret", "onceonly-app-token")["stringData"]["token"] == "from-env"
    assert one(docs, "Namespace", "team-a")["metadata"]["labels"]["onceonly/run-id"] == "team-a"


@pytest.mark.usefixtures("consoles")
def test_a_network_fault_renders_with_a_note_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["k8s", "render", str(ROOT / "scenarios" / "network-delay.yaml")]) == 0
    done = capsys.readouterr()
    assert list(yaml.safe_load_all(done.out))
    assert "would refuse fault 0 (network-delay)" in done.err and "'network' capability" in done.err


@pytest.mark.usefixtures("consoles")
@pytest.mark.parametrize(
    "argv",
    [
        ["k8s", "render", "no-such-scenario.yaml"],
        ["k8s", "render", str(HEADLINE), "--set", "cluster.replicas=0"],
        ["k8s", "render", str(HEADLINE), "--namespace", "Bad_Name"],
    ],
    ids=["missing", "invalid", "bad-namespace"],
)
def test_bad_input_exits_3_and_prints_nothing_on_stdout(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(argv) == 3
    done = capsys.readouterr()
    assert done.out == "" and "error:" in done.err
