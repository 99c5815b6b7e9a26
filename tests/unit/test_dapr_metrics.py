"""Dapr's own metrics beside the ledger's: parsing real /metrics text, scraping fake endpoints, and the comparison.

The Prometheus text is real (tests/unit/fixtures/dapr_metrics, captured from Dapr 1.18.2 and 1.16.0; the README
there says what each counter showed). The endpoints serving it are fakes (httpx.MockTransport); the ledgers are
built by hand to match the captured counters, then changed one delivery or one fault at a time.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from rich.console import Console

from harness.cluster import metrics as dm
from harness.cluster.base import MetricsTarget
from harness.cluster.local import inventory
from harness.io import store
from harness.io.jobs_client import OpKind
from harness.model import NS, Delivery, Lateness, Operation, SourceResult
from harness.oracle import crosscheck, results
from harness.oracle.results import Results
from harness.report import summary, terminal_results
from harness.report.html import run as html_report

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dapr_metrics"
T0 = 1_800_000_000 * NS  # the scrape
EARLY = T0 - 30 * NS  # deliveries well before the scrape (outside the in-flight margin)
MARGIN = crosscheck.in_flight_margin_ns(0)


def text(version: str, process: str) -> str:
    return (FIXTURES / f"{version}-{process}.prom").read_text()


def fake_clock(start: int = T0) -> Callable[[], int]:
    ticks: Iterator[int] = iter(range(start, start + 10**9, 1_000_000))  # 1 ms per reading
    return lambda: next(ticks)


def fake_dapr(version: str, status: int = 200) -> httpx.Client:
    """A fake of every scheduler and daprd of the captured cluster: port 1 = scheduler-0, 10 + i = daprd-i."""

    def handler(request: httpx.Request) -> httpx.Response:
        port = request.url.port
        if port == 99:
            raise httpx.ConnectError("connection refused", request=request)
        name = "scheduler-0" if port == 1 else f"daprd-{(port or 0) - 10}"
        return httpx.Response(status, text=text(version, name))

    return httpx.Client(transport=httpx.MockTransport(handler))


def targets(changes: dict[str, MetricsTarget] | None = None, replicas: int = 2) -> list[MetricsTarget]:
    """The captured cluster's targets; ``changes`` replaces some by process name."""
    found = [MetricsTarget("scheduler-0", "scheduler", 0, "http://127.0.0.1:1/metrics", 1, EARLY - 60 * NS)]
    found += [
        MetricsTarget(f"daprd-{i}", "daprd", i, f"http://127.0.0.1:{10 + i}/metrics", 1, EARLY - 60 * NS)
        for i in range(replicas)
    ]
    return [(changes or {}).get(t.process, t) for t in found]


def scraped(version: str, *changes: MetricsTarget) -> list[dict[str, Any]]:
    with fake_dapr(version) as http:
        return dm.scrape(http, targets({t.process: t for t in changes}), clock=fake_clock())


# What the apps recorded in the captured run, per replica: (source, status) -> count (see the fixtures' README).
LEDGER = {
    "1.18.2": {
        0: {("jobs", 200): 5, ("jobs", 500): 1, ("binding", 200): 11, ("binding", 500): 1},
        1: {("jobs", 200): 3, ("jobs", 500): 3, ("binding", 200): 11, ("binding", 500): 1},
    },
    "1.16.0": {
        0: {("jobs", 200): 3, ("jobs", 500): 3, ("binding", 200): 11, ("binding", 500): 1},
        1: {("jobs", 200): 5, ("jobs", 500): 1, ("binding", 200): 12, ("binding", 500): 1},
    },
}


