"""The hop's settings, from its command line with the environment as the fallback (read once, at start-up).

``python -m hop --app-listen 6001 --app-port 6000 --dapr-listen 3501 --dapr-port 3500 --replica 0 --run-id r1
--redis-port 6379 --journal /tmp/r0.jsonl``, or the same through the environment:

==================  ===========================  ===========================================================
option              variable                     what it is
==================  ===========================  ===========================================================
``--app-listen``    ``ONCEONLY_HOP_APP_LISTEN``  the port daprd's ``--app-port`` points at (daprd → hop)
``--app-port``      ``ONCEONLY_HOP_APP_PORT``    the user's app's own port (hop → app)
``--dapr-listen``   ``ONCEONLY_HOP_DAPR_LISTEN`` the port the app's ``DAPR_HTTP_PORT`` points at (app → hop)
``--dapr-port``     ``ONCEONLY_HOP_DAPR_PORT``   daprd's own HTTP port (hop → daprd)
``--host``          ``ONCEONLY_HOP_HOST``        the address of all four (default 127.0.0.1)
``--replica``       ``ONCEONLY_REPLICA``         the replica index, in every record
``--run-id``        ``ONCEONLY_RUN_ID``          the run whose ledger the records go to
``--redis-host``    ``ONCEONLY_REDIS_HOST``      the ledger's Redis (default 127.0.0.1)
``--redis-port``    ``ONCEONLY_REDIS_PORT``
``--journal``       ``ONCEONLY_JOURNAL``         the replica's journal, for records Redis cannot take
(none)              ``ONCEONLY_REDIS_PASSWORD``  the ledger's password: never on a command line
==================  ===========================  ===========================================================

Every one is required but ``--host``, ``--redis-host`` and the password: the hop exists to record, so it does not
start without a ledger.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class HopSettingsError(ValueError):
    """A setting missing or malformed: the message names it and how to give it."""


# option -> (environment variable, what it takes); each option's value is its own type below
_OPTIONS: dict[str, tuple[str, str]] = {
    "app-listen": ("ONCEONLY_HOP_APP_LISTEN", "PORT"),
    "app-port": ("ONCEONLY_HOP_APP_PORT", "PORT"),
    "dapr-listen": ("ONCEONLY_HOP_DAPR_LISTEN", "PORT"),
    "dapr-port": ("ONCEONLY_HOP_DAPR_PORT", "PORT"),
    "host": ("ONCEONLY_HOP_HOST", "ADDRESS"),
    "replica": ("ONCEONLY_REPLICA", "INDEX"),
    "run-id": ("ONCEONLY_RUN_ID", "RUN"),
    "redis-host": ("ONCEONLY_REDIS_HOST", "ADDRESS"),
    "redis-port": ("ONCEONLY_REDIS_PORT", "PORT"),
    "journal": ("ONCEONLY_JOURNAL", "FILE"),
}
_DEFAULTS = {"host": "127.0.0.1", "redis-host": "127.0.0.1"}


@dataclass(frozen=True, slots=True)
class HopSettings:
    app_listen: int
    app_port: int
    dapr_listen: int
    dapr_port: int
    replica: int
    run_id: str
    redis_port: int
    journal: Path
    host: str = "127.0.0.1"
    redis_host: str = "127.0.0.1"
    redis_password: str | None = None

    @property
    def app_url(self) -> str:
        return f"http://{self.host}:{self.app_port}"

    @property
    def dapr_url(self) -> str:
        return f"http://{self.host}:{self.dapr_port}"

    @classmethod
    def parse(cls, argv: Sequence[str], environ: Mapping[str, str] | None = None) -> HopSettings:
        """The settings from ``argv`` (without the program name), each missing one from ``environ``."""
        env = os.environ if environ is None else environ
        parser = argparse.ArgumentParser(prog="python -m hop", description="The recording hop (one per replica).")
        for option, (variable, metavar) in _OPTIONS.items():
            parser.add_argument(f"--{option}", metavar=metavar, help=f"(or ${variable})")
        given = vars(parser.parse_args(list(argv)))
        values: dict[str, str] = {}
        for option, (variable, _metavar) in _OPTIONS.items():
            value = given[option.replace("-", "_")] or env.get(variable) or _DEFAULTS.get(option)
            if value is None:
                raise HopSettingsError(f"--{option} is missing: give it, or set {variable}")
            values[option] = value

        def number(option: str, low: int, high: int) -> int:
            raw = values[option]
            try:
                value = int(raw)
            except ValueError:
                raise HopSettingsError(f"--{option} is {raw!r}, not a number from {low} to {high}") from None
            if not low <= value <= high:
                raise HopSettingsError(f"--{option} is {value}, not a number from {low} to {high}")
            return value

        ports = {option: number(option, 1, 65535) for option in ("app-listen", "app-port", "dapr-listen", "dapr-port")}
        if len(set(ports.values())) < len(ports):
            raise HopSettingsError(f"the hop's four ports must differ (a port given twice would loop): {ports}")
        return cls(
            app_listen=ports["app-listen"],
            app_port=ports["app-port"],
            dapr_listen=ports["dapr-listen"],
            dapr_port=ports["dapr-port"],
            replica=number("replica", 0, 1_000_000),
            run_id=values["run-id"],
            redis_port=number("redis-port", 1, 65535),
            journal=Path(values["journal"]),
            host=values["host"],
            redis_host=values["redis-host"],
            redis_password=env.get("ONCEONLY_REDIS_PASSWORD") or None,
        )
