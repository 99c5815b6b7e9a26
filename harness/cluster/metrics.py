"""Scrapes Dapr's own counters over HTTP at the end of a run (issue 6, the metrics cross-check).

After quiesce and before the cluster stops (the counters die with the processes), the runner scrapes every
scheduler member's and every daprd's Prometheus endpoint (``scrape``) and keeps the samples that count jobs and
cron-binding deliveries (``relevant_samples``); ``harness.io.store`` writes them to ``dapr_metrics.json`` and
``harness.oracle.crosscheck`` (which says what each counter counts) compares them with the ledger.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import httpx
from prometheus_client.parser import text_string_to_metric_families

from harness.model import NS
from harness.oracle.crosscheck import HTTP_CLIENT, METRICS

if TYPE_CHECKING:
    from harness.cluster.local.cluster import LocalCluster

# prometheus-client's parser names a counter family without its "_total" and calls every counter sample
# "<family>_total", even when the text says "dapr_component_job_success_count" (no "_total"): match families.
_BY_FAMILY = {name.removesuffix("_total"): name for name in METRICS}
APP_PATHS = ("/job/", "/cron/")  # dapr_http_client_completed_count rows kept: requests to onceonly's handlers

Role = Literal["scheduler", "daprd"]


@dataclass(frozen=True, slots=True)
class Target:
    """One process to scrape. ``url`` None: not running at the end of the run (``note`` says why)."""

    process: str  # "scheduler-0", "daprd-2"
    role: Role
    index: int  # member or replica index
    url: str | None
    lives: int  # how many times it was started during the run (a restart loses its counters)
    started_ns: int | None  # when its last life started
    note: str = ""
    version: str | None = None  # the Dapr version it runs (its last life's: a rolling upgrade switches members)


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
    http: httpx.Client, targets: Sequence[Target], clock: Callable[[], int] = time.time_ns
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


def targets_of(cluster: LocalCluster) -> list[Target]:
    """Every scheduler member and every replica's daprd the run had, with its lives and its last start."""
    sup = cluster.supervisor
    lives = Counter(c.name for c in sup.history)
    now_ns, now = time.time_ns(), time.monotonic()
    targets = []

    def target(name: str, role: Role, index: int, port: int, version: str) -> Target:
        child = sup.children.get(name)
        started = None if child is None else now_ns - int((now - child.started_at) * NS)
        alive = child is not None and child.alive()
        url = f"http://127.0.0.1:{port}/metrics" if alive else None
        note = "" if alive else "not running at the end"
        return Target(name, role, index, url, lives[name], started, note, version)

    for member in cluster.schedulers:
        version = cluster.scheduler_binaries(member.index).scheduler_version
        targets.append(target(member.name, "scheduler", member.index, member.metrics_port, version))
    for index in sorted(set(cluster.replicas) | set(cluster.lifetimes)):
        replica = cluster.replicas.get(index)
        if replica is None:
            gone = cluster.lifetimes[index][1]
            when = "" if gone is None else f" at {time.strftime('%H:%M:%S', time.gmtime(gone // NS))}Z"
            targets.append(
                Target(
                    f"daprd-{index}",
                    "daprd",
                    index,
                    None,
                    lives[f"daprd-{index}"],
                    None,
                    f"removed by scale{when}: its counters went with it",
                )
            )
            continue
        version = cluster.daprd_binaries(index).daprd_version
        targets.append(target(replica.daprd_name, "daprd", index, replica.metrics_port, version))
    return targets