def ledger(version: str, at: int = EARLY) -> list[Delivery]:
    rows = []
    for replica, counts in LEDGER[version].items():
        for (source, status), n in counts.items():
            name = "cr" if source == "binding" else "jx"
            rows += [
                Delivery(f"{replica}-{source}-{status}-{i}", source, name, replica, at + i * NS // 10, status)  # type: ignore[arg-type]
                for i in range(n)
            ]
    return sorted(rows, key=lambda d: d.received_ns)


def operations() -> list[Operation]:
    ops = []
    kinds: tuple[OpKind, ...] = ("schedule", "schedule", "delete", "delete")
    for i, kind in enumerate(kinds):
        ops += [
            Operation(f"op{i}", kind, f"j{i % 2}", "invoke", EARLY + i),
            Operation(f"op{i}", kind, f"j{i % 2}", "ok", EARLY + i + 1),
        ]
    return ops


def check(
    version: str,
    deliveries: list[Delivery] | None = None,
    faults: list[dict[str, Any]] | None = None,
    processes: list[dict[str, Any]] | None = None,
    ops: list[Operation] | None = None,
) -> dict[str, Any]:
    return crosscheck.cross_check(
        processes if processes is not None else scraped(version),
        ledger(version) if deliveries is None else deliveries,
        operations() if ops is None else ops,
        faults or [],
        daprd_version=version,
        scheduler_version=version,
        margin_ns=MARGIN,
    )


def rows_by(comparison: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["process"], r["figure"]): r for r in comparison["rows"]}


SCHED = "scheduler"
TRIGGERED = "job triggers done (app answered 2xx or 404)"
FAILED = "job triggers failed (app answered otherwise, or not at all)"
CREATED = "jobs created (schedule calls answered 2xx)"
DELETED = "jobs deleted (delete calls answered 2xx)"
JOBS_OK = "job deliveries answered 2xx"
JOBS_BAD = "job deliveries answered otherwise"
CRON_OK = "binding cr deliveries answered 2xx"
CRON_BAD = "binding cr deliveries answered otherwise"


# ---------------------------------------------------------------- parsing real text


def test_daprd_1_18_2_text_gives_its_job_binding_and_app_request_counters() -> None:
    samples = dm.relevant_samples(text("1.18.2", "daprd-0"))
    by_metric = {(s["metric"], tuple(sorted(s["labels"].items()))): s["value"] for s in samples}
    assert crosscheck.total(samples, crosscheck.JOB_SUCCESS) == 5
    assert crosscheck.total(samples, crosscheck.JOB_FAILURE) == 1
    assert crosscheck.total(samples, crosscheck.INPUT_BINDING, component="cr", success="true") == 11
    assert crosscheck.total(samples, crosscheck.INPUT_BINDING, component="cr", success="false") == 1
    # daprd's requests to the app: only POSTs to /job/ and /cron/ are kept (not GET /dapr/config)
    paths = {s["labels"]["path"] for s in samples if s["metric"] == crosscheck.HTTP_CLIENT}
    assert paths == {"/job/jx", "/job/jy", "/cron/cr"}
    # histograms (job_latencies, input_binding_latencies) and unrelated families are not samples of interest
    assert {m for m, _ in by_metric} == {
        crosscheck.JOB_SUCCESS,
        crosscheck.JOB_FAILURE,
        crosscheck.INPUT_BINDING,
        crosscheck.HTTP_CLIENT,
    }


def test_scheduler_text_of_both_versions() -> None:
    new, old = dm.relevant_samples(text("1.18.2", "scheduler-0")), dm.relevant_samples(text("1.16.0", "scheduler-0"))
    for samples in (new, old):
        assert crosscheck.total(samples, crosscheck.SCHED_CREATED, type="job") == 2
        assert crosscheck.total(samples, crosscheck.SCHED_TRIGGERED, type="job") == 8
        assert crosscheck.total(samples, crosscheck.SCHED_FAILED, type="job") == 4
        assert (
            crosscheck.total(samples, crosscheck.SCHED_UNDELIVERED, type="job") == 0
        )  # never incremented: absent from the text
    assert crosscheck.total(new, crosscheck.SCHED_DELETED, type="job") == 2
    assert not [s for s in old if s["metric"] == crosscheck.SCHED_DELETED]  # 1.16.0 has no such counter


