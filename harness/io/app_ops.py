"""The Jobs API calls a user's own app made, as its hops recorded them (``onceonly:<run>:app-ops``), read back.

The stream holds the same rows as the harness's own ``ops`` (``target_app.operations``), each invoke row naming
the replica whose app made the call (``detail["replica"]``), so one parser serves both
(``harness.io.ledger.operation_from_json``). Kept apart from ``ops`` in ``history.json`` (``app_operations``):
the judge merges them where a job's plan is rebuilt, the reports show them as the start-up race.
"""

from __future__ import annotations

from typing import cast

import redis

from harness.io.ledger import operation_from_json
from harness.model import Operation
from target_app.operations import OPS_FIELD, app_operations_key


def app_operations(client: redis.Redis, run_id: str) -> list[Operation]:
    """Every recorded call of the run's user apps, in the order the hops wrote them."""
    rows = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(app_operations_key(run_id)) or [])
    return [operation_from_json(fields[OPS_FIELD.encode()]) for _id, fields in rows if OPS_FIELD.encode() in fields]


def app_job_names(operations: list[Operation]) -> list[str]:
    """The jobs the apps asked to schedule (whatever the answer), in first-call order: the runner deletes them at
    the end of the observation, as it deletes the scenario's."""
    names: dict[str, None] = {}
    for op in operations:
        if op.kind == "schedule":
            names.setdefault(op.name, None)
    return list(names)
