"""One long run's evidence, generated: the ``CheckInput`` a run of many jobs and cron bindings on 3 replicas leaves.

``run_history(deliveries, seed)`` plays a run long enough for about that many deliveries (about 92 a second, so
1,000,000 is a run of three hours) with a fixed mix of sources per second of run:

* recurring Jobs API jobs: ``@every`` 500 ms, 1 s, 2 s and 5 s, and aligned ``*/1`` and ``*/5`` cron schedules,
  created right after the window opens and deleted right at its end (the runner's way);
* one-shot jobs (``dueTime`` 1-5 s), one created about every second through the window;
* cron bindings (``@every 1s``, ``*/1``, ``*/2``), fired by every replica's daprd with a ``readtimeutc`` header.

About a third of the recurring jobs carry injected trouble, a few times an hour each: 5xx answers that Dapr retries
(constant policy, 250 ms), re-sends of an answered occurrence to another replica (duplicates), deliveries cut off
mid-handler and re-sent, lost occurrences. Bindings get a re-sent request now and then. The timing follows
``benchmarks.histories`` (sequential triggers, 0.2-3 ms scheduler delay, 0.3-3 ms hop, 1-20 ms handlers); its
truth is not kept: this history exists to time the checker, not to grade it. Pure; ``random.Random(seed)``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from benchmarks.histories import T_BASE, go_utc_string
from harness.model import NS, BindingPlan, Delivery, FailurePolicy, JobPlan, Operation, ReplicaWindow
from harness.oracle.check import CheckInput

MS = 1_000_000
REPLICAS = 3
PER_SECOND = 92  # deliveries per second of run the mix below makes (measured: 91-93)
# (schedule, jobs of it); each job delivers once per period
RECURRING: tuple[tuple[str, int], ...] = (
    ("@every 500ms", 5),
    ("@every 1s", 30),
    ("@every 2s", 20),
    ("@every 5s", 25),
    ("*/1 * * * * *", 10),
    ("*/5 * * * * *", 25),
)
BINDINGS: tuple[tuple[str, int], ...] = (("@every 1s", 3), ("*/1 * * * * *", 3), ("*/2 * * * * *", 2))
RETRY = FailurePolicy("constant", 250 * MS, 3)
TROUBLE = ("retry", "duplicate", "cutoff", "lost")


@dataclass
class _Run:
    rng: random.Random
    start: int
    end: int
    trouble_every: int = 2000  # each kind of trouble hits about one occurrence in this many
    deliveries: list[Delivery] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)
    ops: int = 0

    def uid(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def op(self, kind: Literal["schedule", "delete"], name: str, at: int) -> int:
        """An invoke row and its ok row; returns when Dapr acted (a time within the call)."""
        self.ops += 1
        latency = self.rng.randint(1 * MS, 20 * MS)
        op_id = f"op{self.ops}"
        status = 204 if kind == "schedule" else 200
        self.operations.append(Operation(op_id, kind, name, "invoke", at))
        self.operations.append(Operation(op_id, kind, name, "ok", at + latency, {"status": status}))
        return self.rng.randint(at, at + latency)

    def deliver(
        self, name: str, replica: int, sent: int, status: int | None, handler: int = 20 * MS
    ) -> tuple[int, int]:
        """One job delivery (the app's handler takes 1 ms to ``handler``); returns (arrival, when the scheduler has
        its result)."""
        arrival = sent + self.rng.randint(300_000, 3 * MS)
        answer = arrival + self.rng.randint(1 * MS, max(1 * MS, handler))
        answered = None if status is None else answer
        self.deliveries.append(Delivery(self.uid(), "jobs", name, replica, arrival, status, {}, answered))
        return arrival, answer + self.rng.randint(300_000, 3 * MS)

    def job(self, name: str, dues: list[int], trouble: frozenset[str], gone: int, handler: int = 20 * MS) -> None:
        """Play one job's dues: sequential triggers, round robin over the replicas, with its injected trouble."""
        rng = self.rng
        free = 0
        turn = rng.randrange(REPLICAS)
        rate = 1 / self.trouble_every
        for due in dues:
            send = max(due, free) + rng.randint(200_000, 3 * MS)
            if send >= gone:
                return
            if "lost" in trouble and rng.random() < rate:
                free = send
                continue
            turn = (turn + 1) % REPLICAS
            if "cutoff" in trouble and rng.random() < rate:
                arrival, _ = self.deliver(name, turn, send, None, handler)
                turn = (turn + 1) % REPLICAS
                _, free = self.deliver(name, turn, arrival + rng.randint(5 * MS, 30 * MS), 200, handler)
                continue
            attempt = 0
            while "retry" in trouble and rng.random() < rate * 50 and attempt < 3:
                _, ack = self.deliver(name, turn, send, 500, handler)
                attempt += 1
                send = max(ack, due + attempt * RETRY.interval_ns) + rng.randint(200_000, 3 * MS)
            _, free = self.deliver(name, turn, send, 200, handler)
            if "duplicate" in trouble and rng.random() < rate:
                other = (turn + 1) % REPLICAS
                _, free = self.deliver(name, other, free + rng.randint(1 * MS, 50 * MS), 200, handler)

    def binding(self, name: str, period: int, aligned: bool) -> None:
        """Every replica's daprd fires each tick (aligned) or re-arms at wake + period (``@every``)."""
        rng = self.rng
        for replica in range(REPLICAS):
            ready = self.start - NS + rng.randint(0, 300 * MS)
            nxt = (ready // period + 1) * period if aligned else ready + period
            while nxt < self.end + 3 * NS:
                wake = nxt + rng.randint(0, 5 * MS)
                copies = 2 if rng.random() < 1 / 5000 else 1  # the same request re-sent
                headers = {"readtimeutc": go_utc_string(wake), "timezone": "Local"}
                arrival = wake + rng.randint(300_000, 3 * MS)
                for _ in range(copies):
                    answer = arrival + rng.randint(1 * MS, 20 * MS)
                    d = Delivery(self.uid(), "binding", name, replica, arrival, 200, headers, answer)
                    self.deliveries.append(d)
                    arrival = answer + rng.randint(1 * MS, 30 * MS)
                nxt = nxt + period if aligned else wake + period


def run_history(
    deliveries: int, seed: int = 0, *, trouble_every: int = 2000, slow_share: float = 0.0
) -> tuple[CheckInput, int]:
    """The evidence of a run with about ``deliveries`` deliveries; (it, the number of sources planned).

    ``trouble_every``: each kind of trouble hits a troubled job's occurrence with probability 1 / this;
    ``slow_share``: the share of recurring jobs whose handler takes up to 90 % of the period (a backlog now and then).
    """
    rng = random.Random(seed)
    seconds = max(30, deliveries // PER_SECOND)
    start = T_BASE + rng.randint(0, NS - 1)
    run = _Run(rng, start, start + seconds * NS, trouble_every)
    jobs: list[JobPlan] = []
    n = 0
    for schedule, count in RECURRING:
        every = schedule.startswith("@every")
        period = (500 * MS if "500ms" in schedule else int(schedule.split()[1][:-1]) * NS) if every else 0
        step = 0 if every else int(schedule.split()[0][2:]) * NS
        for _ in range(count):
            n += 1
            name = f"job-{n:03d}"
            trouble = frozenset(t for t in TROUBLE if rng.random() < 0.15)
            jobs.append(JobPlan(name, schedule, failure_policy=RETRY if "retry" in trouble else None))
            created = run.op("schedule", name, start + rng.randint(200_000, 5 * MS))
            first = created + period if every else (created // step + 1) * step
            gone = run.op("delete", name, run.end + rng.randint(1 * MS, 30 * MS))
            handler = (period or step) * 9 // 10 if rng.random() < slow_share else 20 * MS
            run.job(name, list(range(first, gone, period or step)), trouble, gone, handler)
    for i in range(seconds - 8):
        name = f"once-{i:06d}"
        lead = rng.randint(1, 5) * NS
        jobs.append(JobPlan(name, due_time=f"{lead // NS}s", failure_policy=RETRY))
        created = run.op("schedule", name, start + i * NS + rng.randint(0, NS - 1))
        gone = run.op("delete", name, run.end + rng.randint(1 * MS, 30 * MS))  # the runner deletes every job
        run.job(name, [created + lead], frozenset({"retry"}) if i % 50 == 0 else frozenset(), gone)
    bindings: list[BindingPlan] = []
    for schedule, count in BINDINGS:
        for _ in range(count):
            name = f"cron-{len(bindings) + 1}"
            bindings.append(BindingPlan(name, schedule))
            aligned = not schedule.startswith("@every")
            run.binding(name, (int(schedule.split()[0][2:]) if aligned else 1) * NS, aligned)
    windows = [ReplicaWindow(r, start - NS, run.end + 3 * NS) for r in range(REPLICAS)]
    run.deliveries.sort(key=lambda d: d.received_ns)
    inp = CheckInput(jobs, bindings, run.deliveries, run.operations, windows, start, run.end, REPLICAS)
    return inp, len(jobs) + len(bindings)
