"""The checker against Dapr-like histories whose truth is known (benchmarks/histories.py), several anomaly kinds
mixed in one history: a clean truth is never judged fail, an anomalous truth never judged pass, and *unknown* only
where the generator marked the history ambiguous. bench_checker_accuracy.py measures the same over 10,000
histories; these keep the property in the unit suite."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.histories import (
    BINDING_INJECTIONS,
    BINDING_SHAPES,
    HANDLER_REGIMES,
    JOB_INJECTIONS,
    JOB_SHAPES,
    POLICIES,
    SOURCE_KINDS,
    BindingShape,
    GeneratedHistory,
    HandlerRegime,
    JobShape,
    generate,
)
from harness.checker import check
from harness.model import Policy, SourceKind, SourceResult


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


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    inject=st.lists(st.sampled_from(JOB_INJECTIONS), min_size=2, max_size=5, unique=True),
    replicas=st.integers(1, 5),
    schedule=st.sampled_from(JOB_SHAPES) | st.none(),
    handler=st.sampled_from(HANDLER_REGIMES) | st.none(),
    skew=st.booleans(),
    long_latency=st.booleans(),
    fail_rate=st.sampled_from([0.0, 0.1, 0.3]),
)
def test_job_verdicts_follow_the_truth(
    seed: int,
    inject: list[str],
    replicas: int,
    schedule: JobShape | None,
    handler: HandlerRegime | None,
    skew: bool,
    long_latency: bool,
    fail_rate: float,
) -> None:
    h = generate(
        seed,
        kind="jobs",
        inject=inject,
        replicas=replicas,
        schedule=schedule,
        handler=handler,
        skew=skew,
        long_latency=long_latency,
        fail_rate=fail_rate,
    )
    assert_follows_the_truth(h)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    inject=st.lists(st.sampled_from(BINDING_INJECTIONS), min_size=2, max_size=5, unique=True),
    replicas=st.integers(1, 5),
    schedule=st.sampled_from(BINDING_SHAPES) | st.none(),
    skew=st.booleans(),
)
def test_binding_verdicts_follow_the_truth(
    seed: int, inject: list[str], replicas: int, schedule: BindingShape | None, skew: bool
) -> None:
    h = generate(seed, kind="binding", inject=inject, replicas=replicas, schedule=schedule, skew=skew)
    assert_follows_the_truth(h)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(SOURCE_KINDS))
def test_drawn_histories_follow_the_truth(seed: int, kind: SourceKind) -> None:
    """The generator's own draw: about a third clean, the rest one to four kinds mixed."""
    assert_follows_the_truth(generate(seed, kind=kind))
