"""Journals that outlive a pod (issue 16, ``--journal-host-dir``): the rendered app Deployment with and without a
host directory, the flag's check, and the journals read and removed through a FAKE API (tests/unit/fake_kube.py)
whose exec runs the real journal scripts on local directories standing for the nodes' host directories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.cluster.base import ClusterSpec, Tokens
from harness.cluster.kubernetes import journals
from harness.cluster.kubernetes.backend import KubernetesBackend
from harness.cluster.kubernetes.cluster import KubeCluster
from harness.cluster.kubernetes.manifests import CHOWN, Overlay
from harness.cluster.kubernetes.render import render
from harness.errors import InputError
from harness.scenario.loader import load_scenario
from tests.unit import k8s_schemas
from tests.unit.fake_kube import FakeKube, daprd_opener
from toolchain.binaries import Binaries

SCENARIO = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "kill-busy-mid-handler.yaml")
BINS = Binaries(Path("/n/daprd"), Path("/n/scheduler"), "1.18.2", "1.18.2", "test")
TOKENS = Tokens(dapr_api="d", app_api="a", redis="r")
HOST = "/var/lib/onceonly/journals"


def app_pod(host_dir: str | None) -> dict[str, Any]:
    overlay = Overlay("onceonly-t-1234abcd", "registry.example/app:1", "run-1", TOKENS, host_dir)
    docs = render(SCENARIO, overlay)
    for doc in docs:
        k8s_schemas.validate(doc)
    (app,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "onceonly-app"]
    spec: dict[str, Any] = app["spec"]["template"]["spec"]
    return spec


def mounts(spec: dict[str, Any]) -> list[dict[str, str]]:
    (app,) = [c for c in spec["containers"] if c["name"] == "app"]
    journal_env = next(e["value"] for e in app["env"] if e["name"] == "ONCEONLY_JOURNAL")
    assert journal_env == "/journal/$(ONCEONLY_POD_NAME).jsonl"  # same file names either way
    mounted: list[dict[str, str]] = app["volumeMounts"]
    return mounted


def test_without_the_flag_the_journal_is_the_pods_empty_dir() -> None:
    spec = app_pod(None)
    assert spec["volumes"] == [{"name": "journal", "emptyDir": {}}]
    assert mounts(spec) == [{"name": "journal", "mountPath": "/journal"}]
    assert "initContainers" not in spec


def test_with_the_flag_the_journal_is_the_nodes_directory_for_the_namespace() -> None:
    spec = app_pod(HOST + "/")
    assert spec["volumes"] == [
        {"name": "journal", "hostPath": {"path": f"{HOST}/onceonly-t-1234abcd", "type": "DirectoryOrCreate"}}
    ]
    assert mounts(spec) == [{"name": "journal", "mountPath": "/journal"}]
    (owner,) = spec["initContainers"]
    assert owner["image"] == "registry.example/app:1"
    assert owner["command"] == ["python", "-c", CHOWN, "/journal", "65532", "65532"]  # the pod's runAsUser/Group
    assert owner["volumeMounts"] == [{"name": "journal", "mountPath": "/journal"}]
    power = owner["securityContext"]
    assert (power["runAsUser"], power["capabilities"]) == (0, {"drop": ["ALL"], "add": ["CHOWN"]})
    assert power["allowPrivilegeEscalation"] is False


def test_the_init_containers_chown_runs(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", CHOWN, str(tmp_path), str(os.getuid()), str(os.getgid())]
    assert subprocess.run(argv, capture_output=True, check=False).returncode == 0
    argv[3] = str(tmp_path / "missing")
    assert subprocess.run(argv, capture_output=True, check=False).returncode != 0


@pytest.mark.parametrize("path", ["journals", "./j", "/var/../etc", ""])
def test_a_host_dir_not_absolute_is_bad_input_naming_the_flag(path: str) -> None:
    with pytest.raises(InputError, match=r"--journal-host-dir .* not an absolute path"):
        journals.check_host_dir(path)
    with pytest.raises(InputError, match="--journal-host-dir"):
        app_pod(path)


def test_the_runs_directory_is_under_the_host_dir() -> None:
    assert journals.host_dir_of("/a/b/", "ns-1") == "/a/b/ns-1"
    assert journals.check_host_dir("/a//b/") == "/a/b"


def line(pod: str, job: str) -> str:
    return json.dumps({"pod": pod, "job": job}) + "\n"


def cluster(api: FakeKube, run_dir: Path, host_dir: str | None) -> KubeCluster:
    backend = KubernetesBackend(api, SCENARIO, tokens=TOKENS, journal_host_dir=host_dir)
    return backend.create(ClusterSpec(replicas=3, ready_timeout=2.0), BINS, run_dir)


def write(host: Path, namespace: str, pod: str, text: str) -> None:
    (host / namespace).mkdir(parents=True, exist_ok=True)
    (host / namespace / f"{pod}.jsonl").write_text(text)


def test_with_a_host_dir_a_gone_pods_journal_is_read_through_a_live_pod_on_its_node(tmp_path: Path) -> None:
    node1, node2 = tmp_path / "node-1", tmp_path / "node-2"
    api = FakeKube(opener=daprd_opener(), host_dirs={"node-1": node1, "node-2": node2})
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with cluster(api, run_dir, HOST) as c:
        ns = c.placement.namespace
        lone = api.add_pod(ns, "onceonly-app-lone", node="node-2")  # the only pod on node-2
        c.refresh()
        first, second = c.replicas[0].pod, c.replicas[1].pod
        write(node1, ns, first, line(first, "a"))  # a live pod: read in itself
        write(node1, ns, second, line(second, "b") + '{"torn')  # a gone pod: read through a live one on node-1
        write(node2, ns, lone.name, line(lone.name, "c"))  # gone, and no live pod left on node-2
        (node1 / ns / f"{c.replicas[2].pod}.jsonl").mkdir()  # unreadable: a directory where the file should be
        c.kill(1, "both")  # node-1: replaced there
        api.delete_pod(ns, lone.name, 0)  # the FAKE's replacement goes to node-1
        reads = c.journal_texts()
        readers = [args[1] for name, args in api.calls if name == "exec"]
        assert second not in readers and lone.name not in readers and set(readers) <= {p.name for p in api.pods(ns, "")}
        # pods.json's order: 0, 1 (gone), 2 (unreadable), 3 (lone, gone), 4 and 5 (replacements: never journaled)
        assert reads == [line(first, "a"), line(second, "b") + '{"torn', None, None, "", ""]
        assert (node1 / ns).exists()
    assert sorted(p.name for p in (node1 / ns).iterdir()) == []  # removed through a live pod on node-1
    assert (node2 / ns / f"{lone.name}.jsonl").exists()  # node-2 had no live pod: left, and said
    events = [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()]
    (removed,) = [e for e in events if e["event"] == "journals_removed"]
    assert removed["nodes"] == ["node-1"]
    assert removed["warnings"] == [f"journals in {HOST}/{ns} on node node-2 not removed: no live app pod on that node"]


def test_without_a_host_dir_a_gone_pods_journal_is_none_and_nothing_is_removed(tmp_path: Path) -> None:
    node1 = tmp_path / "node-1"
    api = FakeKube(opener=daprd_opener(), host_dirs={"node-1": node1})  # stands for the pods' emptyDirs
    with cluster(api, tmp_path, None) as c:
        ns, first, second = c.placement.namespace, c.replicas[0].pod, c.replicas[1].pod
        write(node1, ns, first, line(first, "a"))
        write(node1, ns, second, line(second, "b"))
        c.kill(1, "both")
        assert c.journal_texts() == [line(first, "a"), None, "", ""]
    assert (node1 / ns / f"{first}.jsonl").exists()
    assert not (tmp_path / "events.jsonl").exists()


def test_a_failed_removal_is_a_warning_and_the_namespace_is_still_deleted(tmp_path: Path) -> None:
    api = FakeKube(opener=daprd_opener())  # no host directory at all: the script fails in the pod
    with cluster(api, tmp_path, HOST) as c:
        ns = c.placement.namespace
    assert ("delete_namespace", (ns,)) in api.calls
    (event,) = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert event["nodes"] == [] and "not removed (through pod onceonly-app-abc-0)" in event["warnings"][0]
    assert "FileNotFoundError" in event["warnings"][0]


@pytest.mark.parametrize(
    ("output", "text"),
    [
        ("journal: read\nx\n", "x\n"),
        ("journal: read\n", ""),
        ("journal: missing\n", ""),
        ("journal: unreadable [Errno 13] Permission denied\n", None),
        ("Traceback (most recent call last):\n", None),
        ("", None),
    ],
)
def test_the_read_exec_says_what_it_found(output: str, text: str | None) -> None:
    assert journals.parse(output) == text
