"""``LocalControlPlane(host_dapr=False)`` (``onceonly k8s up --no-host-dapr``): the plane for Dapr's chart starts
neither sentry nor the injector nor their ``dapr-system`` objects (helm would refuse to adopt them), and the
default still starts both. The steps are FAKE (recorded, nothing started); the real starts are
tests/integration/test_kube_plane.py and test_kube_real_run.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.cluster.kubernetes.plane.control_plane import LocalControlPlane, PlaneBinaries
from harness.cluster.kubernetes.plane.node import images
from harness.errors import InputError
from tests.unit.test_kube_build import _cli

BINS = PlaneBinaries(Path("/k"), Path("/d"), Path("/crds"), (), "1.37.2", "1.18.2")
STEPS = ("_files", "_etcd_and_apiserver", "_cluster_objects", "_controllers_and_nodes", "_sentry", "_injector")


def _started_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **options: Any) -> list[str]:
    plane = LocalControlPlane(tmp_path, BINS, **options)
    called: list[str] = []
    for step in STEPS:
        monkeypatch.setattr(plane, step, lambda step=step: called.append(step))  # FAKE step
    monkeypatch.setattr(plane, "_record", lambda: None)
    plane.start()
    return called


def test_the_default_plane_runs_dapr_on_the_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _started_steps(tmp_path, monkeypatch) == list(STEPS)


def test_a_plane_for_the_chart_starts_no_sentry_or_injector(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _started_steps(tmp_path, monkeypatch, host_dapr=False) == list(STEPS[:4])


class FakeApi:
    """FAKE API: records what is applied; every CRD established."""

    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []

    def apply(self, doc: dict[str, Any]) -> None:
        self.applied.append(doc)

    def kind(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.mark.parametrize(("host_dapr", "kinds"), [(True, {"Namespace", "Secret"}), (False, set())])
def test_the_dapr_namespace_objects_only_with_dapr_on_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_dapr: bool, kinds: set[str]
) -> None:
    crds = tmp_path / "crds"
    crds.mkdir()
    plane = LocalControlPlane(
        tmp_path / "plane", PlaneBinaries(Path("/k"), Path("/d"), crds, (), "1", "1"), host_dapr=host_dapr
    )
    api = FakeApi()
    monkeypatch.setattr(plane, "api", api)
    plane._cluster_objects()
    assert kinds <= {doc["kind"] for doc in api.applied}
    if not host_dapr:
        assert api.applied == []  # no CRD files here, and nothing of dapr-system


def test_k8s_up_images_without_a_node_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        _cli(["k8s", "up", "--images", "--dir", str(tmp_path / "plane")], tmp_path, monkeypatch, "/usr/bin:/bin") == 3
    )
    assert "give --node too" in capsys.readouterr().err
    assert not (tmp_path / "plane").exists() and not (tmp_path / "cache").exists()


def test_the_images_a_node_imports_are_read_from_images_json(tmp_path: Path) -> None:
    index = tmp_path / "images.json"
    with pytest.raises(InputError, match="run `onceonly k8s images` first"):
        images.listed(index)
    index.write_text('{"images": [{"name": "onceonly.local/redis:bookworm", "archive": "/a/redis.tar"}]}')
    assert images.listed(index) == (images.Image("onceonly.local/redis:bookworm", Path("/a/redis.tar")),)
    index.write_text('{"images": [{"role": "redis"}]}')
    with pytest.raises(InputError, match=r"is not an images\.json"):
        images.listed(index)
