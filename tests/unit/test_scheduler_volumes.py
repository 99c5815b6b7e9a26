"""`k8s dapr install --volumes-dir`: the scheduler's hostPath volumes, their directories made for Dapr's user.
Found on the local node with Dapr 1.16.0: the kubelet made the missing directories root-owned 0755, fsGroup does
not apply to hostPath, and every scheduler pod exited ("failed to create data dir: ... permission denied")."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from harness import cli_k8s_dapr
from harness.cluster.kubernetes import dapr_chart
from harness.cluster.kubernetes.dapr_chart import ChartValues


class FakeApi:
    """A FAKE KubeApi: what was applied."""

    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []

    def apply(self, document: dict[str, Any]) -> None:
        self.applied.append(document)


def test_each_volume_directory_is_made_for_daprs_user_before_its_volume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = FakeApi()
    monkeypatch.setattr(cli_k8s_dapr, "connect", lambda kubeconfig=None: api)
    cli_k8s_dapr.make_volumes(ChartValues("1.16.0"), "dapr-system", tmp_path / "volumes", None)
    paths = [v["spec"]["hostPath"]["path"] for v in api.applied]
    assert paths == [str(tmp_path / "volumes" / "dapr-system" / f"scheduler-{i}") for i in range(3)]
    for path in paths:
        made = Path(path).stat()
        assert made.st_mode & 0o777 == 0o700
        if os.geteuid() == 0:
            assert (made.st_uid, made.st_gid) == (dapr_chart.DAPR_UID, dapr_chart.DAPR_UID)
