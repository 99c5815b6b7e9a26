"""The kubernetes backend against a FAKE API (tests/unit/fake_kube.py): what it refuses before anything is
created, the run's namespace made and always deleted (error, Ctrl-C), what each fault operation asks of the API,
the kill exec, image versions, port-forwards and the readiness error on nodes that run nothing."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from harness.cluster.base import ClusterSpec, Tokens
from harness.cluster.kubernetes import signals
from harness.cluster.kubernetes.backend import KubernetesBackend, namespace_of, run_id_of
from harness.cluster.kubernetes.cluster import KubeCluster
from harness.cluster.kubernetes.images import Installation, image_version, installation
from harness.cluster.kubernetes.portforward import Forward
from harness.errors import ClusterError, InputError
from harness.io.pods import read_pods
from harness.run import runner
from harness.scenario.loader import load_scenario
from harness.scenario.schema import Scenario
from tests.unit.fake_kube import FakeKube, daprd_opener, echo_opener
from toolchain.binaries import Binaries

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BINS = Binaries(Path("/n/daprd"), Path("/n/scheduler"), "1.18.2", "1.18.2", "test")
TOKENS = Tokens(dapr_api="d", app_api="a", redis="r")


def scenario(name: str = "kill-daprd-mid-handler") -> Scenario:
    return load_scenario(SCENARIOS / f"{name}.yaml")


def cluster(api: FakeKube, run_dir: Path, sc: Scenario | None = None, **kw: object) -> KubeCluster:
    sc = sc or scenario()
    backend = KubernetesBackend(api, sc, tokens=TOKENS, **kw)  # type: ignore[arg-type]
    spec = ClusterSpec(replicas=sc.cluster.replicas, ready_timeout=2.0)
    return backend.create(spec, BINS, run_dir)


@pytest.mark.parametrize("name", ["network-delay", "pause-replica", "rolling-upgrade"])
def test_a_scenario_needing_what_kubernetes_cannot_do_is_refused_before_anything_is_created(
    name: str, tmp_path: Path
) -> None:
    api, sc = FakeKube(), scenario(name)
    with pytest.raises(InputError) as caught:
        runner.execute(sc, BINS, tmp_path, backend=KubernetesBackend(api, sc), upgrade=BINS)
    assert "kubernetes backend does not have" in str(caught.value) or "kubernetes backend" in str(caught.value)
    capability = {"network-delay": "network", "pause-replica": "pause", "rolling-upgrade": "upgrade"}[name]
    assert f"{capability!r} capability" in str(caught.value)
    assert api.calls == []


def test_a_scheduler_fault_is_refused_without_the_opt_in_and_nothing_is_created(tmp_path: Path) -> None:
    api, sc = FakeKube(), scenario("scheduler-restart")
    assert "--allow-scheduler-faults" in (KubernetesBackend(api, sc).refusal() or "")
    assert KubernetesBackend(api, sc, allow_scheduler_faults=True).refusal() is None
    with pytest.raises(InputError, match="allow-scheduler-faults"):
        runner.execute(sc, BINS, tmp_path, backend=KubernetesBackend(api, sc))
    assert api.calls == []


def test_the_run_namespace_is_labelled_and_named_for_the_scenario_and_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "20260101T000000Z-abc"
    run_dir.mkdir()
    api = FakeKube(opener=daprd_opener())
    with cluster(api, run_dir) as c:
        ns = c.placement.namespace
        assert ns == namespace_of(scenario(), "20260101t000000z-abc")
        assert ns.startswith("onceonly-kill-daprd-mid-handler-") and len(ns) <= 63
        created = next(args for name, args in api.calls if name == "create_namespace")
        assert created == (ns, {"onceonly/run-id": run_id_of(run_dir), "app.kubernetes.io/part-of": "onceonly"})
        assert ns in api.namespaces and sorted(c.replicas) == [0, 1, 2]
    assert ("delete_namespace", (ns,)) in api.calls and ns not in api.namespaces
    assert read_pods(run_dir) is not None


@pytest.mark.parametrize("failure", [RuntimeError("FAKE apply failed"), KeyboardInterrupt()])
def test_the_namespace_is_deleted_when_the_start_fails_or_is_interrupted(
    failure: BaseException, tmp_path: Path
) -> None:
    api = FakeKube(fail_on={"apply": failure})
    with pytest.raises(type(failure)), cluster(api, tmp_path):
        pass
    assert api.names().count("create_namespace") == 1 and api.names()[-1] == "namespace_exists"
    assert "delete_namespace" in api.names() and api.namespaces == set()


def test_an_interrupt_during_the_run_deletes_the_namespace(tmp_path: Path) -> None:
    api = FakeKube(opener=daprd_opener())
    with pytest.raises(KeyboardInterrupt), cluster(api, tmp_path):
        raise KeyboardInterrupt
    assert "delete_namespace" in api.names() and api.namespaces == set()


def test_an_existing_namespace_is_refused_and_left_alone(tmp_path: Path) -> None:
    api = FakeKube(namespaces={"theirs"})
    with pytest.raises(InputError, match="exists already"), cluster(api, tmp_path, namespace="theirs"):
        pass
    assert "delete_namespace" not in api.names() and "apply" not in api.names() and api.namespaces == {"theirs"}


def test_pods_that_answer_nothing_over_a_port_forward_are_said_plainly(tmp_path: Path) -> None:
    api = FakeKube()  # pods Running and Ready, no stream to any port: kwok's nodes
    with pytest.raises(ClusterError) as caught, cluster(api, tmp_path):
        pass
    assert "are the nodes real?" in str(caught.value) and "kwok" in str(caught.value)
    assert "delete_namespace" in api.names()


@pytest.mark.parametrize(("sig", "grace"), [(signal.SIGKILL, 0), (signal.SIGTERM, None)])
def test_kill_of_both_deletes_the_pod_and_its_replacement_is_a_new_index(
    sig: signal.Signals, grace: int | None, tmp_path: Path
) -> None:
    api = FakeKube(opener=daprd_opener())
    with cluster(api, tmp_path) as c:
        victim = c.replicas[1].pod
        c.kill(1, "both", sig)
        assert ("delete_pod", (c.placement.namespace, victim, grace)) in api.calls
        assert sorted(c.replicas) == [0, 2, 3] and 1 in c.lifetimes
        c.restart_replica(1, "both")  # the heal: only waits for the replacement
        assert api.names().count("delete_pod") == 1
    pods = read_pods(tmp_path)
    assert pods is not None and pods["pods"][1]["name"] == victim and pods["pods"][1]["gone_ns"] is not None


def test_kill_of_daprd_signals_it_in_the_app_container_and_keeps_the_index(tmp_path: Path) -> None:
    api = FakeKube(opener=daprd_opener())
    with cluster(api, tmp_path) as c:
        pod = c.replicas[0].pod
        c.kill(0, "daprd", signal.SIGKILL)
        _ns, target, container, argv = next(args for name, args in api.calls if name == "exec")
        assert (target, container) == (pod, "app") and argv == signals.kill_argv("daprd", signal.SIGKILL)
        assert sorted(c.replicas) == [0, 1, 2] and "delete_pod" not in api.names()


def test_scale_and_rolling_restart_go_through_the_deployment(tmp_path: Path) -> None:
    api = FakeKube(opener=daprd_opener())
    with cluster(api, tmp_path) as c:
        c.scale(1)
        assert ("scale", (c.placement.namespace, "onceonly-app", 1)) in api.calls
        assert sorted(c.replicas) == [0] and set(c.removed) == {1, 2}
        c.scale(2)
        assert sorted(c.replicas) == [0, 3]
        c.rolling_restart()
        patch = next(args for name, args in api.calls if name == "patch_template_annotations")
        assert "onceonly/restarted-at" in patch[2]
        with pytest.raises(InputError):
            c.scale(0)


def test_scheduler_operations_delete_its_pod_in_daprs_namespace_only_when_allowed(tmp_path: Path) -> None:
    api = FakeKube(opener=daprd_opener())
    api.add_pod("dapr-system", "dapr-scheduler-server-0", images={"dapr-scheduler-server": "daprio/dapr:1.18.2"})
    with cluster(api, tmp_path, allow_scheduler_faults=True) as c:
        c.restart_scheduler(0, signal.SIGKILL)
        assert ("delete_pod", ("dapr-system", "dapr-scheduler-server-0", 0)) in api.calls
        assert c.versions()["scheduler-0"] == "1.18.2" and c.versions()["daprd-0"] == "1.18.2"
        with pytest.raises(InputError, match="no scheduler pod"):
            c.stop_scheduler(2)
    (tmp_path / "x").mkdir()
    with cluster(FakeKube(opener=daprd_opener()), tmp_path / "x") as c, pytest.raises(InputError) as caught:
        c.stop_scheduler(0)
    assert "--allow-scheduler-faults" in str(caught.value)


def test_the_kill_argv_names_the_part_and_the_signal() -> None:
    app = signals.kill_argv("app", signal.SIGKILL)
    assert app[:2] == ["python", "-c"] and app[3:] == ["9", signals.APP_MARK]
    assert signals.kill_argv("daprd", signal.SIGTERM)[3:] == ["15", "daprd"]
    assert signals.kill_argv("both", signal.SIGKILL)[4:] == [signals.APP_MARK, "daprd"]
    with pytest.raises(InputError):
        signals.kill_argv("sidecar", signal.SIGKILL)  # type: ignore[arg-type]


def test_the_kill_script_signals_exactly_the_process_it_matches() -> None:
    """The script run for real here, against a child of this test marked by a unique word in its argv."""
    mark = f"onceonly-test-{uuid.uuid4().hex}"
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", mark])
    try:
        out = subprocess.run(
            [sys.executable, "-c", signals.SCRIPT, str(int(signal.SIGTERM)), mark],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        assert signals.signalled(out, "pod", "app") == [child.pid]
        assert child.wait(timeout=10) == -signal.SIGTERM
    finally:
        child.kill()
    with pytest.raises(ClusterError, match="no such process"):
        signals.signalled("signalled: \n", "pod", "daprd")
    with pytest.raises(ClusterError, match="did not run"):
        signals.signalled("exec format error", "pod", "daprd")


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("daprio/daprd:1.18.2", "1.18.2"),
        ("ghcr.io/dapr/daprd:v1.18.2", "1.18.2"),
        ("registry.local:5000/dapr/dapr:1.18.2-mariner@sha256:ab", "1.18.2-mariner"),
        ("registry.local:5000/dapr/daprd", "unknown"),
        ("daprio/daprd:latest", "unknown"),
        ("daprio/daprd@sha256:ab", "unknown"),
    ],
)
def test_a_version_is_an_images_tag(image: str, version: str) -> None:
    assert image_version(image) == version


def test_the_installation_gives_the_runs_dapr_versions() -> None:
    api = FakeKube()
    with pytest.raises(ClusterError, match="no scheduler pod"):
        installation(api, "dapr-system")
    api.add_pod("dapr-system", "dapr-scheduler-server-0", images={"dapr-scheduler-server": "daprio/dapr:1.17.0"})
    found = installation(api, "dapr-system")
    assert found == Installation("docker.io/daprio/daprd:1.18.2", "daprio/dapr:1.17.0")
    bins = found.binaries("ctx")
    assert (bins.daprd_version, bins.scheduler_version) == ("1.18.2", "1.17.0") and "ctx" in bins.source


def test_a_forward_carries_bytes_both_ways_and_closes() -> None:
    forward = Forward(echo_opener, "pod:1")
    with socket.create_connection(("127.0.0.1", forward.port), timeout=5) as conn:
        conn.sendall(b"ping")
        assert conn.recv(4) == b"ping"
    forward.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", forward.port), timeout=1).close()


def test_a_forward_whose_stream_fails_closes_the_local_connection() -> None:
    def refused() -> tuple[socket.socket, object]:
        raise ConnectionRefusedError("FAKE")

    forward = Forward(refused, "pod:2")  # type: ignore[arg-type]
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{forward.port}/", timeout=2)
    assert forward.failures == 1 and "FAKE" in forward.last_error
    forward.close()
