"""The local control plane's files and command lines, without starting it: certificates (who signed them, for
which names and users, private keys 0600), kubeconfigs, every listener on loopback and on drawn ports, the
webhook's configuration, kwok's stages followed through kustomizations, how sentry's and the injector's version is
read, and `onceonly k8s up`'s bad input (exit 3, nothing started). The real plane: tests/integration."""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from harness.cluster.kubernetes.plane import commands, objects, pki
from harness.cluster.kubernetes.plane.layout import Layout, Ports, write_kubeconfig
from harness.cluster.local.ports import PortAllocator
from tests.unit.fake_go import executable
from tests.unit.test_kube_build import _cli
from toolchain import dapr_plane, module_files
from toolchain.gocmd import BuildError


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    made = Layout(tmp_path_factory.mktemp("plane"))
    pki.generate(made.pki, (pki.ADMIN, pki.CONTROLLER_MANAGER, pki.KWOK))
    return made


def test_the_ca_signs_the_serving_certificate_for_loopback_and_the_in_cluster_names(layout: Layout) -> None:
    ca, serving = _cert(layout.pki.ca_cert), _cert(layout.pki.serving_cert)
    serving.verify_directly_issued_by(ca)
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"localhost", "kubernetes.default.svc"} <= set(sans.get_values_for_type(x509.DNSName))
    assert {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.96.0.1")} <= set(
        sans.get_values_for_type(x509.IPAddress)
    )
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


@pytest.mark.parametrize("user", [pki.ADMIN, pki.CONTROLLER_MANAGER, pki.KWOK], ids=lambda u: u.file)
def test_each_client_certificate_names_its_user_and_groups(layout: Layout, user: pki.User) -> None:
    cert = _cert(layout.pki.client_cert(user))
    cert.verify_directly_issued_by(_cert(layout.pki.ca_cert))
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [user.name]
    assert tuple(a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)) == user.groups
    assert oct(layout.pki.client_key(user).stat().st_mode & 0o777) == "0o600"


def test_private_keys_are_the_owners_only(layout: Layout) -> None:
    for key in (layout.pki.ca_key, layout.pki.serving_key, layout.pki.sa_key):
        assert oct(key.stat().st_mode & 0o777) == "0o600", key
    assert b"PUBLIC KEY" in layout.pki.sa_pub.read_bytes()


def test_a_kubeconfig_is_0600_and_names_the_server_ca_and_client_pair(layout: Layout) -> None:
    path = layout.dir / "kc"
    write_kubeconfig(path, "https://127.0.0.1:1234", layout.pki, pki.ADMIN)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    doc = yaml.safe_load(path.read_text())
    assert doc["clusters"][0]["cluster"] == {
        "server": "https://127.0.0.1:1234",
        "certificate-authority": str(layout.pki.ca_cert),
    }
    assert doc["users"][0]["user"]["client-key"] == str(layout.pki.client_key(pki.ADMIN))


def _all_commands(layout: Layout, ports: Ports) -> list[commands.Command]:
    kube, dapr = Path("/kube/bin"), Path("/dapr/bin")
    return [
        commands.etcd(kube, layout, ports),
        commands.apiserver(kube, layout, ports),
        commands.controller_manager(kube, layout, ports),
        commands.scheduler(kube, layout, ports),
        commands.kwok(kube, layout),
        commands.sentry(dapr, layout, ports, "dapr-system"),
        commands.injector(dapr, layout, ports, "dapr-system"),
    ]


def test_every_listener_is_on_loopback_and_on_a_drawn_port(layout: Layout) -> None:
    ports = Ports.take(PortAllocator(random.Random(7)))
    assert len(set(ports.as_dict().values())) == len(ports.as_dict())
    for command in _all_commands(layout, ports):
        line = " ".join(command.argv)
        assert "0.0.0.0" not in line and "localhost" not in line, command.name
        for flag in ("--bind-address", "--listen-address", "--healthz-listen-address"):
            values = [a.split("=", 1)[1] for a in command.argv if a.startswith(flag + "=")]
            assert set(values) <= {"127.0.0.1"}, (command.name, flag)
        numbers = {int(a.rsplit("=", 1)[1]) for a in command.argv if a.rsplit("=", 1)[-1].isdigit() and "port" in a}
        assert numbers <= set(ports.as_dict().values()), command.name
        assert "KUBECONFIG" not in command.env
    etcd = _all_commands(layout, ports)[0]
    assert f"--listen-peer-urls=http://127.0.0.1:{ports.etcd_peer}" in etcd.argv