def test_daprd_1_16_0_has_no_job_counters_only_app_requests() -> None:
    samples = dm.relevant_samples(text("1.16.0", "daprd-0"))
    assert not [s for s in samples if s["metric"] in (crosscheck.JOB_SUCCESS, crosscheck.JOB_FAILURE)]
    jobs = [s for s in samples if s["metric"] == crosscheck.HTTP_CLIENT and s["labels"]["path"].startswith("/job/")]
    assert sum(s["value"] for s in jobs if s["labels"]["status"] == "200") == 3
    assert sum(s["value"] for s in jobs if s["labels"]["status"] == "500") == 3


def test_a_counter_named_without_total_is_still_read() -> None:
    # prometheus-client's parser reports "dapr_component_job_success_count" as family
    # "dapr_component_job_success_count" with samples "…_count_total": the name Dapr exposes is what we keep
    samples = dm.relevant_samples(
        "# HELP dapr_component_job_success_count x\n# TYPE dapr_component_job_success_count counter\n"
        'dapr_component_job_success_count{app_id="a"} 7\n'
    )
    assert samples == [{"metric": crosscheck.JOB_SUCCESS, "labels": {"app_id": "a"}, "value": 7.0}]


def test_text_that_is_not_prometheus_is_an_error() -> None:
    with pytest.raises(ValueError):
        dm.relevant_samples("<html>not metrics</html>")


# ---------------------------------------------------------------- scraping fake endpoints


def test_scrape_reads_every_target_and_says_what_failed() -> None:
    gone = MetricsTarget(
        "daprd-2", "daprd", 2, None, 1, None, "removed by scale at 10:00:00Z: its counters went with it"
    )
    dead = MetricsTarget("daprd-3", "daprd", 3, "http://127.0.0.1:99/metrics", 1, EARLY)
    with fake_dapr("1.18.2") as http:
        entries = dm.scrape(http, [*targets(), gone, dead], clock=fake_clock())
    by = {e["process"]: e for e in entries}
    assert by["scheduler-0"]["error"] is None and by["scheduler-0"]["scrape_start_ns"] == T0
    assert by["daprd-1"]["scrape_end_ns"] > by["daprd-1"]["scrape_start_ns"]
    assert crosscheck.total(by["daprd-1"]["samples"], crosscheck.JOB_FAILURE) == 3
    assert by["daprd-2"]["error"].startswith("removed by scale") and by["daprd-2"]["samples"] == []
    assert by["daprd-2"]["scrape_start_ns"] is None
    assert by["daprd-3"]["error"] == "ConnectError on http://127.0.0.1:99/metrics"


def test_scrape_of_an_endpoint_answering_an_error_or_not_prometheus() -> None:
    with fake_dapr("1.18.2", status=503) as http:
        (entry,) = dm.scrape(http, targets()[:1], clock=fake_clock())
    assert entry["error"] == "http://127.0.0.1:1/metrics answered 503"
    html = httpx.Client(transport=httpx.MockTransport(lambda _r: httpx.Response(200, text="<html>hi</html>")))
    with html:
        (entry,) = dm.scrape(html, targets()[:1], clock=fake_clock())
    assert entry["error"].startswith("http://127.0.0.1:1/metrics is not Prometheus text")


# ---------------------------------------------------------------- the comparison


@pytest.mark.parametrize("version", ["1.18.2", "1.16.0"])
def test_a_ledger_that_matches_agrees_figure_by_figure(version: str) -> None:
    comparison = check(version)
    rows = rows_by(comparison)
    assert rows[(SCHED, TRIGGERED)]["dapr"] == rows[(SCHED, TRIGGERED)]["ledger"] == 8
    assert rows[(SCHED, FAILED)]["dapr"] == 4 and rows[(SCHED, CREATED)]["dapr"] == 2
    assert rows[("daprd-1", CRON_OK)]["dapr"] == LEDGER[version][1][("binding", 200)]
    statuses = {key: r["status"] for key, r in rows.items()}
    if version == "1.16.0":
        assert statuses.pop((SCHED, DELETED)) == "not-comparable"
        assert "no such metric before Dapr 1.18.0" in rows[(SCHED, DELETED)]["reason"]
        assert rows[("daprd-0", JOBS_OK)]["metric"].startswith(crosscheck.HTTP_CLIENT)
    else:
        assert rows[("daprd-0", JOBS_OK)]["metric"] == crosscheck.JOB_SUCCESS
    assert set(statuses.values()) == {"agree"}
    assert len(rows) == 4 + 2 * 4  # scheduler: created, deleted, triggered, failed; each daprd: jobs and cron x2
    assert comparison["counts"]["disagree"] == 0
    assert crosscheck.disagreement_notes(comparison) == []


