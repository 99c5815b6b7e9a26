"""The tick model against go-etcd-cron/kit semantics: first tick, alignment, repeats, ttl, dueTime forms, parsing."""

from __future__ import annotations

import pytest

from harness.model import NS, JobPlan
from harness.oracle.ticks import (
    CronSchedule,
    EverySchedule,
    binding_ticks,
    job_continuation,
    job_expiration_ns,
    job_occurrences,
    parse_schedule,
    schedule_period_ns,
    validate_job,
    validate_schedule,
)
from harness.oracle.times import ScheduleError, parse_due_time, parse_go_duration

T0 = 1_767_225_600 * NS  # 2026-01-01T00:00:00Z, a Thursday
MS = 1_000_000
CREATED = T0 + 300 * MS  # 00:00:00.300


def s(seconds: float) -> int:
    return T0 + round(seconds * NS)


# --- job occurrences -----------------------------------------------------------------------------------------


def test_every_1s_first_tick_is_one_period_after_creation_never_at_it() -> None:
    got = job_occurrences(JobPlan("j", "@every 1s"), CREATED, s(4.3))
    assert got == [s(1.3), s(2.3), s(3.3), s(4.3)]  # until is inclusive


def test_six_field_cron_is_aligned_to_the_wall_clock() -> None:
    got = job_occurrences(JobPlan("j", "*/5 * * * * *"), CREATED, s(20))
    assert got == [s(5), s(10), s(15), s(20)]


def test_cron_tick_exactly_at_creation_is_not_fired() -> None:
    assert job_occurrences(JobPlan("j", "*/5 * * * * *"), s(5), s(12)) == [s(10)]


def test_hourly_is_aligned_to_the_hour_not_to_creation() -> None:
    got = job_occurrences(JobPlan("j", "@hourly"), s(1234.5), s(3 * 3600))
    assert got == [s(3600), s(7200), s(10800)]


def test_due_time_only_fires_once() -> None:
    assert job_occurrences(JobPlan("j", due_time="5s"), CREATED, s(3600)) == [CREATED + 5 * NS]
    assert job_continuation(JobPlan("j", due_time="5s"), CREATED, CREATED + 5 * NS) is None


def test_schedule_with_repeats_3_fires_three_times() -> None:
    job = JobPlan("j", "@every 2s", repeats=3)
    assert job_occurrences(job, CREATED, s(3600)) == [s(2.3), s(4.3), s(6.3)]
    assert job_continuation(job, CREATED, s(6.3)) == s(8.3)


def test_due_time_then_schedule_ticks_after_it() -> None:
    job = JobPlan("j", "*/10 * * * * *", due_time="2026-01-01T00:00:03Z", repeats=3)
    assert job_occurrences(job, CREATED, s(60)) == [s(3), s(10), s(20)]


def test_ttl_ends_the_job_and_a_tick_exactly_at_expiry_still_fires() -> None:
    job = JobPlan("j", "@every 1s", ttl="3s")
    assert job_expiration_ns(job, CREATED) == s(3.3)
    assert job_occurrences(job, CREATED, s(60)) == [s(1.3), s(2.3), s(3.3)]  # counter.go: next.After(exp) ends it
    just_before = JobPlan("j", "@every 1s", ttl="2999ms")
    assert job_occurrences(just_before, CREATED, s(60)) == [s(1.3), s(2.3)]


def test_ttl_counts_from_the_due_time_when_there_is_one() -> None:
    job = JobPlan("j", "@every 1s", due_time="10s", ttl="2s")
    assert job_occurrences(job, CREATED, s(60)) == [s(10.3), s(11.3), s(12.3)]


def test_ttl_as_rfc3339_is_absolute() -> None:
    job = JobPlan("j", "*/1 * * * * *", ttl="2026-01-01T00:00:02.5Z")
    assert job_occurrences(job, CREATED, s(60)) == [s(1), s(2)]


def test_due_time_rfc3339_with_offset_and_fraction() -> None:
    assert parse_due_time("2026-01-01T01:00:05.25+01:00", 0) == s(5.25)
    assert parse_due_time("2026-01-01T00:00:05Z", 12345) == s(5)


def test_due_time_iso8601_duration() -> None:
    assert parse_due_time("PT5S", CREATED) == CREATED + 5 * NS
    assert parse_due_time("PT1H30M", CREATED) == CREATED + 5400 * NS
    assert parse_due_time("P1DT1S", CREATED) == CREATED + 86401 * NS
    jan31 = T0 + 30 * 86400 * NS
    assert parse_due_time("P1M", jan31) == T0 + (31 + 28 + 2) * 86400 * NS  # Go AddDate: Feb 31 -> Mar 3


