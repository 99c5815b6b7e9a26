"""The ledger contract shared by the target app (writer) and ``harness.ledger`` (reader). Stdlib only, no I/O.

Per run, in the run's own Redis:

- ``onceonly:<run>:deliveries`` — a stream; one entry per delivery, field ``d`` = the record's JSON. The stream id
  gives one server clock for all replicas.
- ``onceonly:<run>:attempts:<source>:<name>`` — a counter for "fail the first k deliveries of a name".
- ``onceonly:<run>:effect:naive:<source>:<name>`` — a counter: how many times the naive side effect ran.
- ``onceonly:<run>:effect:idem:<source>:<name>`` — a counter: how many times the idempotent side effect ran,
  guarded by ``…:effect:key:<source>:<name>:<occurrence key>`` set with NX.

If Redis cannot take a record, the app appends it to its replica's local journal (JSON lines) and answers 503,
so Dapr's failure policy delivers again; the reader merges stream and journals and de-duplicates by delivery id.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

STREAM_FIELD = "d"


def deliveries_key(run_id: str) -> str:
    return f"onceonly:{run_id}:deliveries"


def attempts_key(run_id: str, source: str, name: str) -> str:
    return f"onceonly:{run_id}:attempts:{source}:{name}"


def naive_effect_key(run_id: str, source: str, name: str) -> str:
    return f"onceonly:{run_id}:effect:naive:{source}:{name}"


def idempotent_effect_key(run_id: str, source: str, name: str) -> str:
    return f"onceonly:{run_id}:effect:idem:{source}:{name}"


def idempotency_guard_key(run_id: str, source: str, name: str, occurrence: str) -> str:
    return f"onceonly:{run_id}:effect:key:{source}:{name}:{occurrence}"


def effect_pattern(run_id: str) -> str:
    return f"onceonly:{run_id}:effect:*"


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """What the app knows about one delivery when it answers."""

    delivery_id: str
    source: str  # "jobs" | "binding"
    name: str
    replica: int
    pid: int
    received_ns: int
    status: int  # the answer the app gave
    headers: dict[str, str] = field(default_factory=dict)
    body_bytes: int = 0
    ledger: str = "redis"  # "redis", or "journal" when Redis could not take it

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> DeliveryRecord:
        data = json.loads(text)
        return cls(**data)


# Headers worth keeping with a record: what Dapr sends that can tell deliveries apart or trace them.
# (dapr-api-token is checked, never stored.)
KEPT_HEADERS = ("content-type", "traceparent", "tracestate", "timezone", "readtimeutc", "user-agent")
