"""The tick model's quick paths give what the step-by-step model gives: a time-of-day cron spec's ticks from its
day table (croniter's, one tick at a time), and a job's dues up to a limit (``iter_job_occurrences`` cut there)."""

from __future__ import annotations

from itertools import islice

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.model import NS, JobPlan
from harness.oracle.ticks import (
    CronSchedule,
    day_seconds,
    iter_job_occurrences,
    job_dues_until,
    parse_schedule,
)

T0 = 1_767_225_600 * NS  # 2026-01-01T00:00:00Z
MS = 1_000_000


def field(limit: int) -> st.SearchStrategy[str]:
    value = st.integers(0, limit - 1)
    return st.one_of(
        st.just("*"),
        value.map(str),
        st.integers(2, limit).map(lambda k: f"*/{k}"),
        st.tuples(value, value).map(lambda r: f"{min(r)}-{max(r)}"),
        st.lists(value, min_size=1, max_size=4).map(lambda vs: ",".join(map(str, vs))),
    )


def expression(text: str) -> str:
    schedule = parse_schedule(text, "jobs")
    assert isinstance(schedule, CronSchedule)
    return schedule.expression


def test_a_day_table_lists_the_matching_seconds_of_a_day() -> None:
    assert day_seconds(expression("*/20 * * * * *"))[:4] == (0, 20, 40, 60)
    assert day_seconds(expression("0 30 6,18 * * *")) == (6 * 3600 + 1800, 18 * 3600 + 1800)
    assert len(day_seconds(expression("* * * * * *"))) == 86_400


def test_only_a_spec_with_every_day_alike_is_daily() -> None:
    assert isinstance(cron := parse_schedule("*/5 * * * * *", "jobs"), CronSchedule) and cron.daily
    assert isinstance(cron := parse_schedule("@hourly", "jobs"), CronSchedule) and cron.daily
    for text in ("0 0 0 1 * *", "0 0 0 * * 1", "0 0 0 * 2 *", "@weekly", "@monthly"):
        assert isinstance(cron := parse_schedule(text, "jobs"), CronSchedule) and not cron.daily, text


@settings(max_examples=80, deadline=None)
@given(field(60), field(60), field(24), st.integers(0, 3 * 86_400 * NS))
def test_a_daily_spec_ticks_as_croniter_does(seconds: str, minutes: str, hours: str, offset: int) -> None:
    daily = parse_schedule(f"{seconds} {minutes} {hours} * * *", "jobs")
    assert isinstance(daily, CronSchedule) and daily.daily
    stepwise = CronSchedule(daily.text, daily.expression, daily=False)  # croniter, one tick at a time
    t = T0 + offset
    assert list(islice(daily.ticks_after(t), 30)) == list(islice(stepwise.ticks_after(t), 30))


def stepwise_dues(job: JobPlan, created: int, limit: int) -> tuple[list[int], int | None]:
    out: list[int] = []
    for due in iter_job_occurrences(job, created):
        if due > limit:
            return out, due
        out.append(due)
    return out, None


schedules = st.sampled_from(
    ["@every 1s", "@every 500ms", "@every 1m", "@every 7s", "*/5 * * * * *", "*/1 * * * * *", "7,50 * * * * *", None]
)


@settings(max_examples=300, deadline=None)
@given(
    schedules,
    st.one_of(st.none(), st.sampled_from(["0s", "3s", "2500ms", "2026-01-01T00:00:09Z"])),
    st.one_of(st.none(), st.integers(1, 40)),
    st.one_of(st.none(), st.sampled_from(["10s", "1m", "90s", "2026-01-01T00:00:30Z"])),
    st.integers(0, 2 * NS),
    st.integers(-5 * NS, 200 * NS),
)
def test_a_jobs_dues_up_to_a_limit_are_its_occurrences_cut_there(
    schedule: str | None, due_time: str | None, repeats: int | None, ttl: str | None, created: int, limit: int
) -> None:
    if schedule is None:
        due_time, repeats, ttl = due_time or "3s", None, None
    job = JobPlan("j", schedule, due_time, repeats, ttl)
    try:
        want = stepwise_dues(job, T0 + created, T0 + limit)
    except ValueError as e:  # ScheduleError: both refuse the same job
        try:
            job_dues_until(job, T0 + created, T0 + limit)
        except ValueError as again:
            assert str(again) == str(e)
            return
        raise AssertionError(f"no error, expected {e}") from None
    assert job_dues_until(job, T0 + created, T0 + limit) == want


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["*/1 * * * * *", "*/5 * * * * *", "0 30 6,18 * * *", "0 0 0 1 * *", "*/7 3-5 * * * 1-5"]),
    st.one_of(st.none(), st.sampled_from(["3s", "2500ms"])),
    st.integers(0, 3 * 86_400 * NS),
    st.sampled_from([0, 1, NS - 1, NS, 5 * NS, 3600 * NS + 7, 86_400 * NS, 2 * 86_400 * NS + 17]),
)
def test_a_cron_jobs_dues_over_days_are_its_occurrences_cut_there(
    schedule: str, due_time: str | None, created: int, span: int
) -> None:
    """A daily spec's dues come a day at a time (``CronSchedule.ticks_until``): across midnights, from a dueTime
    off the whole second, to a limit on or off a tick; a spec that is not daily goes tick by tick."""
    job = JobPlan("j", schedule, due_time)
    assert job_dues_until(job, T0 + created, T0 + created + span) == stepwise_dues(
        job, T0 + created, T0 + created + span
    )


def test_an_every_job_without_end_runs_past_the_limit() -> None:
    dues, beyond = job_dues_until(JobPlan("j", "@every 1s"), T0 + 300 * MS, T0 + 3 * NS)
    assert dues == [T0 + 1300 * MS, T0 + 2300 * MS]
    assert beyond == T0 + 3300 * MS
    dues, beyond = job_dues_until(JobPlan("j", "@every 1s", repeats=2), T0 + 300 * MS, T0 + 60 * NS)
    assert (dues, beyond) == ([T0 + 1300 * MS, T0 + 2300 * MS], None)


def test_a_refused_job_is_refused_every_time_it_is_asked_about() -> None:
    from harness.oracle.ticks import validate_job
    from harness.oracle.times import ScheduleError, parse_go_duration

    bad = JobPlan("j", "@every 1s", repeats=0)
    for _ in range(2):
        try:
            validate_job(bad)
        except ScheduleError:
            continue
        raise AssertionError("validate_job accepted repeats=0")
    assert validate_job(JobPlan("j", "@every 1s")) is None
    assert parse_go_duration("1m30s") == parse_go_duration("1m30s") == 90 * NS