def test_due_time_go_duration_and_job_with_it() -> None:
    assert parse_due_time("1m30s", CREATED) == CREATED + 90 * NS
    assert job_occurrences(JobPlan("j", due_time="PT5S"), CREATED, s(10)) == [s(5.3)]
    assert job_occurrences(JobPlan("j", due_time="2026-01-01T00:00:07Z"), CREATED, s(10)) == [s(7)]


def test_sub_second_every() -> None:
    got = job_occurrences(JobPlan("j", "@every 500ms"), CREATED, s(2.3))
    assert got == [s(0.8), s(1.3), s(1.8), s(2.3)]


@pytest.mark.parametrize("bad_due", ["5", "tomorrow", "R5/PT5S", "2026-01-01 00:00:05Z", "2026-01-01T00:00:05"])
def test_bad_due_time_is_refused(bad_due: str) -> None:
    with pytest.raises(ScheduleError):
        parse_due_time(bad_due, CREATED)


def test_bad_due_time_message_lists_the_forms() -> None:
    with pytest.raises(ScheduleError) as e:
        parse_due_time("soon", CREATED)
    assert str(e.value) == (
        "bad dueTime 'soon': expected a Go duration ('5s', '1m30s'), an RFC 3339 time ('2026-01-02T15:04:05Z') "
        "or an ISO 8601 duration ('PT5S')"
    )


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (JobPlan("j"), "job 'j': needs a schedule or a due_time"),
        (JobPlan("j", due_time="5s", repeats=2), "job 'j': repeats > 1 needs a schedule"),
        (JobPlan("j", due_time="5s", ttl="1h"), "job 'j': a ttl needs a schedule"),
        (JobPlan("j", "@every 1s", repeats=0), "job 'j': repeats must be at least 1 (got 0)"),
    ],
)
def test_jobs_dapr_refuses_are_refused(job: JobPlan, message: str) -> None:
    with pytest.raises(ScheduleError) as e:
        validate_job(job)
    assert str(e.value) == message


def test_ttl_before_due_time_is_refused() -> None:
    job = JobPlan("j", "@every 1s", due_time="2026-01-01T00:00:10Z", ttl="2026-01-01T00:00:05Z")
    with pytest.raises(ScheduleError, match="ttl must be greater than due time"):
        job_occurrences(job, CREATED, s(60))


# --- durations -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("1s", NS),
        ("500ms", 500 * MS),
        ("1m30s", 90 * NS),
        ("1h", 3600 * NS),
        ("1.5s", 1500 * MS),
        (".5s", 500 * MS),
        ("250us", 250_000),
        ("250\u00b5s", 250_000),
        ("0", 0),
        ("-2s", -2 * NS),
        ("1h2m3s4ms5us6ns", 3723 * NS + 4 * MS + 5_006),
    ],
)
def test_parse_go_duration(text: str, ns: int) -> None:
    assert parse_go_duration(text) == ns


@pytest.mark.parametrize("text", ["", "5", "s", "1d", "1.s.", "- 1s", "1 s"])
def test_parse_go_duration_refuses(text: str) -> None:
    with pytest.raises(ScheduleError, match="use a Go duration"):
        parse_go_duration(text)


# --- schedules -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "*/5 * * * * *",
        "0 0 * * * *",
        "0 30 9 * * mon-fri",
        "0 0 0 1 jan,JUL ?",
        "5/15 * * * * *",
        "0-10/2 * * * * *",
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
        "@every 5s",
        "@every 500ms",
        "@every 1m30s",
        "TZ=UTC */5 * * * * *",
        "CRON_TZ=Etc/UTC @hourly",
    ],
)
def test_jobs_accept_what_dapr_accepts(text: str) -> None:
    validate_schedule(text, "jobs")
    validate_schedule(text, "binding")


