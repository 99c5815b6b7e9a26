"""The real node's files and host bookkeeping without starting anything: the one-layer OCI archive ctr imports,
containerd's, CNI's, kubelet's and kube-proxy's configurations, kubelet's cgroup root (made in every hierarchy,
inside the harness's own cgroup), the kernel settings put back, the iptables rules cleanup counts as the node's,
and `onceonly k8s down` / `k8s up --node` refusing bad input before anything is touched. The real node:
tests/integration/test_kube_node.py."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tomllib
from pathlib import Path

import pytest
import yaml

from harness.cluster.kubernetes.plane.node import api_relay, cgroups, cleanup, configs, network, oci_archive, sysctls
from harness.cluster.kubernetes.plane.node.layout import GATEWAY, POD_CIDR, NodeLayout, NodePorts, cgroup_root
from harness.cluster.kubernetes.plane.node.oci_archive import Entry
from tests.unit.test_kube_build import _cli

LAYOUT = NodeLayout(Path("/plane/node"))
PORTS = NodePorts(kubelet=1, kubelet_healthz=2, proxy_healthz=3, proxy_metrics=4, api_relay=5)


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def test_a_one_layer_archive_names_its_image_and_its_blobs_match_their_digests(tmp_path: Path) -> None:
    layer = oci_archive.layer_tar([Entry("bin/busybox", b"\x7fELF..."), Entry("bin/sh", link="busybox")])
    digest = oci_archive.write(tmp_path / "a.tar", "onceonly.local/busybox:static", layer, ["/bin/sh"])

    files = _members(tmp_path / "a.tar")
    for name, blob in files.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(blob).hexdigest() == name.rsplit("/", 1)[1]
    (entry,) = json.loads(files["index.json"])["manifests"]
    assert entry["digest"] == digest
    assert entry["annotations"]["io.containerd.image.name"] == "onceonly.local/busybox:static"
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "static"
    manifest = json.loads(files[f"blobs/sha256/{digest.removeprefix('sha256:')}"])
    config = json.loads(files[f"blobs/sha256/{manifest['config']['digest'].removeprefix('sha256:')}"])
    assert config["rootfs"]["diff_ids"] == [manifest["layers"][0]["digest"]]  # uncompressed: diff_id = digest
    assert config["config"]["Entrypoint"] == ["/bin/sh"]
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["bin"].isdir() and members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox"
    assert members["bin/busybox"].mode == 0o755 and members["bin/busybox"].mtime == 0


def test_the_same_files_give_the_same_image(tmp_path: Path) -> None:
    layer = oci_archive.layer_tar([Entry("pause", b"binary")])
    first = oci_archive.write(tmp_path / "1.tar", "onceonly.local/pause:1.37.2", layer, ["/pause"])
    again = oci_archive.write(
        tmp_path / "2.tar",
        "onceonly.local/pause:1.37.2",
        oci_archive.layer_tar([Entry("pause", b"binary")]),
        ["/pause"],
    )
    other = oci_archive.write(
        tmp_path / "3.tar", "onceonly.local/pause:1.37.2", oci_archive.layer_tar([Entry("pause", b"other")]), ["/pause"]
    )
    assert first == again != other


def test_containerd_runs_the_cri_on_the_local_pause_image_with_runc_on_cgroupfs() -> None:
    doc = tomllib.loads(configs.containerd_toml(LAYOUT, "onceonly.local/pause:1.37.2"))
    cri = doc["plugins"]["io.containerd.grpc.v1.cri"]
    assert doc["root"] == "/plane/node/containerd/root" and doc["grpc"]["address"] == str(LAYOUT.socket)
    assert cri["sandbox_image"] == "onceonly.local/pause:1.37.2"
    assert cri["stream_server_address"] == "127.0.0.1"
    assert cri["netns_mounts_under_state_dir"] is True  # the pods' network namespaces live in our state dir
    assert cri["containerd"]["runtimes"]["runc"]["runtime_type"] == "io.containerd.runc.v2"
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is False
    assert cri["cni"]["conf_dir"] == "/plane/node/cni/net.d"


def test_pods_get_a_bridge_without_masquerade_or_a_default_route() -> None:
    (bridge,) = json.loads(configs.cni_conflist(LAYOUT))["plugins"]
    assert bridge["type"] == "bridge" and bridge["isGateway"] is True and bridge["ipMasq"] is False
    assert bridge["ipam"]["ranges"] == [[{"subnet": POD_CIDR, "gateway": GATEWAY}]]
    assert bridge["ipam"]["routes"] == [{"dst": "10.96.0.0/24"}]  # the Service CIDR only; no 0.0.0.0/0
    assert bridge["ipam"]["dataDir"] == "/plane/node/cni/ipam"


def test_kubelet_runs_on_cgroup_v1_with_cgroupfs_and_listens_only_where_it_may() -> None:
    doc = yaml.safe_load(configs.kubelet_yaml(LAYOUT, PORTS, Path("/plane/pki/ca.crt"), "/h/onceonly-node"))
    assert (
        doc["failCgroupV1"] is False and doc["cgroupDriver"] == "cgroupfs" and doc["cgroupRoot"] == "/h/onceonly-node"
    )
    assert (doc["address"], doc["port"], doc["readOnlyPort"]) == (GATEWAY, 1, 0)
    assert (doc["healthzBindAddress"], doc["healthzPort"]) == ("127.0.0.1", 2)
    assert doc["authentication"]["anonymous"]["enabled"] is False
    assert doc["authentication"]["x509"]["clientCAFile"] == "/plane/pki/ca.crt"
    assert doc["resolvConf"] == "" and "staticPodPath" not in doc
    assert doc["containerRuntimeEndpoint"] == f"unix://{LAYOUT.socket}"


def test_kubelet_points_pods_at_the_cluster_dns_only_when_there_is_one() -> None:
    args = (LAYOUT, PORTS, Path("/plane/pki/ca.crt"), "/h/onceonly-node")
    with_dns = yaml.safe_load(configs.kubelet_yaml(*args, GATEWAY))
    assert (with_dns["clusterDNS"], with_dns["clusterDomain"]) == ([GATEWAY], "cluster.local")
    assert with_dns["resolvConf"] == ""  # the host's resolvers and search domains never reach a pod
    without = yaml.safe_load(configs.kubelet_yaml(*args))
    assert "clusterDNS" not in without and "clusterDomain" not in without


def test_kube_proxy_uses_iptables_and_no_localhost_node_ports() -> None:
    doc = yaml.safe_load(configs.kube_proxy_yaml(Path("/k"), PORTS, "onceonly-node"))
    assert doc["mode"] == "iptables" and doc["clusterCIDR"] == POD_CIDR
    assert doc["iptables"]["localhostNodePorts"] is False and doc["nodePortAddresses"] == ["primary"]
    assert doc["healthzBindAddress"] == "127.0.0.1:3" and doc["conntrack"]["maxPerCore"] == 0


def test_the_kubernetes_service_points_at_the_relay() -> None:
    slice_ = api_relay.endpoint_slice(GATEWAY, 5)
    assert slice_["metadata"]["labels"]["kubernetes.io/service-name"] == "kubernetes"
    assert slice_["endpoints"][0]["addresses"] == [GATEWAY] and slice_["ports"] == [
        {"name": "https", "port": 5, "protocol": "TCP"}
    ]
    assert api_relay.socat(GATEWAY, 5, 6443).argv[1:] == [
        f"TCP-LISTEN:5,bind={GATEWAY},reuseaddr,fork",
        "TCP:127.0.0.1:6443",
    ]


@pytest.mark.parametrize(
    ("proc", "root"),
    [
        ("4:memory:/process_api/abc\n3:cpuset:/\n1:cpu:/\n0::/\n", "/process_api/abc/onceonly-node"),
        ("2:cpu,cpuacct:/\n1:memory:/\n0::/\n", "/onceonly-node"),
        ("3:pids:/a\n2:memory:/a/b/c\n0::/x/y/z/w\n", "/a/b/c/onceonly-node"),  # the v2 line is not a v1 hierarchy
    ],
)
def test_kubelets_cgroup_root_sits_under_the_deepest_v1_cgroup_of_the_harness(proc: str, root: str) -> None:
    assert cgroup_root(proc) == root


def test_the_cgroup_root_is_made_in_every_hierarchy_with_cpuset_filled(tmp_path: Path) -> None:
    for name in ("cpu", "cpuset", "memory"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "cgroup.procs").write_text("")
    (tmp_path / "cpuset" / "cpuset.cpus").write_text("0-1\n")
    (tmp_path / "cpuset" / "cpuset.mems").write_text("0\n")
    (tmp_path / "memory" / "h").mkdir()
    (tmp_path / "unified").mkdir()
    (tmp_path / "unified" / "cgroup.procs").write_text("")
    (tmp_path / "unified" / "cgroup.controllers").write_text("")

    made = cgroups.make_root("/h/onceonly-node", tmp_path)

    assert made == [
        str(tmp_path / p)
        for p in ("cpu/h", "cpu/h/onceonly-node", "cpuset/h", "cpuset/h/onceonly-node", "memory/h/onceonly-node")
    ]
    assert (tmp_path / "cpuset" / "h" / "onceonly-node" / "cpuset.cpus").read_text() == "0-1\n"
    assert not (tmp_path / "unified" / "h").exists()


def test_emptying_a_cgroup_that_is_not_a_nodes_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a node's cgroup root"):
        cgroups.remove("/process_api/abc", [], tmp_path)


def test_kernel_settings_are_put_back(tmp_path: Path) -> None:
    for name, value in (("kernel/panic", "1"), ("net/ipv4/ip_forward", "0")):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(value + "\n")
    saved = sysctls.snapshot(tmp_path)
    (tmp_path / "kernel/panic").write_text("10\n")  # what kubelet writes

    assert sysctls.restore(saved, tmp_path) == ["sysctl kernel.panic 10 -> 1"]
    assert (tmp_path / "kernel/panic").read_text() == "1\n"
    assert sysctls.restore(saved, tmp_path) == []


@pytest.mark.parametrize(
    ("rule", "ours"),
    [
        ("-A INPUT -j KUBE-FIREWALL", True),
        (
            f'-A FORWARD -s 10.88.0.0/16 ! -o onceonly-cni0 -m comment --comment "{network.COMMENT}" -j DROP',
            True,
        ),
        ("-A KUBE-SERVICES -j KUBE-NODEPORTS", False),  # inside a KUBE chain: goes with its chain
        ("-A INPUT -p tcp --dport 22 -j ACCEPT", False),
    ],
)
def test_which_iptables_rules_cleanup_deletes(rule: str, ours: bool) -> None:
    assert cleanup._ours(rule) is ours


def test_k8s_down_refuses_a_directory_without_a_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["k8s", "down", "--dir", str(tmp_path)], tmp_path, monkeypatch, "/usr/bin:/bin") == 3
    assert "holds no node" in capsys.readouterr().err


def test_containerds_socket_path_is_short_whatever_the_node_dir_and_one_per_dir() -> None:
    """CI's pytest tmp dirs made containerd refuse its socket ("unix socket path too long (> 104)" for the .ttrpc
    twin); the socket now lives under /run/onceonly, named for the node dir."""
    long_dir = Path("/tmp/pytest-of-root/pytest-429/test_k8s_down_removes_what_a_s0/plane/node")
    layout = NodeLayout(long_dir)
    assert len(str(layout.socket) + ".ttrpc") <= 104
    assert layout.socket.parent != NodeLayout(long_dir.parent / "other" / "node").socket.parent
    assert str(layout.socket).startswith("/run/onceonly/")
    assert f'address = "{layout.socket}"' in configs.containerd_toml(layout, "onceonly.local/pause:1.37.2")