def test_the_injector_reaches_sentry_on_loopback_with_its_token_file(layout: Layout) -> None:
    ports = Ports.take(PortAllocator(random.Random(3)))
    env = commands.injector(Path("/d"), layout, ports, "dapr-system").env
    assert env["DAPR_SENTRY_ADDRESS"] == f"127.0.0.1:{ports.sentry}"
    assert env["DAPR_SENTRY_TOKEN_FILE"] == str(layout.injector_token)
    assert env["DAPR_TRUST_ANCHORS_FILE"] == str(layout.trust_anchors)
    assert env["NAMESPACE"] == "dapr-system"


def test_the_webhook_goes_through_the_external_name_service_and_fails_closed() -> None:
    (hook,) = objects.webhook_configuration("dapr-system", 4321)["webhooks"]
    assert hook["clientConfig"]["service"] == {
        "namespace": "dapr-system",
        "name": objects.WEBHOOK_SERVICE,
        "path": "/mutate",
        "port": 4321,
    }
    assert hook["failurePolicy"] == "Fail"
    excluded = hook["namespaceSelector"]["matchExpressions"][0]["values"]
    assert "kube-system" in excluded and "dapr-system" in excluded and "default" not in excluded
    service = objects.webhook_service("dapr-system", 4321)
    assert service["spec"]["externalName"] == "localhost"
    assert service["spec"]["ports"][0]["port"] == 4321


def test_the_injectors_identity_pod_is_a_control_plane_pod_of_its_service_account() -> None:
    account, pod = objects.injector_identity("dapr-system", "kwok-node-0")
    assert pod["metadata"]["annotations"] == {"dapr.io/control-plane": "injector"}
    assert pod["spec"]["serviceAccountName"] == account["metadata"]["name"] == objects.INJECTOR_SERVICE_ACCOUNT
    assert "dapr.io/app-id" not in pod["metadata"]["annotations"]  # sentry refuses a control-plane pod with one


def test_kwok_stages_are_found_through_nested_kustomizations(tmp_path: Path) -> None:
    (tmp_path / "fast").mkdir()
    (tmp_path / "node").mkdir()
    (tmp_path / "fast" / "kustomization.yaml").write_text("resources:\n- ../node\n- pod-ready.yaml\n")
    (tmp_path / "fast" / "pod-ready.yaml").write_text("kind: Stage\n")
    (tmp_path / "node" / "kustomization.yaml").write_text("resources:\n- node-init.yaml\n")
    (tmp_path / "node" / "node-init.yaml").write_text("kind: Stage\n")
    found = module_files._resources(tmp_path / "fast")
    assert [p.name for p in found] == ["node-init.yaml", "pod-ready.yaml"]
    config = commands.kwok_config(tuple(found))
    assert [d["kind"] for d in yaml.safe_load_all(config)] == ["KwokConfiguration", "Stage", "Stage"]


def test_sentry_and_the_injector_are_asked_their_version_by_the_line_they_log_first(tmp_path: Path) -> None:
    banner = "Starting Dapr Sidecar Injector -- version 1.18.2 -- commit abc"
    binary = executable(tmp_path / "injector", f"#!/bin/sh\necho 'level=info msg=\"{banner}\"' >&2\nexit 1\n")
    assert dapr_plane.logged_version(binary) == "1.18.2"
    silent = executable(tmp_path / "silent", "#!/bin/sh\necho 'unknown flag: --kubeconfig'\nexit 2\n")
    with pytest.raises(BuildError, match="did not log its version"):
        dapr_plane.logged_version(silent)


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--version", "1.30.0"], "unknown Kubernetes version '1.30.0'"),
        (["--dapr", "1.0.0"], "unknown Dapr version '1.0.0'"),
    ],
)
def test_k8s_up_refuses_an_unknown_version_before_anything_starts(
    flags: list[str], says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["k8s", "up", *flags, "--dir", str(tmp_path / "plane")], tmp_path, monkeypatch, "/usr/bin:/bin") == 3
    assert says in capsys.readouterr().err
    assert not (tmp_path / "plane").exists() and not (tmp_path / "cache").exists()


def test_k8s_up_refuses_a_directory_that_is_not_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plane").mkdir()
    (tmp_path / "plane" / "kubeconfig").write_text("someone else's\n")
    assert _cli(["k8s", "up", "--dir", str(tmp_path / "plane")], tmp_path, monkeypatch, "/usr/bin:/bin") == 3
    assert "is not empty" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()