def test_binding_also_accepts_five_fields_jobs_do_not() -> None:
    validate_schedule("*/5 * * * *", "binding")
    with pytest.raises(ScheduleError) as e:
        validate_schedule("*/5 * * * *", "jobs")
    assert str(e.value) == (
        "bad cron '*/5 * * * *': expected 6 fields (seconds minutes hours day-of-month month day-of-week), "
        "e.g. '*/5 * * * * *' or '@every 5s'"
    )


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        (
            "* * *",
            "jobs",
            "bad cron '* * *': expected 6 fields (seconds minutes hours day-of-month month day-of-week), "
            "e.g. '*/5 * * * * *' or '@every 5s'",
        ),
        (
            "* * *",
            "binding",
            "bad cron '* * *': expected 5 or 6 fields ([seconds] minutes hours day-of-month month day-of-week), "
            "e.g. '*/5 * * * *', '*/5 * * * * *' or '@every 5s'",
        ),
        (
            "61 * * * * *",
            "jobs",
            "bad cron '61 * * * * *': seconds field '61': 61 is above the maximum 59 (valid: 0-59)",
        ),
        ("0 0 0 * * 7", "jobs", "bad cron '0 0 0 * * 7': day-of-week field '7': 7 is above the maximum 6 (valid: 0-6)"),
        ("0 0 0 L * *", "jobs", "bad cron '0 0 0 L * *': day-of-month field 'L': 'L' is not a number"),
        (
            "0 0 5-2 * * *",
            "jobs",
            "bad cron '0 0 5-2 * * *': hours field '5-2': range 5-2 runs backwards (valid: 0-23)",
        ),
        (
            "@every 5",
            "jobs",
            "bad schedule '@every 5': bad duration '5': missing unit; use a Go duration such as '500ms', '5s', "
            "'1m30s' or '1h'",
        ),
        (
            "@every 0s",
            "jobs",
            "bad schedule '@every 0s': the @every interval must be positive "
            "(Dapr accepts it but fires in a tight loop)",
        ),
        (
            "@fortnightly",
            "binding",
            "bad schedule '@fortnightly': unknown descriptor; valid: @yearly, @annually, @monthly, @weekly, @daily, "
            "@midnight, @hourly, @every <duration> (e.g. '@every 5s')",
        ),
        (
            "TZ=Europe/Rome 0 0 * * * *",
            "jobs",
            "bad schedule 'TZ=Europe/Rome 0 0 * * * *': only a UTC time-zone prefix (TZ=UTC <spec>) is supported; "
            "onceonly computes ticks in UTC",
        ),
        (
            "0 0 0 30 2 *",
            "jobs",
            "bad cron '0 0 0 30 2 *': never fires: no allowed day-of-month exists in the allowed months (Dapr accepts "
            "it, never triggers)",
        ),
    ],
)
def test_garbage_is_refused_with_what_is_valid(text: str, kind: str, message: str) -> None:
    with pytest.raises(ScheduleError) as e:
        validate_schedule(text, "jobs" if kind == "jobs" else "binding")
    assert str(e.value) == message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "every second",
        "* * * * * * *",
        "@every",
        "@hourly ",
        "*/0 * * * * *",
        "1,2/3/4 * * * * *",
        "TZ=UTC",
        "TZ=UTC @every 5s",
        "0 0 0 * * sun-sat-mon",
    ],
)
def test_more_garbage_is_refused(text: str) -> None:
    with pytest.raises(ScheduleError):
        validate_schedule(text, "jobs")


def test_schedule_error_is_a_value_error() -> None:
    assert issubclass(ScheduleError, ValueError)


def test_day_of_month_and_day_of_week_or_when_both_restricted_and_when_either_is_star() -> None:
    # kit dayMatches: both restricted -> OR; either a star -> AND. 2026-01-01 is a Thursday (4).
    both = parse_schedule("0 0 0 2 * 4", "jobs")
    assert isinstance(both, CronSchedule)
    first_three = [both.next_after(T0 - 1)]
    for _ in range(2):
        first_three.append(both.next_after(first_three[-1]))
    assert first_three == [T0, T0 + 86400 * NS, T0 + 7 * 86400 * NS]  # Thu 1st, Fri 2nd (dom), Thu 8th
    dow_only = parse_schedule("0 0 0 * * 4", "jobs")
    assert dow_only.next_after(T0) == T0 + 7 * 86400 * NS
    stepped = parse_schedule("0 0 0 */2 * 5", "jobs")  # */2 is restricted (no star bit): OR with Fridays
    assert stepped.next_after(T0) == T0 + 86400 * NS  # Fri 2nd
    assert stepped.next_after(T0 + 86400 * NS) == T0 + 2 * 86400 * NS  # Sat 3rd (odd day)


def test_parse_schedule_kinds_and_period() -> None:
    every = parse_schedule("@every 1m30s", "jobs")
    assert every == EverySchedule("@every 1m30s", 90 * NS)
    assert schedule_period_ns(every, T0) == 90 * NS
    assert schedule_period_ns(parse_schedule("*/5 * * * *", "binding"), T0) == 300 * NS
    assert schedule_period_ns(parse_schedule("@hourly", "binding"), T0) == 3600 * NS


# --- binding ticks -------------------------------------------------------------------------------------------


def test_binding_ticks_aligned_includes_both_ends() -> None:
    assert binding_ticks("*/2 * * * * *", s(2), s(8)) == [s(2), s(4), s(6), s(8)]
    assert binding_ticks("*/2 * * * *", s(0.5), s(300)) == [s(120), s(240)]  # 5 fields: seconds 0


def test_binding_ticks_every_counts_from_the_given_start() -> None:
    assert binding_ticks("@every 2s", s(0.25), s(6.25)) == [s(0.25), s(2.25), s(4.25), s(6.25)]
    assert binding_ticks("@every 500ms", s(0), s(1.2)) == [s(0), s(0.5), s(1)]
