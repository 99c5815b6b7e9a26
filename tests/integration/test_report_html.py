"""report.html of a real fault run, opened from disk in headless Chromium: every chart drew (and the same page
without plotly.js draws none, so the check can fail), the timeline shows every delivery, the shaded fault window
and the witnesses, and the page asks for nothing outside its own file. The screenshot is kept in
reports/artifacts/report-html.png."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.browser import chromium, needs_chromium, page_requests
from tests.integration.test_headline import ROOT, onceonly
from toolchain.binaries import Binaries

pytestmark = [pytest.mark.integration, needs_chromium]
ARTIFACTS = ROOT / "reports" / "artifacts"
# A fault run with a shaded window and witnesses: acks from daprd to the scheduler blackholed for 10 s on the links
# to every scheduler member ("all"), which measured 3-4 duplicates per job (ARCHITECTURE, "Network faults") and more
# on the job-fan fan-out (its members share one timeline trace).
SCENARIO = "network-ack-loss"
WINDOW = (1400, 2400)
BUDGET_MS = 10_000  # virtual time for plotly to lay out and draw every chart
CANARY = "onceonly-canary.invalid"  # unresolvable by the browser's rules and by DNS itself (RFC 2606)
CHART_DIV = re.compile(r'<div id="([^"]+)" class="plotly-graph-div')
EXTERNAL_REF = re.compile(
    r"""(?:\bsrc|\bhref)\s*=\s*["']?\s*(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//""", re.I
)


@dataclass
class Run:
    dir: Path
    page: str  # report.html as written
    dom: str  # the DOM after Chromium ran the page's JavaScript
    requests: list[str]  # the requests the page itself started (Chromium's net log)


@pytest.fixture(scope="module")
def run(dapr_bins: Binaries, tmp_path_factory: pytest.TempPathFactory) -> Run:
    reports = tmp_path_factory.mktemp("report-html")
    proc = onceonly("run", f"scenarios/{SCENARIO}.yaml", "--reports", str(reports), bins=dapr_bins)
    (run_dir,) = list(reports.glob(f"{SCENARIO}/*"))
    html = run_dir / "report.html"
    assert html.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    net_log = run_dir / "chromium-net-log.json"
    dom = chromium(
        html.as_uri(), screenshot=ARTIFACTS / "report-html.png", net_log=net_log, window=WINDOW, budget_ms=BUDGET_MS
    )
    return Run(run_dir, html.read_text(), dom, page_requests(net_log))


def chart_ids(page: str) -> list[str]:
    """The chart divs a page holds (each is filled by plotly when its script runs)."""
    return CHART_DIV.findall(page)


def drawn_charts(dom: str) -> dict[str, str]:
    """Each chart div of a rendered DOM that plotly drew into (its SVG is there), with its markup."""
    body = re.sub(r"<script\b[^>]*>.*?</script>", "", dom, flags=re.S)  # plotly.js and the charts' data
    starts = [(m.start(), m.group(1)) for m in CHART_DIV.finditer(body)]
    parts = {
        div: body[at : starts[k + 1][0] if k + 1 < len(starts) else len(body)] for k, (at, div) in enumerate(starts)
    }
    return {div: part for div, part in parts.items() if 'class="plot-container' in part and 'class="main-svg"' in part}


def render(tmp_path: Path, page: str, name: str) -> tuple[str, list[str]]:
    path = tmp_path / name
    path.write_text(page)
    net_log = tmp_path / f"{name}.net-log.json"
    return chromium(path.as_uri(), net_log=net_log, window=WINDOW, budget_ms=BUDGET_MS), page_requests(net_log)


def test_every_chart_of_a_real_run_drew(run: Run) -> None:
    ids = chart_ids(run.page)
    assert {"timeline", "per-occurrence", "lateness", "spread"} <= set(ids), ids
    drawn = drawn_charts(run.dom)
    assert list(drawn) == ids, f"drawn {list(drawn)} of {ids}"
    shot = ARTIFACTS / "report-html.png"
    assert shot.is_file() and shot.stat().st_size > 50_000, shot

    # The timeline: one SVG point per delivery the apps recorded, plus one circle per delivery of a witness
    # (a missed occurrence: one diamond at its due time).
    results = json.loads((run.dir / "results.json").read_text())
    history = json.loads((run.dir / "history.json").read_text())
    witnesses = [w for s in results["sources"] for w in s["witnesses"]]
    circled = sum(max(len(w["deliveries"]), 1) for w in witnesses)
    timeline = drawn["timeline"]
    assert timeline.count('class="point"') == len(history["deliveries"]) + circled
    assert witnesses, "network-ack-loss gave no witness this time (measured: 3-4 duplicates per job)"
    kinds = {w["kind"] for w in witnesses}
    for kind in kinds:
        assert f"{kind}: {sum(w['kind'] == kind for w in witnesses)}" in timeline, kind  # the legend entry
    # the fault window: shaded, and labelled with its target said as "all", never -1
    (fault,) = results["faults"]
    assert fault["target"] == -1
    assert "fault #0 network-blackhole to-scheduler, all schedulers" in timeline
    assert 'class="shapelayer"' in timeline
    # the fan-out's members (job-fan-000 ...) are one trace, named like its row
    assert "jobs:job-fan (" in run.page and "other sources" not in run.page
    # the bars: one per shown source on deliveries per occurrence
    assert drawn["per-occurrence"].count('class="point"') == len(results["sources"])


def test_the_check_fails_on_a_page_without_plotly(run: Run, tmp_path: Path) -> None:
    broken = re.sub(r'<script id="plotlyjs">.*?</script>', "", run.page, count=1, flags=re.S)
    assert len(broken) < len(run.page) - 1_000_000  # plotly.js is gone
    dom, _ = render(tmp_path, broken, "no-plotly.html")
    assert chart_ids(dom) == chart_ids(run.page)  # the divs are still there ...
    assert drawn_charts(dom) == {}  # ... and nothing was drawn into them


def test_the_page_asks_for_nothing_outside_its_file(run: Run) -> None:
    assert not EXTERNAL_REF.search(run.page), EXTERNAL_REF.search(run.page)
    assert "<link" not in run.page and "<iframe" not in run.page
    assert run.requests == [], run.requests  # Chromium's net log: the page started no request at all


def test_the_request_check_sees_a_planted_request(run: Run, tmp_path: Path) -> None:
    """A copy with an image and a fetch pointing outside: both checks catch it (the host is unresolvable)."""
    planted = run.page.replace(
        "</body>",
        f'<img src="http://{CANARY}/pixel.png"><script>fetch("https://{CANARY}/beacon")</script></body>',
    )
    assert EXTERNAL_REF.search(planted)
    dom, requests = render(tmp_path, planted, "planted.html")
    assert len(drawn_charts(dom)) == len(chart_ids(run.page))  # still draws: the request is all that differs
    assert set(requests) == {f"http://{CANARY}/pixel.png", f"https://{CANARY}/beacon"}, requests
