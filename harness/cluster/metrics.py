"""Scrapes Dapr's own counters over HTTP at the end of a run (issue 6, the metrics cross-check).

After quiesce and before the cluster stops (the counters die with the processes), the runner scrapes every
scheduler member's and every daprd's Prometheus endpoint (``scrape``) and keeps the samples that count jobs and
cron-binding deliveries (``relevant_samples``); ``harness.io.store`` writes them to ``dapr_metrics.json`` and
``harness.oracle.crosscheck`` (which says what each counter counts) compares them with the ledger.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from harness.cluster.base import MetricsTarget
from harness.oracle.crosscheck import HTTP_CLIENT, METRICS

# prometheus-client's parser names a counter family without its "_total" and calls every counter sample
# "<family>_total", even when the text says "dapr_component_job_success_count" (no "_total"): match families.
_BY_FAMILY = {name.removesuffix("_total"): name for name in METRICS}
APP_PATHS = ("/job/", "/cron/")  # dapr_http_client_completed_count rows kept: requests to onceonly's handlers


def relevant_samples(text: str) -> list[dict[str, Any]]:
    """The samples of ``METRICS`` in Prometheus text: ``{"metric", "labels", "value"}``, metric named as Dapr
    exposes it; only requests to the app's ``/job/`` and ``/cron/`` handlers of the HTTP client count.

    Raises:
        ValueError: the text is not Prometheus exposition text.
    """
    samples = []
    for family in text_string_to_metric_families(text):
        metric = _BY_FAMILY.get(family.name)
        if metric is None or family.type != "counter":
            continue
        for sample in family.samples:
            if not sample.name.endswith("_total"):  # "_created" timestamps, if an exporter adds them
                continue
            labels = dict(sample.labels)
            if metric == HTTP_CLIENT and not (
                labels.get("method") == "POST" and labels.get("path", "").startswith(APP_PATHS)
            ):
                continue
            samples.append({"metric": metric, "labels": labels, "value": sample.value})
    return samples


def scrape(
    http: httpx.Client, targets: Sequence[MetricsTarget], clock: Callable[[], int] = time.time_ns
) -> list[dict[str, Any]]:
    """GET every target's ``/metrics`` once; one entry per target, with when it was read and what failed."""
    entries = []
    for t in targets:
        entry: dict[str, Any] = {
            "process": t.process,
            "role": t.role,
            "index": t.index,
            "url": t.url,
            "lives": t.lives,
            "started_ns": t.started_ns,
            "version": t.version,
            "scrape_start_ns": None,
            "scrape_end_ns": None,
            "error": t.note or "not running at the end of the run",
            "samples": [],
        }
        if t.url is not None:
            entry["scrape_start_ns"] = clock()
            entry["error"], entry["samples"] = _read(http, t.url)
            entry["scrape_end_ns"] = clock()
        entries.append(entry)
    return entries


def _read(http: httpx.Client, url: str) -> tuple[str | None, list[dict[str, Any]]]:
    try:
        resp = http.get(url, timeout=5.0)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__} on {url}", []
    if resp.status_code != 200:
        return f"{url} answered {resp.status_code}", []
    try:
        return None, relevant_samples(resp.text)
    except ValueError as exc:
        return f"{url} is not Prometheus text ({exc})", []
