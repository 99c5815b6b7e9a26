"""Improvements are shown, not only regressions (issue 13, item 5): the same rule both ways, each change with its
size, in comparison.json, on the terminal and on the comparison pages. Hand-built documents for the rule; a kept real
run (tests/unit/fixtures/compare/, see its README) for what an SRE reads."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Literal

import pytest
from rich.console import Console

from harness.oracle.changes import Change
from harness.oracle.compare import compare
from harness.oracle.gate import Gate
from harness.oracle.results import Results
from harness.oracle.version_comparison import VersionPair, versions_document
from harness.report.html.compare import write_comparison_html, write_versions_html
from harness.report.terminal_compare import print_comparison, versions_table
from tests.unit.test_report import document

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "compare"


def lines(changes: tuple[Change, ...]) -> list[str]:
    return [str(c) for c in changes]


def test_fewer_anomalies_and_a_better_verdict_are_improvements_with_their_size() -> None:
    worse, better = document(verdict="fail"), document(verdict="pass")
    tick = better["sources"][1]
    tick["duplicates"], tick["verdict"] = 0, "pass"
    tick["missed"] = 0
    worse["sources"][1]["missed"] = 3
    result = compare(worse, better)
    assert lines(result.improvements) == [
        "jobs:tick-job: duplicates 1 → 0 (-1)",
        "jobs:tick-job: missed 3 → 0 (-3)",
        "jobs:tick-job: verdict fail → pass",
        "run: verdict fail → pass",
    ]
    assert result.regressions == ()
    back = compare(better, worse)  # the same rule the other way
    assert lines(back.regressions) == [
        "jobs:tick-job: duplicates 0 → 1 (+1)",
        "jobs:tick-job: missed 0 → 3 (+3)",
        "jobs:tick-job: verdict pass → fail",
        "run: verdict pass → fail",
    ]
    assert back.improvements == ()


@pytest.mark.parametrize(
    ("figure", "old", "new", "improvement", "worse", "regression"),
    [
        ("p50", 2800.0, 4.2, "lateness_p50_ms 2800 → 4.2 (-99.9%)", "", ""),
        ("p50", 4.2, 2800.0, "", "lateness_p50_ms 4.2 → 2800 (+66566.7%)", ""),  # shown, never gating
        ("max", 24000.0, 7000.0, "lateness_max_ms 24000 → 7000 (-70.8%)", "", ""),
        ("max", 7000.0, 24000.0, "", "lateness_max_ms 7000 → 24000 (+242.9%)", ""),
        ("p99", 100.0, 80.0, "lateness_p99_ms 100.0 → 80.0 (-20.0%)", "", ""),  # 100 > 80 x 1.2, and 20 ms
        ("p99", 100.0, 90.0, "", "", ""),  # within 20 %
        ("p99", 8.0, 4.0, "", "", ""),  # -50 % but only 4 ms: under the floor
        ("p99", 80.0, 100.0, "", "", "lateness_p99_ms 80.0 → 100.0 (+25.0%)"),
        ("p95", 100.0, 1.0, "", "", ""),  # p95 is shown in the table only
    ],
)
def test_lateness_by_the_same_rule_both_ways(
    figure: Literal["p50", "p95", "p99", "max"], old: float, new: float, improvement: str, worse: str, regression: str
) -> None:
    a, b = document(), document()
    a["sources"][0]["lateness_ms"][figure], b["sources"][0]["lateness_ms"][figure] = old, new
    result = compare(a, b)
    assert lines(result.improvements) == ([f"jobs:ok-job: {improvement}"] if improvement else [])
    assert lines(result.worse) == ([f"jobs:ok-job: {worse}"] if worse else [])
    assert lines(result.regressions) == ([f"jobs:ok-job: {regression}"] if regression else [])


def kept(name: str) -> Results:
    doc: Results = json.loads((FIXTURES / f"{name}-1.18.2.json").read_text())
    return doc


def scheduler_kill_on_1_16_0() -> Results:
    """The kept 1.18.2 run with the figures docs/findings.md measured on 1.16.0 put in ("Losing one of three
    scheduler members stalls every job on 1.16.0"): all three jobs late, p50 4.9-7.9 s, p99 16-21 s, every job
    stalled until kill + 18.3 s, so each reads unknown."""
    old = copy.deepcopy(kept("scheduler-kill-one-of-three"))
    old["dapr"] = {"daprd": "1.16.0", "scheduler": "1.16.0"}
    figures = {"job-a": (4900.0, 16000.0), "job-b": (7900.0, 16000.0), "job-c": (6000.0, 21000.0)}
    for src in old["sources"]:
        p50, p99 = figures[src["name"]]
        lateness = src["lateness_ms"]
        lateness["p50"], lateness["p99"], lateness["max"] = p50, p99, 18300.0
        src["verdict"] = "unknown"
    return old


def test_the_stall_that_disappeared_is_listed_beside_the_regression_on_real_runs(tmp_path: Path) -> None:
    """The issue's SRE: 1.16.0 -> 1.18.2 on a dead scheduler member. Every job's p50 went from seconds to
    milliseconds except the dead member's, and one job's p99 grew: both columns, each with its size."""
    old, new = scheduler_kill_on_1_16_0(), kept("scheduler-kill-one-of-three")
    result = compare(old, new, old_dir="old", new_dir="new")
    assert lines(result.regressions) == ["jobs:job-b: lateness_p99_ms 16000 → 21271 (+32.9%)"]
    assert lines(result.improvements) == [
        "jobs:job-a: lateness_p50_ms 4900 → 7.357 (-99.8%)",
        "jobs:job-a: lateness_p99_ms 16000 → 7193 (-55.0%)",
        "jobs:job-a: lateness_max_ms 18300 → 7461 (-59.2%)",
        "jobs:job-c: lateness_p50_ms 6000 → 5.167 (-99.9%)",
        "jobs:job-c: lateness_p99_ms 21000 → 136.8 (-99.3%)",
        "jobs:job-c: lateness_max_ms 18300 → 183.2 (-99.0%)",
        "jobs:job-c: verdict unknown → pass",
    ]
    assert result.worse == ()  # job-b's max 18300 → 21536 is +17.7 %: inside the rule
    data = result.to_dict()
    assert data["improvements"] == lines(result.improvements)
    assert data["sources"][2]["figures"]["verdict"]["improvement"] is True
    assert data["sources"][1]["figures"]["lateness_p99_ms"]["regression"] is True
    # the shipped baseline's per-scenario threshold (50 %) for this scenario: no regression, the improvements stay
    gated = Gate(threshold_pct=50.0, floor_ms=50.0).compare(old, new)
    assert gated.regressions == () and len(gated.improvements) == 7

    out = Console(record=True, width=250, color_system=None)
    print_comparison(out, result, "t")
    text = out.export_text()
    assert "improvement: jobs:job-a: lateness_p50_ms 4900 → 7.357 (-99.8%)" in text
    assert "regression: jobs:job-b: lateness_p99_ms 16000 → 21271 (+32.9%)" in text
    assert "1 regression(s) that gate, 0 waived, 7 improvement(s)" in text
    assert "-99.8% improvement" in text  # the table's change column

    page = write_comparison_html(tmp_path, result, old, new).read_text()
    assert "<h2>Improvements</h2>" in page
    assert '<li class="pass">jobs:job-c: verdict unknown → pass</li>' in page
    assert '<li class="reg">jobs:job-b: lateness_p99_ms 16000 → 21271 (+32.9%)</li>' in page


def test_the_version_overview_has_a_column_for_improvements_beside_regressions(tmp_path: Path) -> None:
    old, new = scheduler_kill_on_1_16_0(), kept("scheduler-kill-one-of-three")
    pairs = [VersionPair("scheduler-kill-one-of-three", compare(old, new), old, new), VersionPair("x", None, error="e")]
    out = Console(record=True, width=400, color_system=None)
    out.print(versions_table("t", pairs))
    text = out.export_text()
    assert "improvements" in text and "jobs:job-c: lateness_p99_ms 21000 → 136.8 (-99.3%)" in text
    assert "... 2 more" in text  # each scenario's whole list was printed as it finished
    assert "jobs:job-b: lateness_p99_ms 16000 → 21271 (+32.9%)" in text
    page = write_versions_html(tmp_path, "regression.yaml", "1.16.0", "1.18.2", pairs).read_text()
    assert '<th class="l">improvements</th>' in page and "jobs:job-a: lateness_p50_ms 4900 → 7.357 (-99.8%)" in page
    data: dict[str, Any] = versions_document("regression.yaml", "1.16.0", "1.18.2", Gate(), pairs)
    assert data["scenarios"][0]["improvements"][0] == "jobs:job-a: lateness_p50_ms 4900 → 7.357 (-99.8%)"
    assert data["baseline"] is None and data["waivers_used"] == []
