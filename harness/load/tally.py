"""The live tally of Locust's ``onceonly`` tab, pure: what the load's jobs got so far (not the verdict).

One Locust process (``onceonly load`` without ``--workers``) keeps a ``LiveTally`` and shows its rows. With
``--workers N`` the users, and so the tallies, live in the worker processes while the web UI is the master's:
each worker adds its ``LiveTally.snapshot`` to every stats report it sends (Locust's ``report_to_master`` event,
every 3 s and once more when it quits), and the master's ``MergedTally`` sums the latest snapshot of each worker
(``worker_report``). Job names never repeat across workers (``harness.load.workload.job_prefix``), so the sums
count each job once; the lateness percentiles are over every worker's samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

REPORT_KEY = "onceonly_tally"  # the key of a worker's snapshot in its stats report
GRACE_S = 10.0  # a job this far past its last due time without all its deliveries counts as missed so far


class Snapshot(TypedDict):
    """What a worker tells the master in each report: its counts now, and the lateness samples since the last."""

    jobs: int
    deliveries: int
    duplicates: int
    missed: int
    lateness_ms: list[float]


@dataclass
class _Tracked:
    kind: str  # "one-shot" | "recurring"
    created_ns: int
    expected: int  # deliveries the job should get
    every_ns: int
    due_in_ns: int
    delivered: int = 0
    live: bool = True  # False once deleted or overwritten: the final oracle judges those


class LiveTally:
    """A running estimate of what the load's jobs got, for Locust's UI while the load runs (not the verdict).

    ``created`` when a schedule call is sent, ``delivered`` for every delivery the ledger stream shows. A job
    delivered more often than it should fire counts a duplicate; one whose last due time is ``grace_s`` past
    without its deliveries counts as missed so far. Deleted and overwritten jobs are left to the oracle.
    """

    def __init__(self, grace_s: float = GRACE_S) -> None:
        self.jobs: dict[str, _Tracked] = {}
        self.grace_ns = int(grace_s * 1e9)
        self.deliveries = 0
        self.duplicates = 0
        self.lateness_ms: list[float] = []
        self._reported = 0  # lateness samples already in a snapshot

    def created(self, name: str, kind: str, at_ns: int, *, due_in_s: float, every_s: float, repeats: int) -> None:
        expected = 1 if kind == "one-shot" else repeats
        self.jobs[name] = _Tracked(kind, at_ns, expected, int(every_s * 1e9), int(due_in_s * 1e9))

    def retired(self, name: str) -> None:
        if name in self.jobs:
            self.jobs[name].live = False

    def delivered(self, name: str, received_ns: int) -> tuple[str, float, bool] | None:
        """(kind, lateness ms, is a duplicate) of a delivery of one of the load's live jobs; None otherwise."""
        job = self.jobs.get(name)
        if job is None or not job.live:
            return None
        self.deliveries += 1
        job.delivered += 1
        k = job.delivered
        due = job.created_ns + (job.due_in_ns if job.kind == "one-shot" else min(k, job.expected) * job.every_ns)
        lateness = (received_ns - due) / 1e6
        duplicate = k > job.expected
        if duplicate:
            self.duplicates += 1
        else:
            self.lateness_ms.append(lateness)
        return job.kind, lateness, duplicate

    def missed(self, now_ns: int) -> int:
        missed = 0
        for job in self.jobs.values():
            last_due = job.created_ns + (job.due_in_ns if job.kind == "one-shot" else job.expected * job.every_ns)
            if job.live and now_ns > last_due + self.grace_ns:
                missed += max(0, job.expected - job.delivered)
        return missed

    def snapshot(self, now_ns: int) -> Snapshot:
        """This worker's counts for the master; each lateness sample goes into one snapshot only."""
        new = self.lateness_ms[self._reported :]
        self._reported = len(self.lateness_ms)
        return Snapshot(
            jobs=len(self.jobs),
            deliveries=self.deliveries,
            duplicates=self.duplicates,
            missed=self.missed(now_ns),
            lateness_ms=new,
        )

    def rows(self, now_ns: int) -> list[dict[str, str]]:
        """The onceonly tab of Locust's UI: one (metric, value) row each."""
        counts = (len(self.jobs), self.deliveries, self.duplicates, self.missed(now_ns))
        return tally_rows(*counts, self.lateness_ms, self.grace_ns / 1e9)


class MergedTally:
    """The master's tally with ``--workers``: the latest snapshot of each worker, summed; every lateness sample."""

    def __init__(self, grace_s: float = GRACE_S) -> None:
        self.grace_s = grace_s
        self.latest: dict[str, Snapshot] = {}  # by Locust's worker id
        self.lateness_ms: list[float] = []

    def add(self, worker: str, report: Any) -> bool:
        """Take the snapshot a worker's report carries (under ``REPORT_KEY``); False when it carries none."""
        snap = report.get(REPORT_KEY) if isinstance(report, dict) else None
        if not isinstance(snap, dict):
            return False
        self.latest[worker] = Snapshot(
            jobs=int(snap.get("jobs", 0)),
            deliveries=int(snap.get("deliveries", 0)),
            duplicates=int(snap.get("duplicates", 0)),
            missed=int(snap.get("missed", 0)),
            lateness_ms=[],
        )
        self.lateness_ms.extend(float(x) for x in snap.get("lateness_ms", []))
        return True

    def rows(self) -> list[dict[str, str]]:
        snaps = self.latest.values()
        jobs, deliveries, duplicates, missed = (
            sum(s[key] for s in snaps) for key in ("jobs", "deliveries", "duplicates", "missed")
        )
        rows = tally_rows(jobs, deliveries, duplicates, missed, self.lateness_ms, self.grace_s)
        return [{"metric": "workers reporting", "value": str(len(self.latest))}, *rows]


def tally_rows(
    jobs: int, deliveries: int, duplicates: int, missed: int, lateness_ms: list[float], grace_s: float
) -> list[dict[str, str]]:
    late = sorted(lateness_ms)

    def pct(p: float) -> str:
        return "-" if not late else f"{late[min(len(late) - 1, int(p * len(late)))]:.1f}"

    values = [
        ("jobs created", str(jobs)),
        ("deliveries", str(deliveries)),
        ("duplicates so far", str(duplicates)),
        (f"missed so far (>{grace_s:g} s overdue)", str(missed)),
        ("trigger lateness p50 ms", pct(0.50)),
        ("trigger lateness p99 ms", pct(0.99)),
    ]
    return [{"metric": k, "value": v} for k, v in values]
