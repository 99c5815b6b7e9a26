"""Headless Chromium for the browser tests (Debian's ``chromium``; no driver library): render a page, run its
JavaScript, return the DOM, keep a screenshot, and optionally record Chromium's net log.

Nothing leaves the machine: every host but 127.0.0.1 is unresolvable (``--host-resolver-rules``), so even the
requests Chromium makes on its own (update checks, account lookups; the net log shows them despite
``--disable-background-networking``) fail before any DNS query, and its background services are off.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="chromium is not installed (apt-get install chromium)"
)

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-domain-reliability",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)


def chromium(
    url: str,
    *,
    screenshot: Path | None = None,
    net_log: Path | None = None,
    window: tuple[int, int] = (1400, 900),
    budget_ms: int = 6000,
    extra: Sequence[str] = (),
) -> str:
    """Render ``url`` (its JavaScript runs for ``budget_ms`` of virtual time) and return the DOM as Chromium
    serialises it; with ``screenshot``, also save a PNG of the ``window``; with ``net_log``, Chromium's net log
    of the DOM run (JSON; read it with ``page_requests``)."""
    base = [
        "chromium",
        *FLAGS,
        f"--window-size={window[0]},{window[1]}",
        f"--virtual-time-budget={budget_ms}",
        *extra,
    ]
    if screenshot is not None:
        subprocess.run([*base, f"--screenshot={screenshot}", url], capture_output=True, timeout=90, check=False)
    log = [f"--log-net-log={net_log}", "--net-log-capture-mode=Default"] if net_log is not None else []
    dom = subprocess.run([*base, *log, "--dump-dom", url], capture_output=True, text=True, timeout=90, check=False)
    return dom.stdout


def page_requests(net_log: Path) -> list[str]:
    """The URLs of the network requests the page itself started, from a net log ``chromium(net_log=...)`` wrote.

    A request the page made has the page as initiator (a ``file://`` page's initiator is ``"null"``); those
    Chromium makes on its own say ``"not an origin"``. Loads of ``file://`` URLs never reach the network stack,
    so for a ``file://`` page any URL here is a request that tried to leave the file.
    """
    events = _net_log(net_log)
    names = {v: k for k, v in events["constants"]["logEventTypes"].items()}
    urls = []
    for event in events["events"]:
        params = event.get("params") or {}
        if names.get(event["type"]) != "URL_REQUEST_START_JOB" or "url" not in params:
            continue  # the event's end (no params) or another event
        if params.get("initiator") != "not an origin":
            urls.append(str(params["url"]))
    return urls


def _net_log(path: Path) -> dict[str, Any]:
    text = path.read_text().rstrip()
    try:
        data: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError:  # Chromium ends the file on a clean exit; a killed one leaves the events open
        data = json.loads(text.rstrip(",") + "]}")
    return data