def test_each_process_is_read_with_the_counters_of_the_version_it_ran() -> None:
    """Mid rolling upgrade the run-level version is not every process's: each entry's own ``version`` decides."""
    procs = [dict(p, version="1.16.0") for p in scraped("1.16.0")]
    comparison = crosscheck.cross_check(
        procs,
        ledger("1.16.0"),
        operations(),
        [],
        daprd_version="1.18.2",  # what a rolling upgrade's run.json could say; the processes ran 1.16.0
        scheduler_version="1.18.2",
        margin_ns=MARGIN,
    )
    rows = rows_by(comparison)
    assert rows[("daprd-0", JOBS_OK)]["metric"].startswith(crosscheck.HTTP_CLIENT)
    assert rows[(SCHED, DELETED)]["status"] == "not-comparable"
    assert comparison["counts"]["disagree"] == 0


def test_one_delivery_dapr_never_counted_is_a_disagreement_in_both_places() -> None:
    deliveries = ledger("1.18.2")
    extra = Delivery("planted", "jobs", "jx", 0, EARLY + 5 * NS, 200)
    comparison = check("1.18.2", [*deliveries, extra])
    rows = rows_by(comparison)
    for key in ((SCHED, TRIGGERED), ("daprd-0", JOBS_OK)):
        assert rows[key]["status"] == "disagree", key
        assert rows[key]["ledger"] == rows[key]["dapr"] + 1
    assert rows[("daprd-1", JOBS_OK)]["status"] == "agree"
    assert comparison["counts"]["disagree"] == 2
    notes = crosscheck.disagreement_notes(comparison)
    assert notes[0] == (
        "Dapr's metrics disagree with the ledger (a cross-check; the verdict is the ledger's): scheduler job "
        'triggers done (app answered 2xx or 404): Dapr 8 (dapr_scheduler_jobs_triggered_total{type="job"}), ledger 9'
    )


def test_a_404_is_a_done_trigger_for_the_scheduler_and_a_failure_for_daprd() -> None:
    # streamer.go invokeApp: NotFound is answered SUCCESS to the scheduler but counted in job failure_count
    deliveries = [
        d if d.delivery_id != "1-jobs-500-0" else Delivery(d.delivery_id, "jobs", "jx", 1, d.received_ns, 404)
        for d in ledger("1.18.2")
    ]
    rows = rows_by(check("1.18.2", deliveries))
    assert rows[(SCHED, TRIGGERED)]["ledger"] == 9 and rows[(SCHED, TRIGGERED)]["status"] == "disagree"
    assert rows[(SCHED, FAILED)]["ledger"] == 3
    assert rows[("daprd-1", JOBS_BAD)]["ledger"] == 3 and rows[("daprd-1", JOBS_BAD)]["status"] == "agree"


def cut_off(deliveries: list[Delivery], delivery_id: str) -> list[Delivery]:
    """``deliveries`` with one of them cut off: its arrival recorded, no answer (status None)."""
    return [
        d if d.delivery_id != delivery_id else Delivery(d.delivery_id, d.source, d.name, d.replica, d.received_ns, None)
        for d in deliveries
    ]


