"""``onceonly up`` and ``onceonly k8s up`` hold until Ctrl-C, then stop: a second Ctrl-C during the stop (a user's
second press, or the terminal's SIGINT reaching both ``uv run`` and onceonly) must not cut the teardown short.
Found on 2026-12-01: a `k8s up --node` stopped by SIGINT to its process group said "stopping…" and left 46 mounts
of the node (containerd's rootfs, shm, network namespaces, kubelet's volumes) behind."""

from __future__ import annotations

import os
import signal
import time

from harness.campaign.up import hold_until_interrupted


def test_a_second_ctrl_c_while_stopping_is_said_not_obeyed() -> None:
    said: list[str] = []
    stopped: list[str] = []

    def start() -> None:
        raise KeyboardInterrupt  # the first Ctrl-C

    def stop() -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the second, while the teardown runs
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        stopped.append("done")

    hold_until_interrupted(start, stop, said.append)
    assert stopped == ["done"]
    assert said == [
        "\nstopping…",
        "still stopping (SIGINT ignored until the teardown is done)",
        "still stopping (SIGTERM ignored until the teardown is done)",
    ]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored afterwards
