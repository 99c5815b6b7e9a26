"""Benchmark: the checker's own error rate, over generated Dapr-like histories whose truth is known.

    uv run python benchmarks/bench_checker_accuracy.py                       # 10,000 histories, jobs and bindings
    uv run python benchmarks/bench_checker_accuracy.py --n 2000 --kind jobs --seed 7

History i is ``benchmarks.histories.generate(seed + i, kind=...)`` (see that module for the Dapr model, the
injections and the truth); each is judged under both policies. Printed:

* a confusion matrix per policy: truth clean (nothing that policy fails on) / anomalous, each split into
  ambiguous-marked or not, against the checker's verdict pass / fail / unknown;
* count accuracy per anomaly kind: among judged histories (verdict not unknown) whose truth defines the count, the
  share where the checker's count equals the truth's (also over the histories where the truth's count is > 0);
* the ambiguity rate, and histories/s (generation and checking apart);
* the seed and description of the first misjudged histories of each error class: clean judged fail, anomalous
  judged pass, unknown where not marked.

Exit code 1 when any of those three error classes occurred (so CI can gate on it), else 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from benchmarks.histories import POLICIES, GeneratedHistory, Truth, generate
from harness.model import Policy, SourceResult, Verdict
from harness.oracle.check import check

ErrorClass = Literal["clean judged fail", "anomalous judged pass", "unknown where not marked"]
ERROR_CLASSES: tuple[ErrorClass, ...] = ("clean judged fail", "anomalous judged pass", "unknown where not marked")
COUNTED = ("duplicates", "missed", "early", "spurious", "retries")
VERDICTS: tuple[Verdict, ...] = ("pass", "fail", "unknown")


@dataclass
class Misjudged:
    history: GeneratedHistory
    policy: Policy
    verdict: Verdict
    got: SourceResult


@dataclass
class Tally:
    matrix: dict[Policy, Counter[tuple[bool, bool, Verdict]]] = field(
        default_factory=lambda: {p: Counter() for p in POLICIES}
    )  # (anomalous, marked, verdict) -> histories
    counts: dict[tuple[Policy, str], list[int]] = field(default_factory=dict)  # [judged, equal, truth>0, equal>0]
    errors: dict[ErrorClass, list[Misjudged]] = field(default_factory=lambda: {e: [] for e in ERROR_CLASSES})
    error_counts: Counter[tuple[ErrorClass, Policy, str]] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    judged: Counter[tuple[Policy, str]] = field(default_factory=Counter)  # (policy, source kind) -> not unknown
    right: Counter[tuple[Policy, str]] = field(default_factory=Counter)  # ... with the truth's verdict
    ambiguous: int = 0
    histories: int = 0
    gen_s: float = 0.0
    check_s: float = 0.0

    def add(self, h: GeneratedHistory, policy: Policy, got: SourceResult) -> None:
        anomalous = h.expected[policy] == "fail"
        self.matrix[policy][(anomalous, h.ambiguous, got.verdict)] += 1
        error: ErrorClass | None = None
        if not anomalous and got.verdict == "fail":
            error = "clean judged fail"
        elif anomalous and got.verdict == "pass":
            error = "anomalous judged pass"
        elif got.verdict == "unknown" and not h.ambiguous:
            error = "unknown where not marked"
        if error is not None:
            self.errors[error].append(Misjudged(h, policy, got.verdict, got))
            self.error_counts[(error, policy, h.kind)] += 1
        if got.verdict == "unknown":
            return
        self.judged[(policy, h.kind)] += 1
        self.right[(policy, h.kind)] += got.verdict == h.expected[policy]
        truth = h.truth[policy]
        for kind in COUNTED:
            want: int | None = getattr(truth, kind)
            if want is None:
                continue
            row = self.counts.setdefault((policy, kind), [0, 0, 0, 0])
            have: int = getattr(got, kind)
            row[0] += 1
            row[1] += have == want
            if want > 0:
                row[2] += 1
                row[3] += have == want


def judge(h: GeneratedHistory, policy: Policy) -> SourceResult:
    result = check(h.input_for(policy))
    name = (h.check_input.jobs or h.check_input.bindings)[0].name
    return next(s for s in result.sources if s.name == name)


def counts_of(t: Truth | SourceResult) -> str:
    parts = []
    for kind in ("duplicates", "missed", "early", "spurious"):
        value = getattr(t, kind)
        parts.append(f"{kind[:3]}={'-' if value is None else value}")
    return " ".join(parts)


def pct(part: int, whole: int) -> str:
    return "-" if whole == 0 else f"{100 * part / whole:.1f}%"


def run(n: int, seed: int, kind: Literal["jobs", "binding", "all"]) -> Tally:
    tally = Tally()
    for i in range(n):
        t0 = time.perf_counter()
        h = generate(seed + i, kind="any" if kind == "all" else kind)
        t1 = time.perf_counter()
        results = {p: judge(h, p) for p in POLICIES}
        t2 = time.perf_counter()
        tally.gen_s += t1 - t0
        tally.check_s += t2 - t1
        tally.histories += 1
        tally.kinds[h.kind] += 1
        tally.ambiguous += h.ambiguous
        for policy, got in results.items():
            tally.add(h, policy, got)
    return tally


def report(tally: Tally, args: argparse.Namespace, out: list[str], show: int) -> None:
    w = out.append
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(tally.kinds.items()))
    w(f"checker accuracy: {tally.histories} histories ({kinds}), seeds {args.seed}..{args.seed + args.n - 1}")
    w(
        f"ambiguous (marked): {tally.ambiguous} = {pct(tally.ambiguous, tally.histories)}; "
        f"generation {tally.histories / max(tally.gen_s, 1e-9):.0f} histories/s, "
        f"checking {tally.histories / max(tally.check_s, 1e-9):.0f} histories/s ({len(POLICIES)} policies each)"
    )
    for policy in POLICIES:
        m = tally.matrix[policy]
        w("")
        w(f"[{policy}] truth \\ verdict          pass     fail  unknown    total")
        for anomalous in (False, True):
            for marked in (False, True):
                cells = [m[(anomalous, marked, v)] for v in VERDICTS]
                label = f"{'anomalous' if anomalous else 'clean'}{' (ambiguous)' if marked else ''}"
                w(f"  {label:<29}{cells[0]:>6} {cells[1]:>8} {cells[2]:>8} {sum(cells):>8}")
        judged = sum(v for (_, _, verdict), v in m.items() if verdict != "unknown")
        right = sum(v for (a, _, verdict), v in m.items() if (verdict == "fail") == a and verdict != "unknown")
        w(f"  verdict accuracy (judged): {pct(right, judged)} of {judged}")
        by_kind = ", ".join(
            f"{kind} {pct(tally.right[(policy, kind)], tally.judged[(policy, kind)])}" for kind in sorted(tally.kinds)
        )
        w(f"  by source: {by_kind}")
        w("  count accuracy (judged)   all judged          where truth > 0")
        for kind in COUNTED:
            row = tally.counts.get((policy, kind))
            if row is None:
                continue
            w(f"    {kind:<12}{pct(row[1], row[0]):>10} of {row[0]:<8}{pct(row[3], row[2]):>10} of {row[2]}")
    w("")
    total = sum(len(v) for v in tally.errors.values())
    w(f"errors: {total} (history, policy) pairs")
    for error in ERROR_CLASSES:
        split = ", ".join(f"{p}/{k} {c}" for (e, p, k), c in sorted(tally.error_counts.items()) if e == error and c)
        w(f"  {error}: {len(tally.errors[error])}{f' ({split})' if split else ''}")
    for error in ERROR_CLASSES:
        by_seed: dict[int, list[Misjudged]] = {}
        for c in tally.errors[error]:
            if c.history.seed in by_seed or len(by_seed) < show:
                by_seed.setdefault(c.history.seed, []).append(c)
        if not by_seed:
            continue
        w("")
        w(f"first {len(by_seed)} histories '{error}':")
        for cases in by_seed.values():
            h = cases[0].history
            flag = " (marked ambiguous)" if h.ambiguous else ""
            w(f"  seed {h.seed}{flag}: {h.description}")
            for c in cases:
                w(f"    {c.policy}: truth {counts_of(h.truth[c.policy])}; checker {c.verdict} {counts_of(c.got)}")
    kind_flag = "" if args.kind == "all" else f", kind={args.kind!r}"
    w("")
    w(f"reproduce one: generate(<seed>{kind_flag}) from benchmarks.histories, then check(h.input_for(policy))")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=10_000, help="histories to generate (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first history (default 0)")
    parser.add_argument("--kind", choices=("jobs", "binding", "all"), default="all", help="sources (default all)")
    parser.add_argument("--show", type=int, default=5, help="misjudged histories printed per error class")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    tally = run(args.n, args.seed, args.kind)
    out: list[str] = []
    report(tally, args, out, args.show)
    print("\n".join(out))
    return 1 if any(tally.errors.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