def test_a_cut_off_delivery_is_counted_as_each_counter_counts_it() -> None:
    # 1.16.0: daprd's HTTP client counts a request the app never answered as status 500 (http_channel.go sendJob);
    # the captured run's 500s stand in for it, so the figures still agree with one of them cut off
    rows = rows_by(check("1.16.0", cut_off(ledger("1.16.0"), "0-jobs-500-0")))
    assert rows[("daprd-0", JOBS_BAD)]["ledger"] == 3 and rows[("daprd-0", JOBS_BAD)]["status"] == "agree"
    # the cron binding: the handler's error is success="false" (input.go read)
    rows = rows_by(check("1.18.2", cut_off(ledger("1.18.2"), "0-binding-500-0")))
    assert rows[("daprd-0", CRON_BAD)]["ledger"] == 1 and rows[("daprd-0", CRON_BAD)]["status"] == "agree"
    # 1.18.2: a job delivery with no answer is in neither job counter (streamer.go invokeApp) nor the scheduler's
    # triggered count; without a fault it was still in flight, so not failed either
    extra = Delivery("cut", "jobs", "jx", 0, EARLY + 5 * NS, None)
    rows = rows_by(check("1.18.2", [*ledger("1.18.2"), extra]))
    for key in (("daprd-0", JOBS_BAD), ("daprd-0", JOBS_OK), (SCHED, TRIGGERED), (SCHED, FAILED)):
        assert rows[key]["status"] == "agree", (key, rows[key])
    assert rows[("daprd-0", JOBS_BAD)]["ledger"] == 1


