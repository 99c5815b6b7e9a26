"""Faults: each an inject/heal pair carried out through the ``Cluster`` protocol, with a recorded handle.

``Nemesis.inject(spec)`` picks the target (an index, ``random`` with the scenario's seeded RNG, or ``busy``: a
replica whose app is inside the handler of a delivery of the kind the fault's ``busy`` names, read from each
app's ``/healthz``; the handle and the event record which delivery was in flight: ``in_flight``), does the fault
and returns a ``FaultHandle``; ``Nemesis.heal(handle)`` undoes it (restart a killed part, SIGCONT a paused one,
start a killed scheduler member, mend a network fault's cut). ``run_timeline`` plays a
scenario's faults during the observation window and heals whatever is still open in ``finally``, also when the
run fails or is interrupted (a cut left by a failed inject dies with the cluster at teardown). Every
inject and heal is an event, and the handles become the fault windows of the report.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import httpx

from harness.cluster.base import Capability, Cluster, NetworkKind
from harness.errors import ClusterError, InputError
from harness.model import ALL_MEMBERS
from harness.scenario.schema import NETWORK_KINDS, UPGRADE_KINDS, FaultSpec, busy_source
from toolchain.binaries import Binaries

Emit = Callable[..., None]
BUSY_WAIT_S = 30.0
DEFAULT_PAUSE_S = 5.0
DEFAULT_NETWORK_S = 10.0
SELF_HEALING = ("restart", "scheduler-restart", *UPGRADE_KINDS)


NEEDS: dict[str, Capability] = {
    "kill": Capability.KILL,
    "pause": Capability.PAUSE,
    "restart": Capability.RESTART,
    "scheduler-kill": Capability.KILL,
    "scheduler-restart": Capability.RESTART,
    "upgrade": Capability.UPGRADE,
    "scheduler-upgrade": Capability.UPGRADE,
    "scale": Capability.SCALE,
    **{kind: Capability.NETWORK for kind in NETWORK_KINDS},
}


def needs(faults: Sequence[FaultSpec]) -> list[tuple[Capability, str]]:
    """What the backend must be able to do to play ``faults``: (capability, "fault <i> (<kind>)") pairs."""
    return [(NEEDS[f.kind], f"fault {i} ({f.kind})") for i, f in enumerate(faults)]


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
    # target busy: the delivery the replica held when the fault struck (delivery_id, source, name, received_ns)
    in_flight: dict[str, Any] | None = None
    struck_ns: int | None = None  # kill / pause: when the part was surely down (the signal done, a kill waited for)
    heal_started_ns: int | None = None  # when the heal began (the part could receive again only after it)

    def window(self) -> dict[str, Any]:
        return asdict(self)


class Nemesis:
    def __init__(
        self,
        cluster: Cluster,
        rng: random.Random,
        http: httpx.Client,
        emit: Emit,
        upgrade: Binaries | None = None,
        has_jobs: bool = True,
    ) -> None:
        """``upgrade``: the binaries the upgrade steps switch members to. ``has_jobs``: the scenario has Jobs API
        jobs (or a load), so a ``busy`` target without ``busy`` waits for a Jobs API delivery, else a binding's."""
        self.cluster = cluster
        self.has_jobs = has_jobs
        self.upgrade = upgrade
        self.rng = rng
        self.http = http
        self.emit = emit
        self._cuts: dict[int, object] = {}  # fault index -> the network cut its heal mends

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
        target, note, in_flight = self._target(spec)
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
            handle = FaultHandle(index, spec.kind, target, part, sig_name, started_ns, None, done_ns, note, in_flight)
        else:
            handle = FaultHandle(
                index, spec.kind, target, spec.part, spec.signal, started_ns, heal_s, note=note, in_flight=in_flight
            )
            if spec.kind in ("kill", "pause"):
                handle.struck_ns = done_ns
        self.emit("fault_injected", **handle.window())
        return handle

    def heal(self, handle: FaultHandle) -> None:
        c = self.cluster
        handle.heal_started_ns = time.time_ns()
        part: Literal["app", "daprd", "both"] = handle.part  # type: ignore[assignment]
        if handle.kind == "kill":
            c.restart_replica(handle.target, part, wait=True)
        elif handle.kind == "pause":
            c.resume(handle.target, part)
        elif handle.kind == "scheduler-kill":
            c.start_scheduler(handle.target, wait=True)
        elif handle.kind in NETWORK_KINDS and handle.index in self._cuts:
            c.mend_network(self._cuts.pop(handle.index))
        handle.healed_ns = time.time_ns()
        self.emit("fault_healed", **handle.window())

    def _inject_network(self, index: int, spec: FaultSpec) -> FaultHandle:
        """Toxics on the proxy link(s) to the target member(s); the handle's part is the direction."""
        direction = spec.direction or "both"
        if spec.target == "all":
            target, members, note = ALL_MEMBERS, list(range(self.cluster.scheduler_count)), "all scheduler members"
        else:
            target, note, _ = self._target(spec)
            members = [target]
        kind: NetworkKind = spec.kind.removeprefix("network-")  # type: ignore[assignment]
        delay_ms = 0 if spec.delay is None else round(spec.delay.total_seconds() * 1000)
        if kind == "delay":
            note = ", ".join(filter(None, [f"{delay_ms} ms per direction", note]))
        heal_s = spec.heal_after.total_seconds() if spec.heal_after is not None else DEFAULT_NETWORK_S
        started_ns = time.time_ns()
        self._cuts[index] = self.cluster.cut_network(members, kind, direction, delay_ms, tag=f"fault{index}")
        handle = FaultHandle(index, spec.kind, target, direction, "-", started_ns, heal_s, note=note)
        self.emit("fault_injected", **handle.window())
        return handle

    def _target(self, spec: FaultSpec) -> tuple[int, str, dict[str, Any] | None]:
        """(target index, a note on how it was chosen, the delivery in flight for a ``busy`` target)."""
        if isinstance(spec.target, int):
            return spec.target, "", None
        if spec.on_scheduler:
            return self.rng.randrange(self.cluster.scheduler_count), "picked at random (seeded)", None
        replicas = sorted(self.cluster.replicas)
        if spec.target == "random":
            return self.rng.choice(replicas), "picked at random (seeded)", None
        source, name = busy_source(spec, self.has_jobs)
        wanted = f"a {'Jobs API' if source == 'jobs' else 'cron-binding'} delivery" + (f" of {name}" if name else "")
        deadline = time.monotonic() + BUSY_WAIT_S
        while time.monotonic() < deadline:
            held = {i: [d for d in self._held(i) if matches(d, source, name)] for i in replicas}
            busy = [i for i in replicas if held[i]]
            if busy:
                target = self.rng.choice(busy)
                # the youngest: the most handler time left, so it is still in flight when the fault lands
                delivery = max(held[target], key=lambda d: (int(d["received_ns"]), str(d["delivery_id"])))
                return target, f"busy: picked a replica holding {wanted}", delivery
            time.sleep(0.05)
        raise ClusterError(f"no replica held {wanted} in flight within {BUSY_WAIT_S:.0f} s (fault target 'busy')")

    def _held(self, index: int) -> list[dict[str, Any]]:
        """The deliveries replica ``index``'s app is handling now (its ``/healthz``); none if it does not answer."""
        try:
            resp = self.http.get(f"{self.cluster.replicas[index].app_url}/healthz", timeout=1.0)
            held = resp.json().get("deliveries", [])
        except (httpx.HTTPError, ValueError, AttributeError):
            return []
        return [d for d in held if isinstance(d, dict) and {"delivery_id", "source", "name", "received_ns"} <= set(d)]


def matches(delivery: dict[str, Any], source: str, name: str | None) -> bool:
    """A delivery of ``source`` named ``name`` (any name when None); a fan-out source's name matches its members
    (``<name>-000`` ...)."""
    got = str(delivery["name"])
    member = got.startswith(f"{name}-") and got[len(f"{name}-") :].isdigit()
    return delivery["source"] == source and (name is None or got == name or member)


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
