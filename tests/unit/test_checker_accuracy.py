"""The checker against Dapr-like histories whose truth is known (benchmarks/histories.py), several anomaly kinds
mixed in one history: a clean truth is never judged fail, an anomalous truth never judged pass, and *unknown* only
where the generator marked the history ambiguous. bench_checker_accuracy.py measures the same over 10,000
histories; these keep the property in the unit suite."""

from __future__ import annotations

import random

from hypothesis import example, given, settings
from hypothesis import strategies as st

from benchmarks.histories import (
    BINDING_INJECTIONS,
    BINDING_SHAPES,
    HANDLER_REGIMES,
    JOB_INJECTIONS,
    JOB_SHAPES,
    POLICIES,
    BindingShape,
    GeneratedHistory,
    generate,
)
from harness.model import Policy, SourceResult
from harness.oracle.check import check


def judged(h: GeneratedHistory) -> dict[Policy, SourceResult]:
    out: dict[Policy, SourceResult] = {}
    for policy in POLICIES:
        result = check(h.input_for(policy))
        (out[policy],) = result.sources
    return out


def assert_follows_the_truth(h: GeneratedHistory) -> None:
    for policy, got in judged(h).items():
        truth, expected = h.truth[policy], h.expected[policy]
        case = (
            f"seed {h.seed} {policy}: expected {expected}, got {got.verdict}; truth {truth}; checker "
            f"dup={got.duplicates} missed={got.missed} early={got.early} spurious={got.spurious}\n"
            f"{h.description}\n" + "\n".join(h.trace)
        )
        assert not (expected == "pass" and got.verdict == "fail"), "clean judged fail: " + case
        assert not (expected == "fail" and got.verdict == "pass"), "anomalous judged pass: " + case
        assert h.ambiguous or got.verdict != "unknown", "unknown where not marked ambiguous: " + case


# The job histories the checker still misjudges among the first 400 below (seed, policy, error class): each is a
# known residual, listed in docs/findings.md with its reading. A change may fix one (the set shrinks); a new error
# fails this test. Over 10,000 mixed histories bench_checker_accuracy.py prints the same classes as rates.
KNOWN_JOB_RESIDUALS: set[tuple[int, str, str]] = set()  # none left among these 400 (docs/findings.md has the rest)


def error_class(h: GeneratedHistory, policy: Policy, got: SourceResult) -> str | None:
    expected = h.expected[policy]
    if expected == "pass" and got.verdict == "fail":
        return "clean judged fail"
    if expected == "fail" and got.verdict == "pass":
        return "anomalous judged pass"
    if got.verdict == "unknown" and not h.ambiguous:
        return "unknown where not marked"
    return None


def test_job_verdicts_follow_the_truth_but_for_the_known_residuals() -> None:
    """400 job histories, 2 to 5 anomaly kinds mixed in each, knobs drawn per seed (replicas, schedule, handler
    regime, skew, a slow schedule call, failing answers)."""
    found = set()
    for seed in range(400):
        rng = random.Random(seed)
        h = generate(
            seed,
            kind="jobs",
            inject=rng.sample(list(JOB_INJECTIONS), rng.randint(2, 5)),
            replicas=rng.randint(1, 5),
            schedule=rng.choice([*JOB_SHAPES, None]),
            handler=rng.choice([*HANDLER_REGIMES, None]),
            skew=rng.random() < 0.5,
            long_latency=rng.random() < 0.5,
            fail_rate=rng.choice([0.0, 0.1, 0.3]),
        )
        for policy, got in judged(h).items():
            error = error_class(h, policy, got)
            if error is not None:
                found.add((seed, policy, error))
    assert found == KNOWN_JOB_RESIDUALS, sorted(found ^ KNOWN_JOB_RESIDUALS)  # a fixed one leaves the list too


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    inject=st.lists(st.sampled_from(BINDING_INJECTIONS), min_size=2, max_size=5, unique=True),
    replicas=st.integers(1, 5),
    schedule=st.sampled_from(BINDING_SHAPES) | st.none(),
    skew=st.booleans(),
)
# found by hypothesis (2026-12-01): an @every tick due inside the counted window, woken 0.85 s late, after the
# window's end, and re-sent; the checker counted the tick by its wake, not its due, and judged the duplicate pass
@example(seed=340, inject=["late-wake", "dup-resend"], replicas=1, schedule=None, skew=False)
# found by hypothesis in CI (2026-12-01): a lost @every tick due 111 ms before the counted window's end, beside two
# re-sends; judged pass under contract (the loss not counted)
@example(
    seed=1098,
    inject=["kill", "late-wake", "lost", "dup-resend", "dup-double"],
    replicas=1,
    schedule="every",
    skew=False,
)
# found by hypothesis (2026-12-02): a late wake (631 ms on @every 1183ms) whose other reading, a lost tick plus an
# early fire, puts the early one's tick in the 0.3 s the checker counts before a kill; the generator left that short
# span out of its ambiguity check, so the checker's unknown read as an error (the generator's miss, not the checker's)
@example(seed=20942, inject=["kill", "late-wake"], replicas=1, schedule="every", skew=False)
def test_binding_verdicts_follow_the_truth(
    seed: int, inject: list[str], replicas: int, schedule: BindingShape | None, skew: bool
) -> None:
    h = generate(seed, kind="binding", inject=inject, replicas=replicas, schedule=schedule, skew=skew)
    assert_follows_the_truth(h)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_drawn_binding_histories_follow_the_truth(seed: int) -> None:
    """The generator's own draw: about a third clean, the rest one to four kinds mixed."""
    assert_follows_the_truth(generate(seed, kind="binding"))


def test_drawn_job_histories_follow_the_truth() -> None:
    """The same for jobs, over fixed seeds: a random seed may hit the residual of docs/findings.md (a re-send that
    lands on the next due while that occurrence is lost: 1 of 20,000 job histories), so a random draw could fail on
    what is known; these 400 hold none, and a new error fails."""
    for seed in range(400):
        assert_follows_the_truth(generate(seed, kind="jobs"))
