"""trend.html of `onceonly trend` over runs the real judge made (tests/unit/trend_runs.py: byo-app over five days,
the latest with three duplicates, the first without `early` as an older results.json), opened from disk in
headless Chromium: every chart drew (and the same page without plotly.js draws none, so the check can fail), the
flagged latest run is ringed and its flag shown, the missing figure is a gap, and the page asks for nothing outside
its own file. The screenshot is kept in reports/artifacts/trend-html.png."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.report.html.trend import FLAG_TRACE
from tests.integration.browser import chromium, needs_chromium, page_requests
from tests.integration.test_headline import ROOT
from tests.integration.test_report_html import EXTERNAL_REF, chart_ids, drawn_charts
from tests.unit.trend_runs import days, judged_byo

pytestmark = [pytest.mark.integration, needs_chromium]
ARTIFACTS = ROOT / "reports" / "artifacts"
WINDOW = (1400, 2600)
BUDGET_MS = 10_000
CHARTS = ["trend-duplicates_per_1000", "trend-missed", "trend-early", "trend-lateness_p99_ms", "trend-verdict"]
RUNS = 5
POINT = re.compile(r'class="point[ "]')  # a marker: "point", or "point plotly-customdata" (not "points")


@dataclass
class Page:
    html: str  # trend.html as written
    dom: str  # after Chromium ran its JavaScript
    requests: list[str]  # the requests the page itself started


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Page:
    tmp = tmp_path_factory.mktemp("trend-html")
    byo = judged_byo(tmp)
    runs = days(tmp / "runs", byo, [1, 0, 1, 1, 3])
    older = runs[0] / "results.json"
    older.write_text(older.read_text().replace('"early": 0,', "", 1))  # schema grew: the first run has no `early`
    argv = [sys.executable, "-m", "harness.cli", "trend", str(tmp / "runs"), "--out", str(tmp / "out")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]  # flagged
    path = tmp / "out" / "trend.html"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    net_log = tmp / "chromium-net-log.json"
    dom = chromium(
        path.as_uri(), screenshot=ARTIFACTS / "trend-html.png", net_log=net_log, window=WINDOW, budget_ms=BUDGET_MS
    )
    return Page(path.read_text(), dom, page_requests(net_log))


def test_every_chart_drew_with_the_flag_ringed(page: Page) -> None:
    assert chart_ids(page.html) == CHARTS
    drawn = drawn_charts(page.dom)
    assert list(drawn) == CHARTS, f"drawn {list(drawn)} of {CHARTS}"
    assert (ARTIFACTS / "trend-html.png").stat().st_size > 30_000
    # duplicates per 1,000: a point per run, and the ring around the latest, named in the legend
    duplicates = drawn["trend-duplicates_per_1000"]
    assert len(POINT.findall(duplicates)) == RUNS + 1
    assert FLAG_TRACE in duplicates
    # no other figure is flagged, so no other chart has a ring
    assert all(FLAG_TRACE not in drawn[c] for c in CHARTS[1:])
    # early: the first run lacks it, a gap rather than a point at 0
    assert len(POINT.findall(drawn["trend-early"])) == RUNS - 1
    assert "1 run(s) without this figure" in page.dom


def test_the_flag_is_in_the_latest_runs_table(page: Page) -> None:
    table = re.search(r'<table id="latest">.*?</table>', page.dom, flags=re.S)
    assert table is not None
    assert ">WORSE<" in table.group(0)
    assert "duplicates per 1,000 occurrences 500, median of 4 runs before 166.7" in table.group(0)
    assert "1 FLAGGED" in page.dom


def test_the_check_fails_on_a_page_without_plotly(page: Page, tmp_path: Path) -> None:
    broken = re.sub(r'<script id="plotlyjs">.*?</script>', "", page.html, count=1, flags=re.S)
    assert len(broken) < len(page.html) - 1_000_000
    path = tmp_path / "no-plotly.html"
    path.write_text(broken)
    dom = chromium(path.as_uri(), window=WINDOW, budget_ms=BUDGET_MS)
    assert chart_ids(dom) == CHARTS and drawn_charts(dom) == {}


def test_the_page_asks_for_nothing_outside_its_file(page: Page) -> None:
    assert not EXTERNAL_REF.search(page.html), EXTERNAL_REF.search(page.html)
    assert "<link" not in page.html and "<iframe" not in page.html
    assert page.requests == []