def test_a_delivery_in_flight_at_the_scrape_agrees_one_long_before_does_not() -> None:
    in_flight = Delivery("late", "binding", "cr", 0, T0 - MARGIN // 2, 200)  # the app had it, daprd not yet
    rows = rows_by(check("1.18.2", [*ledger("1.18.2"), in_flight]))
    row = rows[("daprd-0", CRON_OK)]
    assert (row["dapr"], row["ledger"], row["ledger_range"]) == (11, 12, [11, 12])
    assert row["status"] == "agree" and "in flight" in row["reason"]
    settled = Delivery("late", "binding", "cr", 0, T0 - MARGIN - NS, 200)
    assert rows_by(check("1.18.2", [*ledger("1.18.2"), settled]))[("daprd-0", CRON_OK)]["status"] == "disagree"
    after = Delivery("after", "binding", "cr", 0, T0 + NS, 200)  # received after the scrape: not Dapr's yet
    assert rows_by(check("1.18.2", [*ledger("1.18.2"), after]))[("daprd-0", CRON_OK)]["status"] == "agree"


def fault(kind: str, target: int, at: int = EARLY - NS, part: str = "both") -> dict[str, Any]:
    return {"kind": kind, "target": target, "part": part, "injected_ns": at, "healed_ns": at + NS}


def test_a_replica_fault_makes_its_figures_bounds_and_leaves_the_others_exact() -> None:
    # daprd-1 was killed once with its app holding a recorded delivery: the ledger has one 2xx more than Dapr
    deliveries = [*ledger("1.18.2"), Delivery("held", "jobs", "jx", 1, EARLY + 5 * NS, 200)]
    comparison = check("1.18.2", deliveries, faults=[fault("kill", 1, part="app")])
    rows = rows_by(comparison)
    assert rows[("daprd-1", JOBS_OK)]["status"] == "lower-bound"
    assert "faults during its life (kill)" in rows[("daprd-1", JOBS_OK)]["reason"]
    assert rows[("daprd-1", JOBS_BAD)]["status"] == "not-comparable"
    assert rows[("daprd-1", CRON_OK)]["status"] == "lower-bound"
    assert rows[("daprd-0", JOBS_OK)]["status"] == "agree"  # another replica's fault changes nothing here
    assert rows[(SCHED, TRIGGERED)]["status"] == "lower-bound"
    assert rows[(SCHED, TRIGGERED)]["reason"].startswith("the run had faults (kill)")
    assert rows[(SCHED, FAILED)]["status"] == "not-comparable"
    assert rows[(SCHED, CREATED)]["status"] == "agree"
    assert comparison["counts"]["disagree"] == 0


def test_a_lower_bound_above_the_ledger_is_still_a_disagreement() -> None:
    deliveries = [d for d in ledger("1.18.2") if d.delivery_id != "1-jobs-200-0"]
    rows = rows_by(check("1.18.2", deliveries, faults=[fault("pause", 1)]))
    row = rows[("daprd-1", JOBS_OK)]
    assert (row["dapr"], row["ledger"], row["status"]) == (3, 2, "disagree")
    assert row["reason"].startswith("Dapr counts more than the ledger although its figure can only be lower")


def test_network_and_scheduler_faults_bound_every_daprds_job_figures_not_its_binding() -> None:
    rows = rows_by(check("1.18.2", faults=[fault("network-blackhole", -1)]))
    for replica in (0, 1):
        assert rows[(f"daprd-{replica}", JOBS_OK)]["status"] == "lower-bound"
        assert rows[(f"daprd-{replica}", CRON_OK)]["status"] == "agree"


def test_scale_alone_leaves_the_remaining_daprds_exact_and_the_removed_one_not_comparable() -> None:
    gone = MetricsTarget(
        "daprd-2", "daprd", 2, None, 1, None, "removed by scale at 10:00:00Z: its counters went with it"
    )
    with fake_dapr("1.18.2") as http:
        processes = dm.scrape(http, [*targets(), gone], clock=fake_clock())
    deliveries = [*ledger("1.18.2"), Delivery("r2", "jobs", "jx", 2, EARLY, 200)]
    rows = rows_by(check("1.18.2", deliveries, faults=[fault("scale", 2)], processes=processes))
    removed = rows[("daprd-2", JOBS_OK)]
    assert (removed["dapr"], removed["ledger"], removed["status"]) == (None, 1, "not-comparable")
    assert removed["reason"] == "not scraped: removed by scale at 10:00:00Z: its counters went with it"
    assert rows[("daprd-0", JOBS_OK)]["status"] == "agree"  # the scale's target is a replica count, not replica 2
    assert rows[(SCHED, TRIGGERED)]["status"] == "lower-bound"  # 9 delivered, 8 acknowledged


def test_a_restarted_daprd_is_compared_from_its_last_start() -> None:
    restart = EARLY - NS  # every captured delivery came after it; two more came before, to the earlier life
    again = MetricsTarget("daprd-0", "daprd", 0, "http://127.0.0.1:10/metrics", 2, restart)
    before = [Delivery(f"old{i}", "jobs", "jx", 0, restart - 5 * NS, 200) for i in range(2)]
    rows = rows_by(
        check(
            "1.18.2",
            [*before, *ledger("1.18.2")],
            processes=scraped("1.18.2", again),
            faults=[fault("restart", 0, at=restart - 2 * NS, part="daprd")],
        )
    )
    row = rows[("daprd-0", JOBS_OK)]
    assert (row["dapr"], row["ledger"], row["status"]) == (5, 5, "agree")
    assert row["reason"] == "restarted: counted since its last start (2 starts)"


def test_a_restarted_scheduler_makes_its_figures_lower_bounds() -> None:
    again = MetricsTarget("scheduler-0", "scheduler", 0, "http://127.0.0.1:1/metrics", 2, EARLY)
    ops = [*operations(), Operation("op9", "schedule", "j9", "ok", EARLY + 9)]
    rows = rows_by(check("1.18.2", processes=scraped("1.18.2", again), ops=ops, faults=[fault("scheduler-restart", 0)]))
    created = rows[(SCHED, CREATED)]
    assert (created["dapr"], created["ledger"], created["status"]) == (2, 3, "lower-bound")
    assert "scheduler-0 started 2 times" in created["reason"]


def test_a_schedule_call_with_an_unknown_outcome_widens_the_created_range() -> None:
    ops = [o for o in operations() if o.op_id != "op1"] + [Operation("op1", "schedule", "j1", "info", EARLY)]
    row = rows_by(check("1.18.2", ops=ops))[(SCHED, CREATED)]
    assert (row["dapr"], row["ledger"], row["ledger_range"], row["status"]) == (2, 1, [1, 2], "agree")


def test_an_undeliverable_trigger_is_shown_without_a_ledger_twin() -> None:
    processes = scraped("1.18.2")
    processes[0]["samples"].append({"metric": crosscheck.SCHED_UNDELIVERED, "labels": {"type": "job"}, "value": 1.0})
    row = rows_by(check("1.18.2", processes=processes))[(SCHED, "job triggers no daprd took (UNDELIVERABLE)")]
    assert (row["dapr"], row["status"]) == (1, "not-comparable")


def test_no_scheduler_could_be_read() -> None:
    dead = MetricsTarget("scheduler-0", "scheduler", 0, None, 1, None, "not running at the end")
    rows = rows_by(check("1.18.2", processes=scraped("1.18.2", dead)))
    row = rows[(SCHED, TRIGGERED)]
    assert (row["dapr"], row["ledger"], row["status"]) == (None, 8, "not-comparable")
    assert row["reason"] == "not scraped: scheduler-0: not running at the end"


def test_three_members_are_summed_and_shown_per_member() -> None:
    text3 = {1: text("1.18.2", "scheduler-0"), 2: "", 3: ""}  # a job's triggers all came from its owner
    clients = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, text=text3[r.url.port or 0])))
    members = [
        MetricsTarget(f"scheduler-{i}", "scheduler", i, f"http://127.0.0.1:{i + 1}/metrics", 1, EARLY) for i in range(3)
    ]
    with clients:
        processes = dm.scrape(clients, members, clock=fake_clock())
    row = rows_by(check("1.18.2", processes=processes))[("scheduler (3 members)", TRIGGERED)]
    assert row["dapr"] == 8 and row["status"] == "agree"
    assert row["members"] == {"scheduler-0": 8, "scheduler-1": 0, "scheduler-2": 0}


