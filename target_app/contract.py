"""The ledger contract shared by the target app (writer) and ``harness.io.ledger`` (reader). Stdlib only, no I/O.

Every delivery gets two records, joined by its delivery id:

- an **arrival** (``ArrivalRecord``), written the moment the request arrives, before any handler work: who got
  what, when, with which headers;
- an **answer** (``AnswerRecord``), written after the handler and before the HTTP answer: the status, when, and
  which side effects ran.

A delivery with an arrival and no answer was **cut off**: the app died (or the run ended) mid-handler. It reached
business logic all the same. Per run, in the run's own Redis:

- ``onceonly:<run>:deliveries`` — a stream; one entry per record, field ``d`` = the record's JSON, whose ``kind``
  says which (``arrival`` | ``answer``). The stream id gives one server clock for all replicas.
- ``onceonly:<run>:attempts:<source>:<name>`` — a counter for "fail the first k deliveries of a name".
- ``onceonly:<run>:effect:naive:<source>:<name>`` — a counter: how many times the naive side effect ran.
- ``onceonly:<run>:effect:key:<source>:<name>:<occurrence key>`` — the idempotent side effect: set with NX to the
  delivery id that ran it, so it runs once per occurrence key; how many such keys exist is how often it ran.

If Redis cannot take a record, the app appends it to its replica's local journal (JSON lines, the same records)
and answers 503, so Dapr's failure policy delivers again; the reader merges stream and journals and de-duplicates
by (kind, delivery id).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Literal

STREAM_FIELD = "d"
ARRIVAL: Literal["arrival"] = "arrival"
ANSWER: Literal["answer"] = "answer"
EFFECTS = ("naive", "idempotent")


def deliveries_key(run_id: str) -> str:
    return f"onceonly:{run_id}:deliveries"


def attempts_key(run_id: str, source: str, name: str) -> str:
    return f"onceonly:{run_id}:attempts:{source}:{name}"


def naive_effect_key(run_id: str, source: str, name: str) -> str:
    return f"onceonly:{run_id}:effect:naive:{source}:{name}"


def idempotency_guard_key(run_id: str, source: str, name: str, occurrence: str) -> str:
    return f"onceonly:{run_id}:effect:key:{source}:{name}:{occurrence}"


def effect_pattern(run_id: str) -> str:
    return f"onceonly:{run_id}:effect:*"


class RecordError(ValueError):
    """A stream entry or journal line that is not a whole, well-formed record."""


def _dump(kind: str, data: dict[str, Any]) -> str:
    return json.dumps({"kind": kind, **data}, sort_keys=True, separators=(",", ":"))


def as_dict(rec: ArrivalRecord | AnswerRecord) -> dict[str, Any]:
    """The record's fields as JSON-ready data (``dataclasses.asdict`` deep-copies: too slow per delivery); an
    optional field (``OPTIONAL``) only when set, so a record without it has the bytes it always had."""
    data = {name: getattr(rec, name) for name in rec.__slots__}
    if "effects" in data:
        data["effects"] = list(data["effects"])
    for name in OPTIONAL:
        if name in data and not data[name]:
            del data[name]
    return data


@dataclass(frozen=True, slots=True)
class ArrivalRecord:
    """What the app knows about a delivery the moment it arrives (before the fail-first counter, the delay, the
    side effects)."""

    delivery_id: str
    source: str  # "jobs" | "binding"
    name: str
    replica: int
    pid: int
    received_ns: int
    headers: dict[str, str] = field(default_factory=dict)
    body_bytes: int = 0  # the hop writes -1 for a chunked body (its size is known only once it is forwarded)
    ledger: str = "redis"  # "redis", or "journal" when Redis could not take it
    # On Kubernetes, the pod that got it (downward API): "name", "node", "ip", each only when the app was told;
    # written only when set, so a record of a local run has no such field.
    pod: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return _dump(ARRIVAL, as_dict(self))


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """What the app answered a delivery, written after the handler and before the answer goes out."""

    delivery_id: str
    replica: int
    pid: int
    status: int  # the HTTP status the app answered
    answered_ns: int
    effects: tuple[str, ...] = ()  # the side effects that ran: "naive", "idempotent" (the guard let it through)
    ledger: str = "redis"  # "redis", or "journal" when Redis could not take it
    # The answer's body size, written by the recording hop (``hop/``), which forwards a user's app's answer; only
    # when non-zero, so the recorder app's records have the bytes they always had.
    answer_bytes: int = 0

    def to_json(self) -> str:
        return _dump(ANSWER, as_dict(self))


Record = ArrivalRecord | AnswerRecord

# Fields a record may leave out (written only when set; read back as their default when absent).
OPTIONAL = frozenset({"pod", "answer_bytes"})

# The JSON type of each field, from the dataclass's own annotations (strings: ``from __future__ import annotations``).
_JSON_TYPES: dict[str, type] = {"str": str, "int": int, "dict[str, str]": dict, "tuple[str, ...]": list}
_KINDS: dict[str, type[ArrivalRecord] | type[AnswerRecord]] = {ARRIVAL: ArrivalRecord, ANSWER: AnswerRecord}
_SCHEMAS = {kind: {f.name: _JSON_TYPES[str(f.type)] for f in fields(cls)} for kind, cls in _KINDS.items()}


def record_from_json(text: str | bytes) -> Record:
    """The record a stream entry or journal line holds; ``RecordError`` for anything that is not a whole record of
    a known kind with every field of the right type (a torn line, another writer's entry, a future format)."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") not in _KINDS:
        raise RecordError("not a record: no kind arrival or answer")
    kind = data.pop("kind")
    cls, types = _KINDS[kind], _SCHEMAS[kind]
    if not set(types) - OPTIONAL <= set(data) <= set(types):
        raise RecordError(f"{cls.__name__} fields {sorted(data)} are not {sorted(types)}")
    for key, want in types.items():
        if key not in data:
            continue
        value = data[key]
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise RecordError(f"{cls.__name__}.{key} is {value!r}, not {want.__name__}")
    if cls is AnswerRecord:
        data["effects"] = tuple(data["effects"])
    return cls(**data)


# Headers worth keeping with a record: what Dapr sends that can tell deliveries apart or trace them.
# (dapr-api-token is checked, never stored.)
KEPT_HEADERS = ("content-type", "traceparent", "tracestate", "timezone", "readtimeutc", "user-agent")
