"""Load on the Jobs API, run only as ``locust -f harness/load/locustfile.py`` in a subprocess of onceonly.

Importing locust monkey-patches the whole process with gevent, so nothing in onceonly imports this module. It
reads its configuration from ``ONCEONLY_LOAD_CONFIG`` (``harness.load.workload.LoadConfig``; secrets from two more
environment variables) and:

- runs ``JobsUser``s that create one-shot and recurring jobs (names ``load-<user>-<n>``, ``load-w<i>-<user>-<n>``
  in worker ``i``), overwrite, get and delete their own recurring jobs, each through one of the replicas' daprds,
  in turn. Every call goes through ``harness.io.jobs_client.JobsClient`` with the ledger as its recorder, exactly as
  the harness's own calls, and is reported to Locust as a request (name = what was done) so Locust charts call
  latency and failures;
- follows the run's delivery stream in a greenlet wherever users run: each delivery of a load job is reported as a
  request of type ``TRIGGER`` whose response time is its lateness (so Locust charts trigger lateness next to call
  latency), and a delivery beyond what the job should get as a failed ``TRIGGER duplicate``;
- adds an ``onceonly`` tab to Locust's web UI (its ``extended_tabs`` extension point) with the live tally:
  jobs created, deliveries, duplicates and missed so far, lateness p50/p99 (``harness.load.tally``);
- in headless mode, runs the scenario's stages (``StagesShape``) and stops after the last one.

Distributed (``onceonly load --workers N``: one ``--master``, N ``--worker`` processes, ``harness.load.process``):
the master runs the stages and the web UI, the workers run the users and follow the stream. Requests reach the
master's stats (and CSVs) through Locust's own worker reports; each worker adds its tally's snapshot to those
reports and the master's tab shows their sum (``harness.load.tally.MergedTally``).

The verdict is not made here: after the run the oracle accounts for every job from the ledger.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import gevent  # type: ignore[import-untyped]
import httpx
import redis
from flask import Response, request
from locust import LoadTestShape, User, constant, events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from harness.io.jobs_client import JobsClient
from harness.io.ledger import Ledger
from harness.load.tally import REPORT_KEY, LiveTally, MergedTally
from harness.load.workload import (
    CONFIG_ENV,
    REDIS_PASSWORD_ENV,
    TOKEN_ENV,
    WORKER_ENV,
    LoadConfig,
    job_prefix,
    ledger_client,
    stage_at,
)
from harness.model import Operation
from target_app.contract import STREAM_FIELD, ArrivalRecord, RecordError, deliveries_key, record_from_json

if CONFIG_ENV not in os.environ:
    raise SystemExit(f"{CONFIG_ENV} is not set: this locustfile is started by `onceonly load` / `onceonly run`")
CONFIG = LoadConfig.read(Path(os.environ[CONFIG_ENV]))
REDIS = ledger_client(CONFIG.redis_port, os.environ.get(REDIS_PASSWORD_ENV))
LEDGER = Ledger(REDIS, CONFIG.run_id)
TALLY = LiveTally()  # this process's users' jobs
MERGED = MergedTally()  # the master's: the workers' tallies
PREFIX = job_prefix(os.environ.get(WORKER_ENV))
LOAD_S = sum(stage["duration_s"] for stage in CONFIG.stages)
WIND_DOWN_S = 3.0  # after the stages, users make no new call for this long, then the test stops
_user_ids = itertools.count()
_started_at: float | None = None  # when this process saw the test start (a worker: the master's first spawn)
_view = lambda: TALLY.rows(time.time_ns())  # noqa: E731 (the onceonly tab's rows; the master's are MERGED's)


class JobsUser(User):
    """One simulated client of the Jobs API."""

    wait_time = constant(CONFIG.wait_s)

    def on_start(self) -> None:
        self.uid = next(_user_ids)
        self.count = itertools.count()
        self.http = httpx.Client(timeout=35.0)
        self.clients = [
            JobsClient(self.http, url, os.environ.get(TOKEN_ENV, ""), CONFIG.stable_api, LEDGER.record_op)
            for url in CONFIG.dapr_urls
        ]
        self.turn = itertools.cycle(range(len(self.clients)))
        self.recurring: list[str] = []

    def on_stop(self) -> None:
        self.http.close()

    def _done(self) -> bool:
        """The stages are over: make no new call (the shape stops the test a little later).

        Timed from the test's start as this process saw it, not by the shape's clock: a worker's copy of the shape
        is never reset (only the master's runs), so its clock started when the worker did, before the test."""
        return _started_at is not None and time.monotonic() - _started_at >= LOAD_S

    def _client(self) -> JobsClient:
        return self.clients[next(self.turn)]

    def _report(self, method: str, what: str, started: float, op: Operation) -> None:
        failed = None if op.phase == "ok" else RuntimeError(f"{op.phase}: {json.dumps(op.detail)[:200]}")
        self.environment.events.request.fire(
            request_type=method,
            name=what,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=failed,
            context={},
        )

    def one_shot(self) -> None:
        if self._done():
            return None
        name = f"{PREFIX}{self.uid}-{next(self.count)}"
        started, at_ns = time.perf_counter(), time.time_ns()
        TALLY.created(name, "one-shot", at_ns, due_in_s=CONFIG.due_in_s, every_s=CONFIG.every_s, repeats=1)
        op = self._client().schedule(name, due_time=f"{CONFIG.due_in_s:g}s", data={"job": name})
        self._report("POST", "schedule one-shot", started, op)

    def recurring_job(self) -> None:
        if self._done():
            return None
        name = f"{PREFIX}{self.uid}-{next(self.count)}"
        started, at_ns = time.perf_counter(), time.time_ns()
        TALLY.created(
            name, "recurring", at_ns, due_in_s=CONFIG.due_in_s, every_s=CONFIG.every_s, repeats=CONFIG.repeats
        )
        op = self._client().schedule(
            name, schedule=f"@every {CONFIG.every_s:g}s", repeats=CONFIG.repeats, data={"job": name}
        )
        self._report("POST", "schedule recurring", started, op)
        if op.phase == "ok":
            self.recurring.append(name)

    def overwrite(self) -> None:
        if self._done():
            return None
        if not self.recurring:
            return self.one_shot()
        name = random.choice(self.recurring)
        started = time.perf_counter()
        TALLY.retired(name)
        op = self._client().schedule(
            name,
            schedule=f"@every {CONFIG.every_s:g}s",
            repeats=CONFIG.repeats,
            data={"job": name},
            overwrite=True,
        )
        self._report("POST", "overwrite recurring", started, op)

    def get(self) -> None:
        if self._done():
            return None
        if not self.recurring:
            return self.one_shot()
        started = time.perf_counter()
        op, _job = self._client().get(random.choice(self.recurring))
        if op.phase != "ok" and op.detail.get("not_found"):
            op = Operation(op.op_id, op.kind, op.name, "ok", op.at_ns, op.detail)  # finished jobs are gone: fine
        self._report("GET", "get recurring", started, op)

    def delete(self) -> None:
        if self._done():
            return None
        if not self.recurring:
            return self.one_shot()
        name = self.recurring.pop(random.randrange(len(self.recurring)))
        started = time.perf_counter()
        TALLY.retired(name)
        op = self._client().delete(name)
        self._report("DELETE", "delete recurring", started, op)


_WEIGHTS = {
    JobsUser.one_shot: CONFIG.mix.get("one_shot", 0),
    JobsUser.recurring_job: CONFIG.mix.get("recurring", 0),
    JobsUser.overwrite: CONFIG.mix.get("overwrite", 0),
    JobsUser.get: CONFIG.mix.get("get", 0),
    JobsUser.delete: CONFIG.mix.get("delete", 0),
}
JobsUser.tasks = {fn: weight for fn, weight in _WEIGHTS.items() if weight > 0}  # type: ignore[assignment]


class StagesShape(LoadTestShape):
    """The scenario's load stages; the test stops after the last one (also under the web UI: --autostart).

    Stopping kills users where they are, and a call cut in flight has no recorded outcome (the oracle would have
    to call its job unknown), so the last stage is held ``WIND_DOWN_S`` longer while users make no new call.
    """

    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        if LOAD_S <= elapsed < LOAD_S + WIND_DOWN_S:
            return stage_at(CONFIG.stages, LOAD_S - 1e-6)
        return stage_at(CONFIG.stages, elapsed)


def _follow_deliveries(environment: Environment) -> None:
    """Report every delivery of a load job to Locust as a TRIGGER request whose response time is its lateness."""
    key, last = deliveries_key(CONFIG.run_id), "0-0"
    while True:
        try:
            batches: Any = REDIS.xread({key: last}, count=500, block=1000)
        except redis.RedisError:
            gevent.sleep(1.0)
            continue
        for _stream, entries in batches or []:
            for entry_id, fields in entries:
                last = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
                try:
                    rec = record_from_json(fields[STREAM_FIELD.encode()])
                except (KeyError, RecordError):
                    continue  # the ledger counts it as a gap; the live view only skips it
                if not isinstance(rec, ArrivalRecord):
                    continue  # an answer: the delivery was counted when it arrived
                seen = TALLY.delivered(rec.name, rec.received_ns)
                if seen is None:
                    continue
                kind, lateness_ms, duplicate = seen
                environment.events.request.fire(
                    request_type="TRIGGER",
                    name="duplicate" if duplicate else f"{kind} lateness",
                    response_time=max(0.0, lateness_ms),
                    response_length=0,
                    exception=RuntimeError(f"duplicate delivery of {rec.name}") if duplicate else None,
                    context={},
                )


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    global _started_at
    _started_at = time.monotonic()


@events.init.add_listener
def _on_init(environment: Environment, **_kwargs: Any) -> None:
    global _view
    runner = environment.runner
    if isinstance(runner, MasterRunner):  # no users here: the workers' tallies, as their reports bring them
        environment.events.worker_report.add_listener(lambda client_id, data, **_kw: MERGED.add(client_id, data))
        _view = MERGED.rows
    else:
        gevent.spawn(_follow_deliveries, environment)
    if isinstance(runner, WorkerRunner):
        environment.events.report_to_master.add_listener(
            lambda client_id, data, **_kw: data.update({REPORT_KEY: TALLY.snapshot(time.time_ns())})
        )
    web_ui = environment.web_ui
    if web_ui is None or web_ui.app is None:
        return
    app = web_ui.app
    web_ui.template_args["extended_tabs"] = [{"title": "onceonly", "key": "onceonly"}]
    web_ui.template_args["extended_tables"] = [
        {"key": "onceonly", "structure": [{"key": "metric", "title": "onceonly"}, {"key": "value", "title": "so far"}]}
    ]

    @app.after_request
    def _extend_stats(response: Response) -> Response:
        if request.path != "/stats/requests" or not response.is_json:
            return response
        data = response.get_json()
        data["extended_stats"] = [{"key": "onceonly", "data": _view()}]
        response.set_data(json.dumps(data))
        return response

    @app.route("/onceonly/live")
    def _live() -> Response:
        return Response(json.dumps(_view()), mimetype="application/json")


@events.quitting.add_listener
def _on_quit(environment: Environment, **_kwargs: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return  # the master writes the whole tally
    path = Path(os.environ[CONFIG_ENV]).with_name("live.json")
    path.write_text(json.dumps(_view(), indent=1) + "\n")
