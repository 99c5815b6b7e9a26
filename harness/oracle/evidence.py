"""What the oracle judges: ``CheckInput``, everything one run left as evidence, and the tolerances it is read with.

Pure data (``harness.oracle.check`` judges it). Times are int ns since the epoch on the host clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from harness.model import NS, BindingPlan, Delivery, JobPlan, Operation, ReplicaWindow
from harness.oracle.claims import ActionClaim

DEFAULT_EARLY_TOLERANCE_NS = 5_000_000
DEFAULT_DELETE_GRACE_NS = NS


@dataclass(frozen=True, slots=True)
class CheckInput:
    """Everything the oracle judges."""

    jobs: Sequence[JobPlan]
    bindings: Sequence[BindingPlan]
    deliveries: Sequence[Delivery]
    operations: Sequence[Operation]
    windows: Sequence[ReplicaWindow]  # when each replica could surely receive (expected binding ticks)
    observe_start_ns: int
    observe_end_ns: int  # occurrences due later are not expected; deliveries until the end of quiesce count
    replicas: int
    side_effects: Mapping[tuple[str, str], Mapping[str, int]] = field(default_factory=dict)  # (source, name) ->
    lateness_p99_ms: float | None = None
    early_tolerance_ns: int = DEFAULT_EARLY_TOLERANCE_NS
    delete_grace_ns: int = DEFAULT_DELETE_GRACE_NS
    op_plans: Mapping[str, JobPlan] = field(default_factory=dict)  # schedule op_id -> the plan it asked for
    actions: Sequence[ActionClaim] = ()  # the scenario's mid-run job actions, with their calls' op_ids
    ledger_gaps: Sequence[str] = ()  # why the ledger may be incomplete (torn journal line, unreadable journal, ...)
    down: Sequence[ReplicaWindow] = ()  # when a replica was surely down or gone: a delivery from it then is a zombie
