"""Faults: each an inject/heal pair carried out through ``LocalCluster`` operations, with a recorded handle.

``Nemesis.inject(spec)`` picks the target (an index, ``random`` with the scenario's seeded RNG, or ``busy``: a
replica whose app is inside a handler, i.e. holds a delivery in flight), does the fault and returns a
``FaultHandle``; ``Nemesis.heal(handle)`` undoes it (restart a killed part, SIGCONT a paused one, start a killed
scheduler member, remove a network fault's toxics from the fault proxy). ``run_timeline`` plays a scenario's
faults during the observation window and heals whatever is still open in ``finally``, also when the run fails
or is interrupted (a toxic left by a failed inject dies with the proxy process at teardown). Every inject and
heal is an event, and the handles become the fault windows of the report.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import httpx

from dapr.binaries import Binaries
from harness.cluster.local import LocalCluster
from harness.cluster.proxy import FaultProxyMember, NetworkKind, Toxic, toxics_for
from harness.errors import ClusterError, InputError
from harness.scenario import NETWORK_KINDS, UPGRADE_KINDS, FaultSpec

Emit = Callable[..., None]
BUSY_WAIT_S = 30.0
DEFAULT_PAUSE_S = 5.0
DEFAULT_NETWORK_S = 10.0
SELF_HEALING = ("restart", "scheduler-restart", *UPGRADE_KINDS)
ALL_MEMBERS = -1  # FaultHandle.target of a network fault on the links to every scheduler member


@dataclass
class FaultHandle:
    """What was done, to which target, and when (ns); ``healed_ns`` None until healed."""

    index: int  # position in the scenario's fault list
    kind: str
    target: int
    part: str
    signal: str
    injected_ns: int
    heal_due_s: float | None  # seconds after injection when the heal is due; None: no heal needed
    healed_ns: int | None = None
    note: str = ""

    def window(self) -> dict[str, Any]:
        return asdict(self)


class Nemesis:
    def __init__(
        self,
        cluster: LocalCluster,
        rng: random.Random,
        http: httpx.Client,
        emit: Emit,
        upgrade: Binaries | None = None,
    ) -> None:
        """``upgrade``: the binaries the upgrade steps switch members to."""
        self.cluster = cluster
        self.upgrade = upgrade
        self.rng = rng
        self.http = http
        self.emit = emit
        self._toxics: dict[int, list[Toxic]] = {}  # fault index -> the toxics its heal removes

    def inject(self, index: int, spec: FaultSpec) -> FaultHandle:
        if spec.kind in NETWORK_KINDS:
            return self._inject_network(index, spec)
        if spec.kind == "scale":
            assert spec.replicas is not None
            started_ns = time.time_ns()
            before = len(self.cluster.replicas)
            self.cluster.scale(spec.replicas)
            note = f"{before} -> {spec.replicas} replicas"
            handle = FaultHandle(index, "scale", spec.replicas, "both", "-", started_ns, None, time.time_ns(), note)
            self.emit("fault_injected", **handle.window())
            return handle
        target, note = self._target(spec)
        sig = signal.SIGKILL if spec.signal == "KILL" else signal.SIGTERM
        heal_s = spec.heal_after.total_seconds() if spec.heal_after is not None else None
        started_ns = time.time_ns()  # the fault window opens when the fault starts, not when the call returns
        c = self.cluster
        if spec.kind == "kill":
            c.kill(target, spec.part, sig)
        elif spec.kind == "pause":
            c.pause(target, spec.part)
            heal_s = DEFAULT_PAUSE_S if heal_s is None else heal_s
        elif spec.kind == "restart":
            c.restart_replica(target, spec.part, wait=True)
        elif spec.kind == "scheduler-restart":
            c.restart_scheduler(target, sig, wait=True)
        elif spec.kind == "scheduler-kill":
            c.stop_scheduler(target, signal.SIGKILL)
        elif spec.kind in UPGRADE_KINDS:
            if self.upgrade is None:
                raise InputError(f"fault {index} is an upgrade step, but no binaries to upgrade to were given")
            if spec.kind == "upgrade":
                step = c.upgrade_replica(target, self.upgrade, spec.part, wait=True)
            else:
                step = c.upgrade_scheduler(target, self.upgrade, wait=True)
            note = ", ".join(filter(None, [step, note]))
        done_ns = time.time_ns()
        if spec.kind in SELF_HEALING:  # a restart heals itself: the window is the restart
            sig_name = "TERM" if spec.kind in UPGRADE_KINDS else spec.signal  # an upgrade stops members gracefully
            part = "-" if spec.kind == "scheduler-upgrade" else spec.part
            handle = FaultHandle(index, spec.kind, target, part, sig_name, started_ns, None, done_ns, note)
        else:
            handle = FaultHandle(index, spec.kind, target, spec.part, spec.signal, started_ns, heal_s, note=note)
        self.emit("fault_injected", **handle.window())
        return handle

    def heal(self, handle: FaultHandle) -> None:
        c = self.cluster
        part: Literal["app", "daprd", "both"] = handle.part  # type: ignore[assignment]
        if handle.kind == "kill":
            c.restart_replica(handle.target, part, wait=True)
        elif handle.kind == "pause":
            c.resume(handle.target, part)
        elif handle.kind == "scheduler-kill":
            c.start_scheduler(handle.target, wait=True)
        elif handle.kind in NETWORK_KINDS:
            proxy = c.toxiproxy()
            for toxic in self._toxics.pop(handle.index, []):
                proxy.remove(toxic)
        handle.healed_ns = time.time_ns()
        self.emit("fault_healed", **handle.window())

    def _inject_network(self, index: int, spec: FaultSpec) -> FaultHandle:
        """Toxics on the proxy link(s) to the target member(s); the handle's part is the direction."""
        direction = spec.direction or "both"
        if spec.target == "all":
            target, members, note = ALL_MEMBERS, list(range(len(self.cluster.schedulers))), "all scheduler members"
        else:
            target, note = self._target(spec)
            members = [target]
        kind: NetworkKind = spec.kind.removeprefix("network-")  # type: ignore[assignment]
        delay_ms = 0 if spec.delay is None else round(spec.delay.total_seconds() * 1000)
        if kind == "delay":
            note = ", ".join(filter(None, [f"{delay_ms} ms per direction", note]))
        toxics = [
            t
            for m in members
            for t in toxics_for(FaultProxyMember.link(m), kind, direction, delay_ms, tag=f"fault{index}")
        ]
        heal_s = spec.heal_after.total_seconds() if spec.heal_after is not None else DEFAULT_NETWORK_S
        started_ns = time.time_ns()
        proxy = self.cluster.toxiproxy()
        for toxic in toxics:
            proxy.add(toxic)
        self._toxics[index] = toxics
        handle = FaultHandle(index, spec.kind, target, direction, "-", started_ns, heal_s, note=note)
        self.emit("fault_injected", **handle.window())
        return handle

    def _target(self, spec: FaultSpec) -> tuple[int, str]:
        if isinstance(spec.target, int):
            return spec.target, ""
        if spec.on_scheduler:
            return self.rng.randrange(len(self.cluster.schedulers)), "picked at random (seeded)"
        replicas = sorted(self.cluster.replicas)
        if spec.target == "random":
            return self.rng.choice(replicas), "picked at random (seeded)"
        deadline = time.monotonic() + BUSY_WAIT_S
        while time.monotonic() < deadline:
            busy = [i for i in replicas if self._inflight(i) > 0]
            if busy:
                return self.rng.choice(busy), "busy: its app held a delivery in flight"
            time.sleep(0.05)
        raise ClusterError(f"no replica had a delivery in flight within {BUSY_WAIT_S:.0f} s (fault target 'busy')")

    def _inflight(self, index: int) -> int:
        try:
            resp = self.http.get(f"{self.cluster.replicas[index].app_url}/healthz", timeout=1.0)
            return int(resp.json().get("inflight", 0))
        except (httpx.HTTPError, ValueError):
            return 0