# ---------------------------------------------------------------- in the reports


@dataclass(frozen=True)
class FakeCheck:
    """A fake of the checker's result: one passing job."""

    sources: tuple[SourceResult, ...] = (
        SourceResult(
            "jobs", "jx", "exactly-once", 2, 4, 4, 0, 0, 0, 0, 0, Lateness(1, 1, 1, 1), {0: 2, 1: 2}, {}, "pass"
        ),
    )
    verdict: str = "pass"
    notes: tuple[str, ...] = ("ledger complete",)


def document(comparison: dict[str, Any] | None) -> Results:
    return results.results_document(
        FakeCheck(),
        dapr={"daprd": "1.18.2", "scheduler": "1.18.2"},
        scenario={"name": "x", "hash": "h"},
        host={},
        timings={},
        dapr_metrics=comparison,
    )


def test_results_json_without_a_scrape_has_no_section_and_with_one_keeps_the_verdict() -> None:
    assert "dapr_metrics" not in document(None)  # an old run dir re-judged: results.json as before
    planted = check("1.18.2", [*ledger("1.18.2"), Delivery("planted", "jobs", "jx", 0, EARLY, 200)])
    doc = document(planted)
    assert doc["verdict"] == "pass"  # Dapr's metrics never change the verdict
    assert doc["dapr_metrics"]["counts"] == {"agree": 10, "lower-bound": 0, "disagree": 2, "not-comparable": 0}
    assert doc["notes"][0] == "ledger complete"
    assert [n.split(": ", 1)[1].split(":")[0] for n in doc["notes"][1:]] == [
        "scheduler job triggers done (app answered 2xx or 404)",
        "daprd-0 job deliveries answered 2xx",
    ]


