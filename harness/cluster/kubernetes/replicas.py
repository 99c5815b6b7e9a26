"""Pods as replica indices: the ledger, the faults and the oracle speak of replica 0, 1, 2 ...; a Deployment's pods
have random names and a replaced pod is a new one.

An index is given to a pod the first time it is seen (pods first seen together: by creation time, then name) and
never reused: a replacement pod (a deleted pod's successor, a scaled-up one, a rolling restart's) is a new index.
Times mean what ``LocalCluster``'s mean (``harness.cluster.base.Cluster``):

- ``lifetimes``: index -> (ready since, removed at) for a pod added after the start (ready since: its Ready
  condition's time) and for any pod removed (an initial pod has ready since 0, as the local cluster's);
- ``removed``: index -> when the pod was surely gone (no longer listed by the API, the first time that was seen).

"removed at" is when its deletion began (the harness's own delete, or a deletionTimestamp first seen).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from harness.cluster.kubernetes.api import PodView
from harness.cluster.kubernetes.images import image_version
from harness.cluster.kubernetes.signals import CONTAINERS
from harness.io.pods import PodRow

DAPRD = CONTAINERS["daprd"]


@dataclass
class Tracked:
    index: int
    pod: PodView
    initial: bool
    ready_ns: int | None = None
    removed_at: int | None = None  # deletion began
    seen_at: int | None = None  # the last listing that had it, not deleting
    gone_at: int | None = None  # no longer listed
    seen_in: str = "api"  # "api", or "ledger": named only by arrival records, never listed by the harness


class ReplicaMap:
    """Pod name -> replica index, and each index's lifetime, from successive pod listings (``observe``)."""

    def __init__(self) -> None:
        self._by_name: dict[str, Tracked] = {}
        self._started = False

    def observe(self, pods: Iterable[PodView], now_ns: int) -> None:
        """A listing of the app's pods at ``now_ns``: new pods get the next indices; a pod deleting is removed
        from when its deletion was asked (unless known earlier; ``now_ns`` if that is not known); a known pod
        missing from the listing is gone at ``now_ns``, and removed from when it was last listed alive if it was
        never listed deleting (its deletion was asked some time after that)."""
        listed = {p.name: p for p in pods}
        new = sorted((p for p in listed.values() if p.name not in self._by_name), key=lambda p: (p.created_ns, p.name))
        for fresh in new:
            self._by_name[fresh.name] = Tracked(len(self._by_name), fresh, initial=not self._started)
        for name, t in self._by_name.items():
            pod = listed.get(name)
            if pod is None:
                if t.seen_in == "api" and t.gone_at is None:
                    # never listed deleting: its deletion began at some time after it was last listed alive
                    t.removed_at = t.removed_at or t.seen_at or now_ns
                    t.gone_at = now_ns
                continue
            t.pod = pod
            if not pod.deleting:
                t.seen_at = now_ns
            if pod.ready and t.ready_ns is None:
                t.ready_ns = pod.ready_ns or now_ns
            if pod.deleting and t.removed_at is None:  # from when it was asked: a rollout's deletes are not ours
                t.removed_at = min(now_ns, pod.deletion_asked_ns or now_ns)

    def started(self) -> None:
        """The cluster is ready: pods seen from now on were added during the run (they get a lifetime)."""
        self._started = True

    def removing(self, name: str, now_ns: int) -> None:
        """The harness is deleting pod ``name`` now."""
        t = self._by_name.get(name)
        if t is not None and t.removed_at is None:
            t.removed_at = now_ns

    def index_of(self, name: str) -> int:
        """The index of pod ``name``; a pod never listed (named only by the ledger) gets the next index."""
        t = self._by_name.get(name)
        if t is None:
            t = Tracked(len(self._by_name), PodView(name), initial=False, seen_in="ledger")
            self._by_name[name] = t
        return t.index

    def pod_of(self, index: int) -> PodView | None:
        return next((t.pod for t in self._by_name.values() if t.index == index), None)

    def live(self) -> dict[int, PodView]:
        """Index -> pod for every pod listed, not deleting, running and Ready."""
        return {
            t.index: t.pod
            for t in self._by_name.values()
            if t.seen_in == "api" and t.removed_at is None and t.pod.phase == "Running" and t.pod.ready
        }

    def present(self) -> dict[int, PodView]:
        """Index -> pod for every pod listed and not deleting (ready or not)."""
        return {t.index: t.pod for t in self._by_name.values() if t.seen_in == "api" and t.removed_at is None}

    @property
    def lifetimes(self) -> dict[int, tuple[int, int | None]]:
        found: dict[int, tuple[int, int | None]] = {}
        for t in self._by_name.values():
            if t.seen_in != "api" or (t.initial and t.removed_at is None):
                continue
            since = 0 if t.initial else (t.ready_ns or t.pod.created_ns)
            found[t.index] = (since, t.removed_at)
        return found

    @property
    def removed(self) -> dict[int, int]:
        return {t.index: t.gone_at for t in self._by_name.values() if t.gone_at is not None}

    def rows(self) -> list[PodRow]:
        """Every index as ``pods.json`` records it."""
        return [
            PodRow(
                replica=t.index,
                name=t.pod.name,
                node=t.pod.node,
                ip=t.pod.ip,
                uid=t.pod.uid,
                created_ns=t.pod.created_ns or None,
                ready_ns=t.ready_ns,
                removed_ns=t.removed_at,
                gone_ns=t.gone_at,
                initial=t.initial,
                seen_in=t.seen_in,
                daprd_version=image_version(t.pod.images[DAPRD]) if DAPRD in t.pod.images else None,
            )
            for t in sorted(self._by_name.values(), key=lambda t: t.index)
        ]

    def names(self) -> Mapping[str, int]:
        return {name: t.index for name, t in self._by_name.items()}
