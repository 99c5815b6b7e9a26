"""readings on bare numbers: which role each delivery takes, and which rival readings stay plausible."""

from __future__ import annotations

from harness.oracle.matching import readings
from harness.oracle.records import Arrival, ExtraKind, Occurrence, Outcome, Readings

P = 1_000_000_000  # a period of 1 s, in ns
MS = 1_000_000


def occurrences(n: int, counted: int | None = None) -> list[Occurrence]:
    return [Occurrence(k * P, k <= (counted or n), P // 2) for k in range(1, n + 1)]


def arrive(received: int, handler_ms: float = 2, outcome: Outcome = "success") -> Arrival:
    answered = None if outcome == "cut" else received + round(handler_ms * MS)
    return Arrival(received, answered, outcome)


def duplicate(_i: int, _cur: int) -> tuple[ExtraKind, ...]:
    return ("duplicate",)


def read(occ: list[Occurrence], arrivals: list[Arrival], max_attempts: int | None = 4) -> Readings:
    return readings(occ, arrivals, tolerance_ns=5 * MS, max_attempts=max_attempts, retry_interval_ns=P,
                    classify=duplicate, idle_from=0)  # fmt: skip


def kinds(found: Readings) -> list[str]:
    return [f"{r.kind}{'' if r.occurrence is None else r.occurrence}" for r in found.best.roles]


def test_an_on_time_history_has_one_reading() -> None:
    found = read(occurrences(5), [arrive(k * P + 3 * MS) for k in range(1, 6)])
    assert kinds(found) == ["attempt0", "attempt1", "attempt2", "attempt3", "attempt4"]
    assert (found.best.units, found.plausible) == (0, ())


def test_long_handlers_do_not_make_an_on_time_history_ambiguous() -> None:
    # 600 ms handlers on a 1 s period: a re-send of the previous occurrence 400 ms after its answer plus a lost
    # one would explain each delivery too, but each landed right on its due time with the job idle (pinned)
    found = read(occurrences(5), [arrive(k * P + 3 * MS, handler_ms=600) for k in range(1, 6)])
    assert found.plausible == ()


def test_a_lost_trigger_is_skipped_where_it_was_lost() -> None:
    found = read(occurrences(6), [arrive(k * P + 3 * MS) for k in range(1, 7) if k != 3])
    assert found.best.missed == (2,)
    assert found.best.signature == (0, 1, 0, 0, 0)
    assert found.plausible == ()


def test_a_catch_up_after_a_stall_reads_late_with_a_lost_and_duplicated_pair_as_its_rival() -> None:
    burst = [arrive(5 * P + 500 * MS + k * 3 * MS) for k in range(4)]  # 2, 3, 4, 5 back to back after a stall
    found = read(occurrences(6), [arrive(P + 3 * MS), *burst, arrive(6 * P + 3 * MS)])
    assert kinds(found) == ["attempt0", "attempt1", "attempt2", "attempt3", "attempt4", "attempt5"]
    assert found.best.stalls == (1,)
    assert found.best.signature == (0, 0, 0, 0, 0)
    assert (1, 1, 0, 0, 0) in {r.signature for r in found.plausible}


def test_a_retry_landing_on_the_next_due_time_is_not_ambiguous() -> None:
    ds = [arrive(P + 3 * MS), arrive(2 * P + 3 * MS, outcome="failure"), arrive(3 * P + 4 * MS), arrive(3 * P + 9 * MS)]
    found = read(occurrences(3), ds)
    assert kinds(found) == ["attempt0", "attempt1", "retry1", "attempt2"]
    assert found.plausible == ()


def test_a_delivery_before_the_previous_answer_is_a_re_send_of_its_occurrence() -> None:
    # the first delivery of 2 s is still in its handler (answered at 3.5 s) when another arrives at 2.1 s: the
    # scheduler had no result yet, so it cannot be 3 s firing early: it is 2 s again
    first = arrive(2 * P + 3 * MS, handler_ms=1500)
    found = read(occurrences(4), [arrive(P + 3 * MS), first, arrive(2 * P + 100 * MS), arrive(4 * P + 3 * MS)])
    assert kinds(found)[2] == "extra1"
    assert found.best.signature[0] == 1


def test_a_cut_off_delivery_closes_its_occurrence() -> None:
    ds = [arrive(P + 3 * MS), arrive(2 * P + 3 * MS, outcome="cut"), arrive(2 * P + 900 * MS), arrive(3 * P + 3 * MS)]
    found = read(occurrences(3), ds)
    assert kinds(found) == ["attempt0", "attempt1", "extra1", "attempt2"]


def test_a_narrow_beam_still_answers() -> None:
    ds = [arrive(k * P + 3 * MS) for k in range(1, 41) if k % 7]
    found = readings(occurrences(40), ds, tolerance_ns=5 * MS, max_attempts=4, retry_interval_ns=P,
                     classify=duplicate, idle_from=0, beam=2)  # fmt: skip
    assert found.best.signature == (0, 5, 0, 0, 0)
