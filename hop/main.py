"""The hop's two listeners started and held: ``python -m hop`` (options: ``hop/settings.py``).

One hop per replica, beside its daprd and the user's app::

    daprd --app-port <app-listen>  ──▶  hop  ──▶  app on <app-port>        (deliveries recorded: hop.deliveries)
    app with DAPR_HTTP_PORT=<dapr-listen>  ──▶  hop  ──▶  daprd on <dapr-port>   (Jobs API calls: hop.calls)

Each listener is aiohttp's low-level server (its C HTTP parser; no router), and each side has its own client:
a fresh connection per delivery to the app, kept-alive connections to daprd (``hop.relay.upstream_session``).
Headers up to 1 MiB are taken both ways, as Go's servers and clients take them. It prints one line on stdout when
both listen, and stops on SIGTERM or SIGINT. The hop speaks HTTP/1.1 only: an app on daprd's gRPC app channel
(``--app-protocol grpc``) cannot be put behind it (README, "Your own app").

Exit codes: 0 stopped by a signal, 3 a bad setting (the message names it), 4 a listener could not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from hop.calls import CallHop
from hop.deliveries import DeliveryHop
from hop.oplog import OperationLog, RedisOperationLog
from hop.relay import upstream_session
from hop.settings import HopSettings, HopSettingsError
from target_app.recorder import Recorder, RedisRecorder, ledger_client

HEADER_LIMIT = 1 << 20  # bytes of one header line: Go's http.DefaultMaxHeaderBytes, daprd's and most apps' limit


@dataclass(frozen=True, slots=True)
class Listening:
    """The hop, started: the ports it listens on (the ones asked for, or the ones given for port 0)."""

    app_listen: int
    dapr_listen: int
    deliveries: DeliveryHop


def _port(runner: web.BaseRunner) -> int:
    address = runner.addresses[0]
    return int(address[1])


@asynccontextmanager
async def running(settings: HopSettings, recorder: Recorder, oplog: OperationLog) -> AsyncIterator[Listening]:
    """Both listeners up until the block ends, then closed (the clients after them)."""
    app_side = upstream_session(fresh_connections=True)
    dapr_side = upstream_session(fresh_connections=False)
    deliveries = DeliveryHop(app_side, settings.app_url, recorder, settings.replica)
    calls = CallHop(dapr_side, settings.dapr_url, oplog, settings.replica)
    runners: list[web.ServerRunner] = []
    try:
        for handler, port in ((deliveries, settings.app_listen), (calls, settings.dapr_listen)):
            server = web.Server(
                handler,
                auto_decompress=False,
                access_log=None,
                max_line_size=HEADER_LIMIT,
                max_field_size=HEADER_LIMIT,
            )
            runner = web.ServerRunner(server, handle_signals=False)
            await runner.setup()
            runners.append(runner)
            await web.TCPSite(runner, settings.host, port, reuse_address=True).start()
        yield Listening(_port(runners[0]), _port(runners[1]), deliveries)
    finally:
        for runner in runners:
            await runner.cleanup()
        await app_side.close()
        await dapr_side.close()


async def serve(settings: HopSettings) -> None:
    """The hop with the run's ledger, until SIGTERM or SIGINT."""
    client = ledger_client(settings.redis_host, settings.redis_port, settings.redis_password)
    recorder = RedisRecorder(client, settings.run_id, settings.journal)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with running(settings, recorder, RedisOperationLog(client, settings.run_id)) as hop:
            sys.stdout.write(
                f"hop: replica {settings.replica} listening: daprd -> {settings.host}:{hop.app_listen} -> app "
                f"{settings.app_url}; app -> {settings.host}:{hop.dapr_listen} -> daprd {settings.dapr_url}\n"
            )
            sys.stdout.flush()
            await stop.wait()
    finally:
        await recorder.close()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = HopSettings.parse(sys.argv[1:] if argv is None else argv)
    except HopSettingsError as exc:
        sys.stderr.write(f"hop: {exc}\n")
        return 3
    try:
        asyncio.run(serve(settings))
    except OSError as exc:  # a port taken, an address not ours
        sys.stderr.write(f"hop: cannot listen: {exc}\n")
        return 4
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    return 0
