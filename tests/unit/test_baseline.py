"""Baselines and waivers (issue 13, item 4): a regression inside a waiver passes and is listed with its reason; a
waiver exceeded, expired or unused is said; a bad baseline is refused (exit 3) before anything is built or started;
the shipped 1.16.0 -> 1.18.2 baseline passes the documented differences of kept real runs and fails when one of its
waivers is removed; a suite case whose differences are all waived passes and says so."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from harness.campaign import gate as gates
from harness.oracle.baseline import Baseline, source_matches
from harness.oracle.gate import Gate
from harness.oracle.results import Results
from harness.scenario.baseline import BaselineError, load_baseline
from tests.unit.test_report import document

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "scenarios" / "baselines" / "dapr-1.16.0-to-1.18.2.yaml"
REGRESSION = ROOT / "scenarios" / "regression.yaml"
HEADLINE = ROOT / "scenarios" / "jobs-vs-cron.yaml"
EXPIRES = date(2027, 6, 30)


def waiver(**overrides: Any) -> dict[str, Any]:
    base = {
        "scenario": "jobs-vs-cron",  # the scenario of tests.unit.test_report.document
        "source": "jobs:tick-job",
        "figure": "duplicates",
        "up_to": 3,
        "reason": "re-sent after a reconnect (FAKE reason)",
        "expires": EXPIRES.isoformat(),
    }
    return base | overrides


def gate(*waivers: dict[str, Any], today: date = EXPIRES, thresholds: tuple[dict[str, Any], ...] = ()) -> Gate:
    model = Baseline.model_validate({"name": "b", "waivers": list(waivers), "thresholds": list(thresholds)})
    return Gate(baseline=model, path="b.yaml", today=today)


def three_duplicates() -> Results:
    new = document()
    new["sources"][1]["duplicates"] = 3  # tick-job: 1 -> 3
    return new


def test_a_regression_inside_its_waiver_is_kept_with_its_reason_and_does_not_gate() -> None:
    result = gate(waiver()).compare(document(), three_duplicates())
    assert result.regressions == ()
    assert [str(w) for w in result.waived] == [
        "jobs:tick-job: duplicates 1 → 3 (+2) (waived until 2027-06-30: re-sent after a reconnect (FAKE reason))"
    ]
    data = result.to_dict()
    assert data["regression"] is False and data["regressions"] == []
    assert data["baseline"] == {"name": "b", "path": "b.yaml"}
    assert data["waived"] == [
        {
            "line": "jobs:tick-job: duplicates 1 → 3 (+2)",
            "reason": "re-sent after a reconnect (FAKE reason)",
            "expires": "2027-06-30",
            "waiver": "jobs-vs-cron jobs:tick-job duplicates up to 3 (expires 2027-06-30)",
        }
    ]
    assert [u["lines"] for u in data["waivers_used"]] == [["jobs:tick-job: duplicates 1 → 3 (+2)"]]
    assert data["waivers_unused"] == data["waivers_expired"] == data["waivers_exceeded"] == []
    figure = data["sources"][1]["figures"]["duplicates"]
    assert figure["regression"] is True and figure["waived"] is True  # a regression by the rule, accepted


def test_a_value_beyond_the_waiver_stands_and_says_so() -> None:
    result = gate(waiver(up_to=2)).compare(document(), three_duplicates())
    assert [str(r) for r in result.regressions] == ["jobs:tick-job: duplicates 1 → 3 (+2) [beyond the waiver: up to 2]"]
    assert result.waived == ()
    assert result.baseline is not None and [u.lines for u in result.baseline.exceeded] == [
        ("jobs:tick-job: duplicates 1 → 3 (+2)",)
    ]
    assert result.baseline.used == () and result.baseline.unused == ()


@pytest.mark.parametrize(
    ("today", "applies"),
    [(EXPIRES - timedelta(days=30), True), (EXPIRES, True), (EXPIRES + timedelta(days=1), False)],
    ids=["before", "the-day-of-expiry-still-applies", "the-day-after"],
)
def test_expiry(today: date, applies: bool) -> None:
    result = gate(waiver(), today=today).compare(document(), three_duplicates())
    assert result.baseline is not None
    if applies:
        assert result.regressions == () and len(result.baseline.used) == 1 and result.baseline.expired == ()
    else:
        assert [str(r) for r in result.regressions] == [
            "jobs:tick-job: duplicates 1 → 3 (+2) [waiver expired 2027-06-30]"
        ]
        assert [u.lines for u in result.baseline.expired] == [("jobs:tick-job: duplicates 1 → 3 (+2)",)]
        assert result.baseline.used == () and result.baseline.unused == ()
        assert result.to_dict()["waivers_expired"][0]["expires"] == "2027-06-30"


def test_a_waiver_that_matched_nothing_is_unused_and_other_scenarios_waivers_are_not_listed() -> None:
    missed = waiver(figure="missed", up_to=0)
    elsewhere = waiver(scenario="network-ack-loss")
    result = gate(waiver(), missed, elsewhere).compare(document(), three_duplicates())
    assert result.baseline is not None
    assert [u.waiver.figure for u in result.baseline.used] == ["duplicates"]
    assert [u.waiver.figure for u in result.baseline.unused] == ["missed"]
    assert "waiver unused: jobs-vs-cron jobs:tick-job missed up to 0 (expires 2027-06-30)" in result.baseline.lines()
    silent = gate(elsewhere).compare(document(), three_duplicates())
    assert silent.warnings == ("baseline 'b' has no waiver or threshold for jobs-vs-cron",)
    assert len(silent.regressions) == 1


def test_a_verdict_waiver_names_the_accepted_verdicts_and_star_covers_the_run() -> None:
    old, new = document(verdict="pass"), document(verdict="fail")
    new["sources"][0]["verdict"] = "fail"  # ok-job: pass -> fail, and the run: pass -> fail
    accepts_unknown = waiver(source="*", figure="verdict", up_to=["unknown"])
    result = gate(accepts_unknown).compare(old, new)
    assert [str(r) for r in result.regressions] == [
        "jobs:ok-job: verdict pass → fail [beyond the waiver: up to unknown]",
        "run: verdict pass → fail [beyond the waiver: up to unknown]",
    ]
    result = gate(waiver(source="*", figure="verdict", up_to=["unknown", "fail"])).compare(old, new)
    assert result.regressions == () and [w.key for w in result.waived] == ["jobs:ok-job", "run"]


def test_per_scenario_thresholds_replace_the_commands_lateness_rule() -> None:
    slower = document()
    slower["sources"][0]["lateness_ms"]["p99"] = 40.0  # from 4.75 ms
    assert len(Gate().compare(document(), slower).regressions) == 1
    loose = gate(thresholds=({"scenario": "jobs-vs-cron", "lateness_floor_ms": 50},))
    result = loose.compare(document(), slower)
    assert result.regressions == () and (result.lateness_threshold_pct, result.lateness_floor_ms) == (20.0, 50.0)
    other = gate(thresholds=({"scenario": "other", "lateness_threshold_pct": 500},))
    assert other.lateness("jobs-vs-cron") == (20.0, 5.0) and other.lateness("other") == (500.0, 5.0)


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("*", "jobs:a", True),
        ("*", "run", True),
        ("jobs:a", "jobs:a", True),
        ("a", "jobs:a", True),  # a bare name, as a suite names sources
        ("jobs:a", "a", True),
        ("binding:a", "jobs:a", False),
        ("jobs:a", "jobs:b", False),
        ("run", "jobs:run", True),  # a source named "run" is matched bare, as any other
    ],
)
def test_source_matching(pattern: str, key: str, matches: bool) -> None:
    assert source_matches(pattern, key) is matches


# ---------------------------------------------------------------- the file


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty: a baseline needs a name, and waivers or thresholds"),
        ("- name\n", "expected a mapping with name, waivers and thresholds, got a list"),
        ("name: x\nwaiver: []\n", "unknown section 'waiver' (did you mean 'waivers'?); valid sections: name,"),
        ("waivers: []\n", "missing section 'name' (required sections: name)"),
        ("name: x\nwaivers: [{scenario: s, figure: dupes}]\n", "waivers.0.figure: 'dupes' is not a figure (did you"),
        ("name: x\nwaivers: [{scenario: s, figure: deliveries}]\n", "waivers.0.figure: 'deliveries' is never a"),
        ("name: x\nwaivers: [{scenario: s, figure: missed, up_to: -1}]\n", "waivers.0.up_to: for figure missed, up_to"),
        ("name: x\nwaivers: [{scenario: s, figure: missed, up_to: 1.5}]\n", "is a whole number, at least 0"),
        ("name: x\nwaivers: [{scenario: s, figure: verdict, up_to: [maybe]}]\n", "waivers.0.up_to: for figure verdict"),
        ("name: x\nwaivers: [{scenario: s, figure: missed, up_to: 1}]\n", "waivers.0: missing key 'reason'"),
        ("name: x\nwaivers: [{scenario: s, figure: missed, up_to: 1}]\n", "waivers.0: missing key 'expires'"),
        ("name: x\nwaivers: [{scenario: s, figure: missed, reason: ' '}]\n", "waivers.0.reason: say why"),
        ("name: x\nwaivers: [{expires: 2027-13-01}]\n", "waivers.0.expires: expected a date YYYY-MM-DD"),
        ("name: x\nwaivers: [{expires: 20270101}]\n", "got 20270101"),
        ("name: x\nwaivers: [{scenario: s, colour: red}]\n", "unknown key 'colour' in waivers.0"),
        ("name: x\nthresholds: [{scenario: s}]\n", "thresholds.0: give lateness_threshold_pct, lateness_floor_ms"),
        ("name: x\nthresholds: [{scenario: s, lateness_floor_ms: -1}]\n", "thresholds.0.lateness_floor_ms: -1 is"),
        ("name: x\nthresholds: [{scenario: s, lateness_floor_ms: 1}, {scenario: s, lateness_floor_ms: 2}]\n", "once"),
        ("name: [x\n", "not valid YAML"),
    ],
)
def test_a_bad_baseline_names_the_field_and_the_fix(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(text)
    with pytest.raises(BaselineError) as info:
        load_baseline(path)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}: ")


def test_the_shipped_baseline_fits_the_regression_suite() -> None:
    from harness.campaign.versions import cases_of

    g = gates.gate((20.0, 5.0), SHIPPED, dict(cases_of(REGRESSION)), REGRESSION)
    assert g.baseline is not None and g.baseline.name == "dapr-1.16.0-to-1.18.2"
    assert all(w.reason.strip() and "docs/findings.md" in w.reason for w in g.baseline.waivers)
    assert g.lateness("scheduler-kill-one-of-three") == (50.0, 50.0)


def test_every_regression_and_every_count_a_suite_predicts_can_be_waived() -> None:
    from harness.oracle.baseline import WAIVABLE
    from harness.oracle.changes import GATED
    from harness.scenario.prediction import COUNTS

    assert set(COUNTS) | set(GATED) == set(WAIVABLE)


def test_the_version_page_and_document_say_what_was_waived(tmp_path: Path) -> None:
    from harness.oracle.version_comparison import VersionPair, versions_document
    from harness.report.html.compare import write_versions_html

    g = gate(waiver(), waiver(figure="missed", up_to=0))
    old, new = document(), three_duplicates()
    pairs = [VersionPair("jobs-vs-cron", g.compare(old, new), old, new)]
    page = write_versions_html(tmp_path, "s.yaml", "1.16.0", "1.18.2", pairs).read_text()
    assert "NO REGRESSION (1 WAIVED)" in page
    assert '<td class="l waived">jobs:tick-job: duplicates 1 → 3 (+2)</td>' in page
    assert "waiver unused: jobs-vs-cron jobs:tick-job missed up to 0" in page
    data = versions_document("s.yaml", "1.16.0", "1.18.2", g, pairs)
    assert data["regression"] is False and data["baseline"] == {"name": "b", "path": "b.yaml"}
    assert [w["line"] for w in data["waived"]] == ["jobs:tick-job: duplicates 1 → 3 (+2)"]
    assert [u["figure"] for u in data["waivers_unused"]] == ["missed"]
