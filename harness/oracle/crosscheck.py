"""The metrics cross-check: Dapr's own counters (scraped into ``dapr_metrics.json``) beside the ledger's count of
the same things. Pure: it reads the scraped samples and the ledger, never a process.

``cross_check`` puts each of Dapr's figures beside the ledger's count of the same thing and says ``agree``,
``disagree``, ``lower-bound`` (Dapr's figure may only be lower, and is) or ``not-comparable`` (with the reason);
``harness.cluster.metrics`` scrapes the counters. The ledger is the oracle: a disagreement is reported (results.json
``notes`` and ``dapr_metrics``, summary.md, report.html, the terminal) and never changes a verdict.

What each counter counts, read in Dapr's source (v1.16.0 and v1.18.2, same paths in both unless said):

scheduler — ``pkg/scheduler/monitoring/metrics.go``, recorded in ``pkg/scheduler/server/api.go`` and
``pkg/scheduler/server/internal/cron/cron.go``; label ``type="job"`` for Jobs API jobs (actors are ``actor``):

- ``dapr_scheduler_jobs_created_total``: a ScheduleJob that succeeded (a create, or an overwrite).
- ``dapr_scheduler_jobs_deleted_total``: a DeleteJob that succeeded. From 1.18.0; absent in 1.16.0 and 1.17.x.
- ``dapr_scheduler_jobs_triggered_total``: a trigger the daprd answered SUCCESS, which daprd does when the app
  answered 2xx *or 404* (``pkg/runtime/scheduler/internal/cluster/streamer.go`` ``invokeApp``: 404 is "done").
- ``dapr_scheduler_jobs_failed_total``: a trigger the daprd answered FAILED: any other answer, or none at all
  (the app unreachable; such an attempt never reaches the ledger).
- ``dapr_scheduler_jobs_undelivered_total``: a trigger no daprd took (UNDELIVERABLE); the ledger has no twin.

daprd — ``pkg/diagnostics/component_monitoring.go`` and ``http_monitoring.go``:

- ``dapr_component_job_success_count`` / ``_failure_count``: the app answered a job 2xx / anything else (404
  included); a request that got no answer is in neither (``streamer.go`` ``invokeApp``). From 1.17.0.
- ``dapr_http_client_completed_count``: every request daprd made to the app, by ``path`` and ``status``. Before
  1.17 it is the only daprd figure for jobs (``path="/job/<name>"``); its ``status="500"`` also stands for "no
  answer" (``pkg/channel/http/http_channel.go`` ``sendJob``). The path label needs
  ``spec.metric.http.increasedCardinality: true``, which onceonly's Configuration sets (it is also the default).
- ``dapr_component_input_binding_count``: one cron-binding delivery to the app, ``success="true"`` when it
  answered 2xx (``pkg/runtime/processor/binding/input/input.go``; no resiliency policy, so one call per tick).

The counters are absent from ``/metrics`` until their first increment, so a figure the version has is 0 when no
sample is there; which figures a version has is decided by the version, not by the text.

A delivery **cut off** mid-handler (the ledger has its arrival and no answer: its app died, or was still in the
handler when the ledger was read) was never acknowledged. What each counter makes of it (read in v1.18.2 and
v1.16.0; a daprd killed with its app takes its own counters with it, see ``lives`` below):

- scheduler ``jobs_triggered_total``: never counted (no SUCCESS); the ledger side is "answered 2xx or 404", so a
  cut-off delivery is left out. ``jobs_failed_total``: counted when its daprd lived on (the app's connection
  broke: ``http_channel.go`` ``sendJob`` returns the client's error, ``streamer.go`` ``handleJob`` answers FAILED);
  when its daprd died the stream broke and the trigger is ``jobs_undelivered_total`` (``pkg/scheduler/server/
  internal/cron/cron.go`` ``respHandler``). Either way only faults cut a delivery off, and under a fault the
  failed figure is not comparable; without one, a cut-off delivery was still in flight at the scrape, uncounted.
- daprd ``dapr_component_job_success_count`` / ``_failure_count`` (1.17+): in neither (``streamer.go``
  ``invokeApp`` returns the channel's error before counting), so the ledger's "answered otherwise" leaves it out.
- daprd ``dapr_http_client_completed_count`` (the job figure before 1.17): ``status="500"`` (``sendJob`` records
  a client error as 500), so "answered otherwise" includes it.
- daprd ``dapr_component_input_binding_count``: ``success="false"`` (``pkg/runtime/processor/binding/input/
  input.go`` ``read``: the handler's error is a failure), so a binding's "answered otherwise" includes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from harness.faults.registry import kind_of
from harness.model import Delivery, Operation, version_tuple

SCHED_CREATED = "dapr_scheduler_jobs_created_total"
SCHED_DELETED = "dapr_scheduler_jobs_deleted_total"
SCHED_TRIGGERED = "dapr_scheduler_jobs_triggered_total"
SCHED_FAILED = "dapr_scheduler_jobs_failed_total"
SCHED_UNDELIVERED = "dapr_scheduler_jobs_undelivered_total"
JOB_SUCCESS = "dapr_component_job_success_count"
JOB_FAILURE = "dapr_component_job_failure_count"
HTTP_CLIENT = "dapr_http_client_completed_count"
INPUT_BINDING = "dapr_component_input_binding_count"
METRICS = (
    SCHED_CREATED,
    SCHED_DELETED,
    SCHED_TRIGGERED,
    SCHED_FAILED,
    SCHED_UNDELIVERED,
    JOB_SUCCESS,
    JOB_FAILURE,
    HTTP_CLIENT,
    INPUT_BINDING,
)

DELETED_SINCE = (1, 18, 0)
DAPRD_JOB_METRICS_SINCE = (1, 17, 0)

Status = Literal["agree", "disagree", "lower-bound", "not-comparable"]
STATUSES: tuple[Status, ...] = ("agree", "lower-bound", "disagree", "not-comparable")
Bound = Literal["exact", "lower", "none"]
NOTE = (
    "Dapr's own counters, scraped at the end of the run, beside the ledger's; a cross-check: the verdict is the "
    "ledger's."
)


def in_flight_margin_ns(delay_ms: int) -> int:
    """How long before a scrape a delivery may have reached the app and still not be in Dapr's counters (they
    count when the app's answer arrives): the app's configured delay plus a second."""
    return (delay_ms + 1000) * 1_000_000


@dataclass(frozen=True, slots=True)
class Row:
    """One of Dapr's figures beside the ledger's count of the same thing."""

    process: str  # "scheduler" (every member summed) or "daprd-N"
    figure: str  # what is counted, in words
    metric: str  # the Prometheus series summed, as Dapr exposes it
    dapr: int | None  # None: no figure (not scraped, or the version has no such metric)
    ledger: int  # the ledger's count up to the scrape
    ledger_range: tuple[int, int]  # Dapr's figure agrees anywhere in here (deliveries in flight at the scrape)
    status: Status
    reason: str = ""
    members: dict[str, int] | None = None  # the scheduler's figure per member


def cross_check(
    processes: Sequence[Mapping[str, Any]],
    deliveries: Sequence[Delivery],
    operations: Sequence[Operation],
    faults: Sequence[Mapping[str, Any]],
    *,
    daprd_version: str,
    scheduler_version: str,
    margin_ns: int,
) -> dict[str, Any]:
    """The comparison (results.json ``dapr_metrics``) of scraped ``processes`` (dapr_metrics.json) and the ledger.

    The ledger side counts what Dapr's counter counts (see the module docstring): deliveries the app received up
    to the scrape, from the process's last start when it was restarted. A delivery received within ``margin_ns``
    before the scrape may be in the ledger and not yet in Dapr's counter, so Dapr's figure agrees anywhere in
    ``ledger_range``. Faults make a figure a lower bound (an app or daprd killed after the app recorded a
    delivery, an acknowledgement lost on the network: the ledger has deliveries Dapr never counted as done) or
    not comparable (failed attempts that never reached an app are in Dapr's failure counts only).
    """
    rows: list[Row] = []
    schedulers = [p for p in processes if p["role"] == "scheduler"]
    if schedulers:  # members on different versions (mid rolling upgrade): the oldest decides which counters exist
        oldest = min((str(p.get("version") or scheduler_version) for p in schedulers), key=version_tuple)
        rows += _scheduler_rows(schedulers, deliveries, operations, faults, oldest, margin_ns)
    for proc in (p for p in processes if p["role"] == "daprd"):
        rows += _daprd_rows(proc, deliveries, faults, str(proc.get("version") or daprd_version), margin_ns)
    counts = Counter(r.status for r in rows)
    return {
        "note": NOTE,
        "in_flight_margin_ms": margin_ns // 1_000_000,
        "counts": {s: counts.get(s, 0) for s in STATUSES},
        "rows": [_row_json(r) for r in rows],
    }


def _row_json(r: Row) -> dict[str, Any]:
    data = asdict(r)
    data["ledger_range"] = list(r.ledger_range)
    if r.members is None:
        del data["members"]
    return data


def total(samples: Sequence[Mapping[str, Any]], metric: str, **labels: str) -> int:
    """The sum of ``metric``'s samples whose labels include ``labels`` (0 when there is none)."""
    return int(
        sum(
            s["value"]
            for s in samples
            if s["metric"] == metric and all(s["labels"].get(k) == v for k, v in labels.items())
        )
    )


def _judge(dapr: int | None, lo: int, hi: int, bound: Bound, why: str) -> tuple[Status, str]:
    if dapr is None:
        return "not-comparable", why
    if bound == "none":
        return "not-comparable", why
    if bound == "lower":
        if dapr <= hi:
            return "lower-bound", why
        return "disagree", f"Dapr counts more than the ledger although its figure can only be lower ({why})"
    if lo <= dapr <= hi:
        return "agree", "" if lo == hi else f"within the {hi - lo} delivery(ies) in flight at the scrape"
    return "disagree", ""


def _during(f: Mapping[str, Any], since_ns: int | None, until_ns: int) -> bool:
    injected = f.get("injected_ns")
    return injected is not None and (since_ns is None or int(injected) >= since_ns) and int(injected) <= until_ns


def _fault_words(fs: Sequence[Mapping[str, Any]]) -> str:
    kinds = Counter(str(f.get("kind", "?")) for f in fs)
    return ", ".join(k if n == 1 else f"{n} x {k}" for k, n in sorted(kinds.items()))


def _count(
    deliveries: Sequence[Delivery], keep: Callable[[Delivery], bool], since_ns: int | None, lo_ns: int, hi_ns: int
) -> tuple[int, int]:
    """Deliveries kept received from ``since_ns`` (None: the run's start) up to ``lo_ns`` and up to ``hi_ns``."""
    times = [d.received_ns for d in deliveries if keep(d) and (since_ns is None or d.received_ns >= since_ns)]
    return sum(t <= lo_ns for t in times), sum(t <= hi_ns for t in times)


def _ok(status: int | None) -> bool:
    """Answered 2xx. A cut-off delivery (no answer: the app died mid-handler) was never acknowledged."""
    return status is not None and 200 <= status < 300


def _binding(name: str, answered: bool) -> Callable[[Delivery], bool]:
    """Keeps the deliveries of binding ``name`` answered 2xx (``answered``) or otherwise."""
    return lambda d: d.source == "binding" and d.name == name and _ok(d.status) == answered


def _scheduler_rows(
    members: Sequence[Mapping[str, Any]],
    deliveries: Sequence[Delivery],
    operations: Sequence[Operation],
    faults: Sequence[Mapping[str, Any]],
    version: str,
    margin_ns: int,
) -> list[Row]:
    """The scheduler's figures, every member's summed (a job's triggers come from whichever member owns it)."""
    read = [m for m in members if m["error"] is None]
    label = "scheduler" if len(members) == 1 else f"scheduler ({len(members)} members)"
    end = 2**63
    lo_ns = min((int(m["scrape_start_ns"]) for m in read), default=end) - margin_ns
    hi_ns = max((int(m["scrape_end_ns"]) for m in read), default=end)
    lost = [
        f"{m['process']} " + (str(m["error"]) if m["error"] is not None else f"started {m['lives']} times")
        for m in members
        if m["error"] is not None or int(m["lives"]) > 1
    ]
    lost_why = f"counters lost ({'; '.join(lost)}): Dapr counts only since each member's last start" if lost else ""
    faulted = [f for f in faults if _during(f, None, hi_ns)]
    fault_why = (
        f"the run had faults ({_fault_words(faulted)}): a delivery the app recorded may never have been "
        "acknowledged to the scheduler as done"
        if faulted
        else ""
    )

    def ops(kind: str) -> tuple[int, int, int]:
        done = [o for o in operations if o.kind == kind and o.at_ns <= hi_ns]
        ok = sum(o.phase == "ok" for o in done)
        return ok, ok, ok + sum(o.phase == "info" for o in done)  # "info": outcome unknown, maybe applied

    def jobs(keep: Callable[[int], bool]) -> tuple[int, int, int]:
        lo, hi = _count(
            deliveries, lambda d: d.source == "jobs" and d.status is not None and keep(d.status), None, lo_ns, hi_ns
        )
        return hi, lo, hi

    rows = []

    def row(figure: str, metric: str, ledger: tuple[int, int, int], bound: Bound, why: str) -> None:
        """``ledger``: (the ledger's figure, the range Dapr's figure agrees in)."""
        per = {str(m["process"]): total(m["samples"], metric, type="job") for m in read}
        dapr = sum(per.values()) if read else None
        if not read:
            why = "not scraped: " + "; ".join(f"{m['process']}: {m['error']}" for m in members)
        status, text = _judge(dapr, ledger[1], ledger[2], bound, why)
        rows.append(
            Row(
                label,
                figure,
                f'{metric}{{type="job"}}',
                dapr,
                ledger[0],
                (ledger[1], ledger[2]),
                status,
                text,
                per or None,
            )
        )

    row(
        "jobs created (schedule calls answered 2xx)",
        SCHED_CREATED,
        ops("schedule"),
        "lower" if lost else "exact",
        lost_why,
    )
    if version_tuple(version) >= DELETED_SINCE:
        row(
            "jobs deleted (delete calls answered 2xx)",
            SCHED_DELETED,
            ops("delete"),
            "lower" if lost else "exact",
            lost_why,
        )
    else:
        ok, lo, hi = ops("delete")
        rows.append(
            Row(
                label,
                "jobs deleted (delete calls answered 2xx)",
                f'{SCHED_DELETED}{{type="job"}}',
                None,
                ok,
                (lo, hi),
                "not-comparable",
                f"no such metric before Dapr 1.18.0 (scheduler {version}; pkg/scheduler/monitoring/metrics.go)",
            )
        )
    row(
        "job triggers done (app answered 2xx or 404)",
        SCHED_TRIGGERED,
        jobs(lambda s: _ok(s) or s == 404),
        "lower" if lost or faulted else "exact",
        "; ".join(w for w in (lost_why, fault_why) if w),
    )
    row(
        "job triggers failed (app answered otherwise, or not at all)",
        SCHED_FAILED,
        jobs(lambda s: not _ok(s) and s != 404),
        "none" if faulted else "lower" if lost else "exact",
        "the run had faults: Dapr also counts attempts that never reached an app, and an app killed after "
        "recording counts as answered in the ledger"
        if faulted
        else lost_why,
    )
    if any(total(m["samples"], SCHED_UNDELIVERED, type="job") for m in read):
        row(
            "job triggers no daprd took (UNDELIVERABLE)",
            SCHED_UNDELIVERED,
            (0, 0, 0),
            "none",
            "no ledger counterpart: these triggers reached no app",
        )
    return rows


def _daprd_rows(
    proc: Mapping[str, Any],
    deliveries: Sequence[Delivery],
    faults: Sequence[Mapping[str, Any]],
    version: str,
    margin_ns: int,
) -> list[Row]:
    index, name = int(proc["index"]), str(proc["process"])
    read = proc["error"] is None
    samples = proc["samples"]
    since = int(proc["started_ns"]) if int(proc["lives"]) > 1 and proc["started_ns"] is not None else None
    if read:
        lo_ns, hi_ns = int(proc["scrape_start_ns"]) - margin_ns, int(proc["scrape_end_ns"])
    else:
        lo_ns = hi_ns = 2**63
    mine = [
        f
        for f in faults
        if kind_of(f.get("kind")).takes_replica_down and f.get("target") == index and _during(f, since, hi_ns)
    ]
    path = [f for f in faults if kind_of(f.get("kind")).on_scheduler and _during(f, since, hi_ns)]
    restarted = f"restarted: counted since its last start ({proc['lives']} starts)" if since is not None else ""
    not_read = f"not scraped: {proc['error']}"

    rows = []

    def row(
        figure: str,
        metric: str,
        dapr: int,
        keep: Callable[[Delivery], bool],
        answered: bool,
        touching: list[Mapping[str, Any]],
    ) -> None:
        lo, hi = _count(deliveries, lambda d: d.replica == index and keep(d), since, lo_ns, hi_ns)
        if not read:
            status, why = _judge(None, lo, hi, "none", not_read)
        elif touching:
            bound: Bound = "lower" if answered else "none"
            why = f"faults during its life ({_fault_words(touching)}): " + (
                "the app may have recorded a delivery daprd never saw answered"
                if answered
                else "daprd also counts requests the app never answered"
            )
            status, why = _judge(dapr, lo, hi, bound, "; ".join(w for w in (restarted, why) if w))
        else:
            status, why = _judge(dapr, lo, hi, "exact", "")
            why = "; ".join(w for w in (restarted, why) if w)
        rows.append(Row(name, figure, metric, dapr if read else None, hi, (lo, hi), status, why))

    def jobs(d: Delivery) -> bool:
        return d.source == "jobs"

    if version_tuple(version) >= DAPRD_JOB_METRICS_SINCE:
        ok_metric, bad_metric = JOB_SUCCESS, JOB_FAILURE
        ok_value, bad_value = total(samples, JOB_SUCCESS), total(samples, JOB_FAILURE)
    else:  # before 1.17 daprd counts job deliveries only as HTTP requests to the app's /job/<name>
        http = [s for s in samples if s["metric"] == HTTP_CLIENT and s["labels"].get("path", "").startswith("/job/")]
        ok_metric, bad_metric = (
            f'{HTTP_CLIENT}{{path="/job/*",status="2xx"}}',
            f'{HTTP_CLIENT}{{path="/job/*",status!="2xx"}}',
        )
        ok_value = int(sum(s["value"] for s in http if s["labels"].get("status", "").startswith("2")))
        bad_value = int(sum(s["value"] for s in http if not s["labels"].get("status", "").startswith("2")))
    # a cut-off delivery (no answer) is a failure to the HTTP client counter (status 500), and in neither of 1.17's
    # job counters (module docstring)
    cut_off_counted = version_tuple(version) < DAPRD_JOB_METRICS_SINCE
    row("job deliveries answered 2xx", ok_metric, ok_value, lambda d: jobs(d) and _ok(d.status), True, mine + path)
    row(
        "job deliveries answered otherwise",
        bad_metric,
        bad_value,
        lambda d: jobs(d) and not _ok(d.status) and (d.status is not None or cut_off_counted),
        False,
        mine + path,
    )
    bindings = sorted(
        {d.name for d in deliveries if d.source == "binding" and d.replica == index}
        | {s["labels"].get("component", "") for s in samples if s["metric"] == INPUT_BINDING}
    )
    for binding in bindings:
        for success, answered in (("true", True), ("false", False)):
            row(
                f"binding {binding} deliveries answered {'2xx' if answered else 'otherwise'}",
                f'{INPUT_BINDING}{{component="{binding}",success="{success}"}}',
                total(samples, INPUT_BINDING, component=binding, success=success),
                _binding(binding, answered),
                answered,
                mine,
            )
    return rows


def row_line(row: Mapping[str, Any]) -> str:
    """One figure for people: "daprd-1 job deliveries answered 2xx: Dapr 57 (metric), ledger 59"."""
    lo, hi = row["ledger_range"]
    ledger = f"{row['ledger']}" if lo == hi else f"{row['ledger']} ({lo} to {hi} with deliveries in flight)"
    dapr = "-" if row["dapr"] is None else str(row["dapr"])
    return f"{row['process']} {row['figure']}: Dapr {dapr} ({row['metric']}), ledger {ledger}"


def disagreement_notes(comparison: Mapping[str, Any]) -> list[str]:
    return [
        "Dapr's metrics disagree with the ledger (a cross-check; the verdict is the ledger's): " + row_line(r)
        for r in comparison["rows"]
        if r["status"] == "disagree"
    ]


def counts_line(comparison: Mapping[str, Any]) -> str:
    """ "16 agree, 2 lower bound held, 0 disagree, 1 not comparable"."""
    c = comparison["counts"]
    return (
        f"{c['agree']} agree, {c['lower-bound']} lower bound held, {c['disagree']} disagree, "
        f"{c['not-comparable']} not comparable"
    )