def run_timeline(
    nemesis: Nemesis, faults: Sequence[FaultSpec], duration_s: float, wait: Callable[[str, float], None]
) -> list[FaultHandle]:
    """Play ``faults`` over ``duration_s`` seconds from now; heal every open fault, also on error."""
    start = time.monotonic()
    pending = sorted(enumerate(faults), key=lambda item: item[1].at)
    handles: list[FaultHandle] = []
    open_: list[tuple[float, FaultHandle]] = []  # (heal due, monotonic), handle

    def until(t: float, label: str) -> None:
        left = t - (time.monotonic() - start)
        if left > 0:
            wait(label, left)

    try:
        while pending or open_:
            next_inject = pending[0][1].at.total_seconds() if pending else None
            next_heal = min(open_, key=lambda x: x[0])[0] if open_ else None
            if next_heal is not None and (next_inject is None or next_heal <= next_inject):
                until(next_heal, "observing (fault open)")
                due = min(open_, key=lambda x: x[0])
                open_.remove(due)
                nemesis.heal(due[1])
            else:
                assert next_inject is not None
                until(next_inject, "observing")
                index, spec = pending.pop(0)
                handle = nemesis.inject(index, spec)
                handles.append(handle)
                if handle.heal_due_s is not None:
                    open_.append((time.monotonic() - start + handle.heal_due_s, handle))
        until(duration_s, "observing")
    finally:
        for _, handle in open_:
            nemesis.heal(handle)
    return handles
