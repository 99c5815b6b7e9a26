"""The target app's settings, read from the environment once at start-up (the only place it reads env).

The cluster backend sets these for every replica:

- ``ONCEONLY_REPLICA``: the replica index, stamped on every delivery (required);
- ``ONCEONLY_APP_TOKEN``: the ``APP_API_TOKEN`` its daprd sends as ``dapr-api-token``; when set, a delivery
  without it is refused with 401 and not recorded;
- ``ONCEONLY_RUN_ID``, ``ONCEONLY_REDIS_PORT``, ``ONCEONLY_REDIS_PASSWORD``: the run's ledger (Redis on
  ``ONCEONLY_REDIS_HOST``, default 127.0.0.1); without a run id the app records nothing but its log line
  (``onceonly up`` without a ledger);
- ``ONCEONLY_POD_NAME``, ``ONCEONLY_NODE_NAME``, ``ONCEONLY_POD_IP`` (optional; Kubernetes sets them from the
  downward API, ``k8s/base/app.yaml``): the pod's identity, in every arrival record's ``pod`` when set;
- ``ONCEONLY_JOURNAL``: the replica's local journal file, used when Redis cannot take a record;
- ``ONCEONLY_BEHAVIOUR``: JSON of ``Behaviour`` (how to answer during this run).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

SideEffect = Literal["naive", "idempotent", "both"]


class SettingsError(ValueError):
    pass


# The pod identity the app records (arrival records' ``pod``): its key there, by the variable that gives it.
POD_IDENTITY = {"ONCEONLY_POD_NAME": "name", "ONCEONLY_NODE_NAME": "node", "ONCEONLY_POD_IP": "ip"}


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How the app answers deliveries during a run."""

    delay_ms: int = 0  # handler delay before answering
    status: int = 200  # the answer, when not failing on purpose
    fail_first: int = 0  # answer 500 to the first k deliveries of each (source, name), counted across replicas
    side_effect: SideEffect = "both"  # which "cleanup ran" side effects to run on a successful delivery
    effect_window_ms: int = 1000  # the idempotent side effect's occurrence key: received time // window
    bodies: dict[str, Any] = field(default_factory=dict)  # job name -> JSON body answered (e.g. {"status": "RETRY"})

    @classmethod
    def from_json(cls, text: str) -> Behaviour:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise SettingsError(f"ONCEONLY_BEHAVIOUR has unknown keys {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps({f.name: getattr(self, f.name) for f in fields(self)}, sort_keys=True)


@dataclass(frozen=True, slots=True)
class Settings:
    replica: int
    app_token: str | None = None
    run_id: str | None = None
    redis_port: int | None = None
    redis_password: str | None = None
    journal: Path | None = None
    behaviour: Behaviour = field(default_factory=Behaviour)
    redis_host: str = "127.0.0.1"
    pod: dict[str, str] = field(default_factory=dict)  # "name", "node", "ip": only those the environment gives

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        raw = env.get("ONCEONLY_REPLICA")
        if raw is None:
            raise SettingsError("ONCEONLY_REPLICA is missing, and has no default (the replica index, e.g. 0)")
        try:
            replica = int(raw)
        except ValueError:
            raise SettingsError(f"ONCEONLY_REPLICA has value {raw!r}, not an integer") from None
        port = env.get("ONCEONLY_REDIS_PORT")
        journal = env.get("ONCEONLY_JOURNAL")
        behaviour = env.get("ONCEONLY_BEHAVIOUR")
        return cls(
            replica=replica,
            app_token=env.get("ONCEONLY_APP_TOKEN") or None,
            run_id=env.get("ONCEONLY_RUN_ID") or None,
            redis_port=int(port) if port else None,
            redis_password=env.get("ONCEONLY_REDIS_PASSWORD") or None,
            journal=Path(journal) if journal else None,
            behaviour=Behaviour.from_json(behaviour) if behaviour else Behaviour(),
            redis_host=env.get("ONCEONLY_REDIS_HOST") or "127.0.0.1",
            pod={key: env[var] for var, key in POD_IDENTITY.items() if env.get(var)},
        )