def test_summary_md_html_and_terminal_show_the_cross_check(tmp_path: Path) -> None:
    doc = document(check("1.18.2", [*ledger("1.18.2"), Delivery("planted", "jobs", "jx", 0, EARLY, 200)]))
    md = summary.write_summary_md(tmp_path, doc).read_text()
    assert "## Dapr's own metrics (cross-check)" in md
    assert "10 agree, 0 lower bound held, 2 disagree, 0 not comparable" in md
    created = "| scheduler | jobs created (schedule calls answered 2xx) | 2 | 2 | agree | "
    assert created + 'dapr_scheduler_jobs_created_total{type="job"} |' in md
    assert "| daprd-0 | job deliveries answered 2xx | 5 | 6 | disagree |" in md
    page = html_report.render_report(doc, None)
    assert "<h2>Dapr's own metrics (cross-check)</h2>" in page and '<td class="l fail">disagree</td>' in page
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    for line in terminal_results.dapr_metrics_lines(doc):
        console.print(line)
    printed = out.getvalue().splitlines()
    assert printed[0] == "Dapr's own metrics vs the ledger: 10 agree, 0 lower bound held, 2 disagree, 0 not comparable"
    assert printed[2].startswith("  warning: disagree: daprd-0 job deliveries answered 2xx: Dapr 5")
    plain = document(None)
    assert "Dapr's own metrics" not in summary.write_summary_md(tmp_path, plain).read_text()
    assert "own metrics" not in html_report.render_report(plain, None)
    assert terminal_results.dapr_metrics_lines(plain) == []


def test_dapr_metrics_json_round_trips(tmp_path: Path) -> None:
    processes = scraped("1.18.2")
    store.write_dapr_metrics(tmp_path, processes, check("1.18.2", processes=processes))
    assert store.load_dapr_metrics(tmp_path) == processes
    assert store.load_dapr_metrics(tmp_path / "nowhere") is None


# ---------------------------------------------------------------- which processes a cluster had


@dataclass
class FakeChild:
    """A fake of one life of a supervised process (``harness.cluster.local.processes.Child``)."""

    name: str
    started_at: float
    running: bool = True

    def alive(self) -> bool:
        return self.running


def test_targets_of_a_cluster_count_lives_and_name_the_processes_that_are_gone() -> None:
    now = time.monotonic()
    old_daprd = FakeChild("daprd-0", now - 60, running=False)
    history = [
        FakeChild("scheduler-0", now - 60),
        FakeChild("scheduler-1", now - 60, running=False),  # killed, never started again
        old_daprd,
        FakeChild("daprd-0", now - 10),  # restarted 10 s ago
        FakeChild("daprd-1", now - 60),
        FakeChild("daprd-2", now - 30, running=False),  # removed by scale
    ]
    children = {c.name: c for c in history}  # the last life of each
    cluster = SimpleNamespace(
        supervisor=SimpleNamespace(history=history, children=children),
        schedulers=[SimpleNamespace(name=f"scheduler-{i}", index=i, metrics_port=20000 + i) for i in range(2)],
        replicas={i: SimpleNamespace(daprd_name=f"daprd-{i}", metrics_port=21000 + i) for i in range(2)},
        lifetimes={2: (EARLY, 1_800_000_000 * NS)},
        # a rolling upgrade switched daprd-0 to 1.18.2; the rest run 1.16.0
        scheduler_binaries=lambda i: SimpleNamespace(scheduler_version="1.16.0"),
        daprd_binaries=lambda i: SimpleNamespace(daprd_version="1.18.2" if i == 0 else "1.16.0"),
    )
    found = {t.process: t for t in inventory.metrics_targets(cast(Any, cluster))}
    assert list(found) == ["scheduler-0", "scheduler-1", "daprd-0", "daprd-1", "daprd-2"]
    assert found["scheduler-0"].url == "http://127.0.0.1:20000/metrics" and found["scheduler-0"].lives == 1
    assert found["scheduler-1"].url is None and found["scheduler-1"].note == "not running at the end"
    daprd0 = found["daprd-0"]
    assert daprd0.lives == 2 and daprd0.url == "http://127.0.0.1:21000/metrics"
    assert daprd0.version == "1.18.2" and found["daprd-1"].version == found["scheduler-0"].version == "1.16.0"
    assert daprd0.started_ns is not None and abs(time.time_ns() - daprd0.started_ns - 10 * NS) < NS
    gone = found["daprd-2"]
    assert (gone.role, gone.index, gone.url) == ("daprd", 2, None)
    assert gone.note == "removed by scale at 08:00:00Z: its counters went with it"
