"""check() pauses Python's cycle collector while it judges (it makes no cycles) and leaves it as it found it."""

from __future__ import annotations

import gc

import pytest

from harness.oracle import check as check_module
from harness.oracle.check import CheckInput, CheckResult, check

NOTHING = CheckInput([], [], [], [], [], 0, 1, 1)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_during_the_call_and_restored_after(
    enabled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    judge = check_module._check

    def spy(inp: CheckInput) -> CheckResult:
        seen.append(gc.isenabled())
        return judge(inp)

    monkeypatch.setattr(check_module, "_check", spy)
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        assert check(NOTHING).verdict == "unknown"
        assert seen == [False]
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_restored_when_judging_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(inp: CheckInput) -> CheckResult:
        raise RuntimeError("boom")

    monkeypatch.setattr(check_module, "_check", broken)
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        check(NOTHING)
    assert gc.isenabled()
