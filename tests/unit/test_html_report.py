"""report.html on hand-built run directories: self-contained, every chart, the header, witnesses and faults."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.io import csv_files, store
from harness.io.stage_files import History, read_history, read_results, write_history, write_results
from harness.model import ALL_MEMBERS, NS, Lateness, Witness
from harness.oracle import results
from harness.report.html import figures, timeline
from harness.report.html import run as html_report
from tests.unit.test_report import DUE, DUPLICATED, PASSING, FakeCheck, delivery, source

FAULT = {
    "index": 0,
    "kind": "kill",
    "part": "daprd",
    "signal": "KILL",
    "target": 2,
    "injected_ns": DUE + NS,
    "healed_ns": DUE + 5 * NS,
    "note": "busy: its app held a delivery in flight",
}
MISSED = source(
    name="lost-job",
    missed=1,
    deliveries=29,
    verdict="fail",
    witnesses=(Witness("missed", "jobs", "lost-job", DUE + 3 * NS, (), note="nothing came for this occurrence"),),
)
EXTERNAL = ('src="http', "src='http", 'href="http', "href='http", "<script src", "@import url(http", "url(http")


def run_dir(
    tmp_path: Path,
    *sources: Any,
    verdict: str = "fail",
    faults: tuple[dict[str, Any], ...] = (FAULT,),
    deliveries: int = 12,
    load: bool = False,
) -> Path:
    doc = results.results_document(
        FakeCheck(tuple(sources) or (PASSING, DUPLICATED, MISSED), verdict, ("ledger complete",)),
        dapr={"daprd": "1.18.2", "scheduler": "1.18.2"},
        scenario={"name": "kill-daprd-mid-handler", "hash": "abc123"},
        host={"node": "ci-1", "python": "3.11.9", "cpus": 2},
        timings={"cluster_ready_s": 3.6},
        faults=list(faults),
    )
    write_results(tmp_path, doc)
    ds = [delivery(i % 3, i * 10.0, name=f"load-{i % 50}-{i % 49}" if load else "tick-job") for i in range(deliveries)]
    write_history(
        tmp_path,
        History(
            deliveries=ds,
            operations=[],
            windows=[],
            replicas=3,
            observe_start_ns=DUE - NS,
            observe_end_ns=DUE + 20 * NS,
            collect_end_ns=DUE + 22 * NS,
            side_effects={},
            ledger_stats={},
        ),
    )
    return tmp_path


def without_library(page: str) -> str:
    return re.sub(r'<script id="plotlyjs">.*?</script>', "", page, count=1, flags=re.S)


def test_report_html_is_one_self_contained_file_with_every_part(tmp_path: Path) -> None:
    path = html_report.write_report_html(run_dir(tmp_path))
    assert path == tmp_path / "report.html"
    page = path.read_text()
    for pattern in EXTERNAL:  # the whole file, plotly.js included: nothing loads from the network
        assert pattern not in page, pattern
    assert not re.search(r"<link[^>]*http", page)
    assert page.count('<script id="plotlyjs">') == 1 and page.count("Plotly.newPlot") >= 4
    rest = without_library(page)
    assert "kill-daprd-mid-handler" in rest and "FAIL" in rest and "1.18.2" in rest
    for div in ("timeline", "per-occurrence", "lateness", "spread"):
        assert f'id="{div}"' in rest, div
    assert "fault #0 kill daprd, replica 2" in rest  # the shaded window's label
    assert "busy: its app held a delivery in flight" in rest  # the fault windows list
    assert "after a success" in rest  # a witness note (list and hover)
    assert "nothing came for this occurrence" in rest and '"missed"' in rest  # the missed row and its marker
    assert "ledger complete" in rest
    assert "per-delivery lateness" not in rest or "does not store" in rest


def test_same_run_same_bytes(tmp_path: Path) -> None:
    path = html_report.write_report_html(run_dir(tmp_path))
    first = path.read_bytes()
    assert html_report.write_report_html(tmp_path).read_bytes() == first


def test_a_load_run_is_folded_and_fast(tmp_path: Path) -> None:
    jobs = [
        replace(
            PASSING,
            name=f"load-{i}-{j}",
            occurrences=3,
            deliveries=3,
            per_replica={0: 1, 1: 1, 2: 1},
            lateness_ms=Lateness(5.0 + i, 6.0 + i, 7.0 + j, 8.0 + j),
        )
        for i in range(50)
        for j in range(50)
    ]
    directory = run_dir(tmp_path, PASSING, *jobs, verdict="pass", faults=(), deliveries=6000, load=True)
    t0 = time.perf_counter()
    page = html_report.write_report_html(directory).read_text()
    assert time.perf_counter() - t0 < 5
    rest = without_library(page)
    assert "load-* (2500 jobs: 2500 pass)" in rest  # one row in the verdict table
    assert '<td class="l">load-7-7</td>' not in rest and '"name":"jobs:load-7-7' not in rest  # no row, no trace
    assert 'id="load-lateness"' in rest  # the per-job distribution
    assert "jobs:load-* (6000 recorded)" in rest  # one timeline trace for the load's deliveries
    assert len(rest) < 1_500_000, len(rest)
    assert "None: no duplicate" in rest


def test_no_history_still_writes_the_page(tmp_path: Path) -> None:
    run_dir(tmp_path)
    (tmp_path / store.HISTORY).unlink()
    assert "kill-daprd-mid-handler" in html_report.write_report_html(tmp_path).read_text()


def test_esc_keeps_notes_from_breaking_the_page(tmp_path: Path) -> None:
    odd = replace(DUPLICATED, notes=("<script>alert(1)</script>",))
    page = html_report.write_report_html(run_dir(tmp_path, odd)).read_text()
    assert "<script>alert(1)</script>" not in page


NETWORK_ALL = {
    "index": 0,
    "kind": "network-blackhole",
    "part": "to-scheduler",
    "signal": "-",
    "target": ALL_MEMBERS,
    "injected_ns": DUE + NS,
    "healed_ns": DUE + 11 * NS,
}


def test_a_fault_on_every_members_link_is_labelled_all_not_minus_one(tmp_path: Path) -> None:
    rest = without_library(html_report.write_report_html(run_dir(tmp_path, faults=(NETWORK_ALL,))).read_text())
    assert "fault #0 network-blackhole to-scheduler, all schedulers" in rest
    assert "-1" not in timeline.fault_label(0, NETWORK_ALL)
    assert "every scheduler member" in rest  # the header's fault list says it the way summary.md does


def test_fault_labels_name_what_the_target_is() -> None:
    assert (
        timeline.fault_label(1, {**NETWORK_ALL, "target": 2}) == "fault #1 network-blackhole to-scheduler, scheduler 2"
    )
    assert timeline.fault_label(0, FAULT) == "fault #0 kill daprd, replica 2"
    assert timeline.fault_label(2, {"kind": "scheduler-kill", "part": "-", "target": 1}) == (
        "fault #2 scheduler-kill, scheduler 1"
    )
    assert timeline.fault_label(3, {"kind": "scale", "part": "-", "target": 5}) == "fault #3 scale to 5 replicas"


def _timeline(tmp_path: Path) -> Any:
    directory = run_dir(tmp_path)
    return timeline.timeline_figure(read_results(directory), read_history(directory))


def test_a_small_timeline_is_svg_and_says_how_many_anomalies_it_circles(tmp_path: Path) -> None:
    fig = _timeline(tmp_path)
    assert {t.type for t in fig.data} == {"scatter"}  # drawn without WebGL, part of the DOM
    legend = [t.name for t in fig.data]
    assert "duplicate: 1 (2 deliveries circled)" in legend  # one duplicate, its two deliveries circled
    assert "retry: 1 (2 deliveries circled)" in legend and "missed: 1" in legend
    assert timeline.witness_legend("early", 3, 3) == "early: 3"


def test_a_large_timeline_uses_webgl(tmp_path: Path) -> None:
    directory = run_dir(tmp_path, PASSING, verdict="pass", faults=(), deliveries=timeline.SVG_POINTS + 1)
    fig = timeline.timeline_figure(read_results(directory), read_history(directory))
    assert {t.type for t in fig.data} == {"scattergl"}


def test_lateness_bars_carry_their_values_and_the_scale_buttons_leave_the_toolbar_free(tmp_path: Path) -> None:
    directory = run_dir(tmp_path)
    fig = figures.lateness_figure(read_results(directory))
    assert all(t.textposition == "outside" and len(t.text) == len(t.x) for t in fig.data)
    (menu,) = fig.layout.updatemenus
    assert menu.x == 0 and menu.xanchor == "left"  # plotly's toolbar sits top right
    linear = next(b for b in menu.buttons if b.label == "linear")
    assert linear.args[0]["yaxis.title.text"] == "ms"  # the axis title follows the scale
    assert [figures.bar_value(v) for v in (None, 8.24, 99.96, 6678.7)] == ["", "8.2", "100.0", "6,679"]


def test_a_narrow_log_lateness_axis_gets_more_than_one_tick(tmp_path: Path) -> None:
    narrow = replace(PASSING, lateness_ms=Lateness(4.0, 7.9, 12.3, 14.7))  # the headline's binding: 4-15 ms
    fig = figures.lateness_figure(read_results(run_dir(tmp_path, narrow, verdict="pass", faults=())))
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.dtick is None  # plotly's own ticks: 5, 10, ...
    wide = replace(PASSING, lateness_ms=Lateness(4.0, 7.9, 5000.0, 9000.0))
    fig = figures.lateness_figure(read_results(run_dir(tmp_path, wide, verdict="pass", faults=())))
    assert fig.layout.yaxis.dtick == 1  # one tick per decade: 10, 100, 1000


def test_lateness_csv_round_trips_and_the_page_draws_the_whole_distribution(tmp_path: Path) -> None:
    samples = tuple((DUE + k * NS, delivery(k % 3, k * 1000.0 + 2.5 + k)) for k in range(5))
    stalled = replace(PASSING, name="ok-job", lateness_samples=samples)
    path = csv_files.write_lateness_csv(tmp_path, [stalled, DUPLICATED])
    assert path.read_text().splitlines()[:2] == [
        "source,name,due_ns,delivery_id,replica,received_ns,late_ms",
        f"jobs,ok-job,{DUE},d-tick-job-0-2.5,0,{DUE + 2_500_000},2.500",
    ]
    assert csv_files.read_lateness_csv(tmp_path) == {"jobs:ok-job": [2.5, 3.5, 4.5, 5.5, 6.5]}
    page = html_report.write_report_html(run_dir(tmp_path, stalled, DUPLICATED)).read_text()
    rest = without_library(page)
    assert 'id="lateness-distribution"' in rest and "jobs:ok-job (5)" in rest
    assert "The whole distribution" in rest


def test_a_run_dir_without_lateness_csv_keeps_the_percentiles_only(tmp_path: Path) -> None:
    rest = without_library(html_report.write_report_html(run_dir(tmp_path)).read_text())
    assert 'id="lateness"' in rest and 'id="lateness-distribution"' not in rest


def test_a_cut_off_delivery_is_marked_apart_and_a_busy_fault_names_its_delivery(tmp_path: Path) -> None:
    busy = {**FAULT, "in_flight": {"delivery_id": "9f1c", "source": "jobs", "name": "tick-job", "received_ns": DUE}}
    directory = run_dir(tmp_path, faults=(busy,), deliveries=3)
    history = read_history(directory)
    history.deliveries[1] = replace(history.deliveries[1], status=None)  # its app died mid-handler: no answer
    doc = read_results(directory)
    fig = timeline.timeline_figure(doc, history)
    (trace,) = [t for t in fig.data if str(t.name).startswith("jobs:tick-job")]
    assert trace.name == "jobs:tick-job (3 recorded, 1 cut off)"
    assert list(trace.marker.symbol) == ["circle", timeline.CUT_OFF_SYMBOL, "circle"]
    assert "cut off (no answer)" in trace.text[1] and "answered 200" in trace.text[0]
    label = "fault #0 kill daprd, replica 2, in flight: delivery 9f1c (jobs tick-job)"
    assert timeline.fault_label(0, busy) == label
    assert label in str(fig.layout.shapes[0].label.text)
    write_history(directory, history)
    page = without_library(html_report.write_report_html(directory).read_text())
    assert "in flight: delivery 9f1c (jobs tick-job)" in page  # the shaded label and the fault list
