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
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

import httpx

from harness.cluster.base import Cluster
from harness.errors import ClusterError
from harness.faults.kind import Strike
from harness.faults.registry import kind_of
from harness.io.stage_files import FaultWindow
from harness.model import ALL_MEMBERS, Capability
from harness.scenario.schema import FaultSpec, busy_source
from toolchain.binaries import Binaries

Emit = Callable[..., None]
BUSY_WAIT_S = 30.0


def needs(faults: Sequence[FaultSpec]) -> list[tuple[Capability, str]]:
    """What the backend must be able to do to play ``faults``: (capability, "fault <i> (<kind>)") pairs."""
    return [(kind_of(f.kind).capability, f"fault {i} ({f.kind})") for i, f in enumerate(faults)]


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

    def window(self) -> FaultWindow:
        """The fault window as run.json records it."""
        return cast(FaultWindow, asdict(self))


class Nemesis:
    def __init__(
        self,
        cluster: Cluster,
        rng: random.Random,
        http: httpx.Client,
        emit: Emit,
        upgrade: Binaries | None = None,
        has_jobs: bool = True,
        inflight_path: str = "/healthz",
    ) -> None:
        """``upgrade``: the binaries the upgrade steps switch members to. ``has_jobs``: the scenario has Jobs API
        jobs (or a load), so a ``busy`` target without ``busy`` waits for a Jobs API delivery, else a binding's.
        ``inflight_path``: where a replica's ``app_url`` lists the deliveries in flight (the recorder app's
        ``/healthz``; the hop's ``/.onceonly/healthz`` in front of a user's own app)."""
        self.cluster = cluster
        self.inflight_path = inflight_path
        self.has_jobs = has_jobs
        self.upgrade = upgrade
        self.rng = rng
        self.http = http
        self.emit = emit
        self._undo: dict[int, object] = {}  # fault index -> what its heal needs (a network cut's token)

    def inject(self, index: int, spec: FaultSpec) -> FaultHandle:
        """Do fault ``index`` of the timeline as its kind says (``harness.faults``), and record its window."""
        kind = kind_of(spec.kind)
        in_flight: dict[str, Any] | None = None
        if "replicas" in kind.takes:  # scale: its target is the replica count
            target, note = spec.replicas or 0, ""
        elif kind.whole or (kind.network and spec.target == "all"):
            target, note = ALL_MEMBERS, "" if kind.whole else "all scheduler members"
        else:
            target, note, in_flight = self._target(spec)
        started_ns = time.time_ns()  # the fault window opens when the fault starts, not when the call returns
        struck = kind.strike(Strike(self.cluster, spec, target, self.upgrade, tag=f"fault{index}"))
        done_ns = time.time_ns()
        note = ", ".join(filter(None, [struck.note, note]))
        part, sig = kind.part_shown(spec), kind.signal_shown(spec)
        if kind.self_healing or struck.restarted:  # a restart heals itself: the window is the call
            handle = FaultHandle(index, spec.kind, target, part, sig, started_ns, None, done_ns, note, in_flight)
        else:
            heal_s = spec.heal_after.total_seconds() if spec.heal_after is not None else kind.default_heal_s
            handle = FaultHandle(
                index, spec.kind, target, part, sig, started_ns, heal_s, note=note, in_flight=in_flight
            )
            if kind.struck_down:
                handle.struck_ns = done_ns
            self._undo[index] = struck.undo
        self.emit("fault_injected", **handle.window())
        return handle

    def heal(self, handle: FaultHandle) -> None:
        handle.heal_started_ns = time.time_ns()
        kind_of(handle.kind).heal(self.cluster, handle.target, handle.part, self._undo.pop(handle.index, None))
        handle.healed_ns = time.time_ns()
        self.emit("fault_healed", **handle.window())

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
            resp = self.http.get(f"{self.cluster.replicas[index].app_url}{self.inflight_path}", timeout=1.0)
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
