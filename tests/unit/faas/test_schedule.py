"""Unit tests of faas.schedule: parsing annotations and computing the ticks of a schedule."""

from __future__ import annotations

import dataclasses
import math
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from faas.errors import SpecError
from faas.schedule import (
    CRON_TOPIC,
    MAX_CATCH_UP_LIMIT,
    Missed,
    Overlap,
    Schedule,
    from_annotations,
)

NEW_YORK = ZoneInfo("America/New_York")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    """Unix time of a UTC wall time: utc(2024, 1, 15, 9, 30)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


def local(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int, fold: int = 0
) -> float:
    """Unix time of a wall time in `zone`; fold=1 for its second pass."""
    return datetime(year, month, day, hour, minute, tzinfo=zone, fold=fold).timestamp()


def cron(**annotations: str) -> dict[str, str]:
    """Annotations of a cron function, with `annotations` added (underscores become dashes)."""
    named = {name.replace("_", "-"): value for name, value in annotations.items()}
    return {"topic": CRON_TOPIC, **named}


def fires(expression: str, after: float, count: int = 1, timezone: str = "UTC") -> list[float]:
    """The first `count` ticks of `expression` after `after`."""
    schedule = Schedule(expression, timezone)
    ticks = [schedule.next_after(after)]
    while len(ticks) < count:
        ticks.append(schedule.next_after(ticks[-1]))
    return ticks


def error(annotations: dict[str, str]) -> str:
    """The message of the SpecError that `annotations` raise."""
    with pytest.raises(SpecError) as caught:
        from_annotations(annotations)
    return str(caught.value)


# from_annotations: which functions are scheduled, and the defaults


@pytest.mark.parametrize(
    "annotations",
    [
        {},
        {"schedule": "*/5 * * * *"},
        {"topic": "orders", "schedule": "*/5 * * * *"},
        {"topic": "cron-function,orders", "schedule": "*/5 * * * *"},
        {"topic": "Cron-Function", "schedule": "*/5 * * * *"},
    ],
)
def test_not_scheduled_without_the_cron_topic(annotations: dict[str, str]) -> None:
    assert from_annotations(annotations) is None


def test_not_scheduled_ignores_bad_schedule_annotations() -> None:
    annotations = {"schedule": "nonsense", "com.faas.schedule.timezone": "Mars/Base"}
    assert from_annotations(annotations) is None


def test_defaults() -> None:
    schedule = from_annotations(cron(schedule="*/5 * * * *"))
    assert schedule == Schedule("*/5 * * * *")
    assert schedule.timezone == "UTC"
    assert schedule.overlap is Overlap.ALLOW
    assert schedule.missed is Missed.SKIP
    assert schedule.catch_up_limit == 1
    assert schedule.callback_url is None


def test_every_annotation() -> None:
    schedule = from_annotations(
        {
            "topic": "cron-function",
            "schedule": "0 9 * * mon-fri",
            "com.faas.schedule.timezone": "Europe/Paris",
            "com.faas.schedule.overlap": "forbid",
            "com.faas.schedule.missed": "catch-up",
            "com.faas.schedule.catch-up-limit": "100",
            "com.faas.schedule.callback-url": "https://hooks.example.com/done?x=1",
        }
    )
    assert schedule == Schedule(
        expression="0 9 * * mon-fri",
        timezone="Europe/Paris",
        overlap=Overlap.FORBID,
        missed=Missed.CATCH_UP,
        catch_up_limit=MAX_CATCH_UP_LIMIT,
        callback_url="https://hooks.example.com/done?x=1",
    )


@pytest.mark.parametrize("overlap", list(Overlap))
def test_overlap_values(overlap: Overlap) -> None:
    annotations = {"com.faas.schedule.overlap": str(overlap), **cron(schedule="@hourly")}
    schedule = from_annotations(annotations)
    assert schedule is not None
    assert schedule.overlap is overlap


def test_schedule_is_a_frozen_value() -> None:
    schedule = Schedule("@daily")
    with pytest.raises(dataclasses.FrozenInstanceError):
        schedule.timezone = "Europe/Paris"  # type: ignore[misc]
    assert schedule == Schedule("@daily")
    assert schedule != Schedule("@daily", "Europe/Paris")
    assert hash(schedule) == hash(Schedule("@daily"))
    assert "_rule" not in repr(schedule)


def test_the_constructor_validates_too() -> None:
    with pytest.raises(SpecError, match=r'^schedule "\* \* \*": '):
        Schedule("* * *")
    with pytest.raises(SpecError, match=r'^com\.faas\.schedule\.catch-up-limit "0": '):
        Schedule("@daily", catch_up_limit=0)


# Errors: each names the annotation, the value and what is wrong


def test_missing_schedule() -> None:
    assert error({"topic": "cron-function"}) == (
        'schedule: missing, a function with topic "cron-function" needs one'
    )


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        (
            "*/5 * * *",
            "a cron expression has five fields "
            "(minute hour day-of-month month day-of-week), this has 4",
        ),
        (
            "0 0 * * * *",
            "a cron expression has five fields "
            "(minute hour day-of-month month day-of-week), this has 6",
        ),
        ("", 'empty, write a cron expression like "*/5 * * * *" or @every 30s'),
        ("   ", 'empty, write a cron expression like "*/5 * * * *" or @every 30s'),
        ("61 * * * *", "minute 61 is out of range 0-59"),
        ("* 24 * * *", "hour 24 is out of range 0-23"),
        ("* * 0 * *", "day-of-month 0 is out of range 1-31"),
        ("* * 32 * *", "day-of-month 32 is out of range 1-31"),
        ("* * * 0 *", "month 0 is out of range 1-12"),
        ("* * * 13 *", "month 13 is out of range 1-12"),
        ("* * * * 8", "day-of-week 8 is out of range 0-7"),
        ("0-60/5 * * * *", "minute 60 is out of range 0-59"),
        ("x * * * *", 'minute "x" is not a number'),
        ("-5 * * * *", 'minute "" is not a number'),
        ("1-2-3 * * * *", 'minute "2-3" is not a number'),
        ("*-5 * * * *", 'minute "*" is not a number'),
        ("* mon * * *", 'hour "mon" is not a number'),
        ("* * * foo *", 'month "foo" is not a number or a month name (jan-dec)'),
        ("* * * * funday", 'day-of-week "funday" is not a number or a day name (sun-sat)'),
        ("* * * * monday", 'day-of-week "monday" is not a number or a day name (sun-sat)'),
        ("5-1 * * * *", "minute range 5-1 is backwards"),
        ("* * * * fri-mon", "day-of-week range fri-mon is backwards"),
        ("*/0 * * * *", "minute step 0 must be 1 or more"),
        ("*/x * * * *", 'minute step "x" is not a number'),
        ("*/ * * * *", 'minute step "" is not a number'),
        ("1/2/3 * * * *", 'minute step "2/3" is not a number'),
        ("1,,2 * * * *", "minute has an empty item"),
        ("* * * * 1,", "day-of-week has an empty item"),
        ("0 0 31 2 *", "never fires, none of its months has any of its days of the month"),
        ("0 0 30 2 *", "never fires, none of its months has any of its days of the month"),
        (
            "0 0 31 apr,jun,sep,nov *",
            "never fires, none of its months has any of its days of the month",
        ),
        (
            "@often",
            "unknown alias, use @yearly, @annually, @monthly, @weekly, @daily, "
            "@midnight, @hourly or @every <duration>",
        ),
        (
            "@daily 5",
            "unknown alias, use @yearly, @annually, @monthly, @weekly, @daily, "
            "@midnight, @hourly or @every <duration>",
        ),
        ("@every", "@every needs a duration, e.g. @every 30s"),
        ("@every 500ms", "the interval must be a whole number of seconds, 1s or more"),
        ("@every 1.5s", "the interval must be a whole number of seconds, 1s or more"),
        ("@every 1s500ms", "the interval must be a whole number of seconds, 1s or more"),
        ("@every 0s", "the interval must be a whole number of seconds, 1s or more"),
        ("@every 10", '"10" is not a duration, write e.g. 30s, 1m30s or 2h'),
        ("@every 10x", '"10x" is not a duration, write e.g. 30s, 1m30s or 2h'),
        ("@every -5s", '"-5s" is not a duration, write e.g. 30s, 1m30s or 2h'),
        ("@every 1m 30s", '"1m 30s" is not a duration, write e.g. 30s, 1m30s or 2h'),
    ],
)
def test_bad_schedule(expression: str, problem: str) -> None:
    assert error(cron(schedule=expression)) == f'schedule "{expression}": {problem}'


@pytest.mark.parametrize("zone", ["Mars/Base", "", "utc", "Europe", "../etc/passwd", "/etc/passwd"])
def test_bad_timezone(zone: str) -> None:
    annotations = {"com.faas.schedule.timezone": zone, **cron(schedule="@daily")}
    assert error(annotations) == f'com.faas.schedule.timezone "{zone}": unknown time zone'


@pytest.mark.parametrize(
    ("annotation", "value", "problem"),
    [
        ("com.faas.schedule.overlap", "sometimes", "must be allow, forbid or replace"),
        ("com.faas.schedule.overlap", "Allow", "must be allow, forbid or replace"),
        ("com.faas.schedule.missed", "catchup", "must be skip or catch-up"),
        ("com.faas.schedule.missed", "", "must be skip or catch-up"),
        ("com.faas.schedule.catch-up-limit", "0", "must be a whole number from 1 to 100"),
        ("com.faas.schedule.catch-up-limit", "101", "must be a whole number from 1 to 100"),
        ("com.faas.schedule.catch-up-limit", "-1", "must be a whole number from 1 to 100"),
        ("com.faas.schedule.catch-up-limit", "2.5", "must be a whole number from 1 to 100"),
        ("com.faas.schedule.catch-up-limit", "ten", "must be a whole number from 1 to 100"),
        ("com.faas.schedule.catch-up-limit", "", "must be a whole number from 1 to 100"),
        (
            "com.faas.schedule.callback-url",
            "ftp://example.com/",
            "must be an http or https URL with a host",
        ),
        ("com.faas.schedule.callback-url", "http://", "must be an http or https URL with a host"),
        (
            "com.faas.schedule.callback-url",
            "example.com/hook",
            "must be an http or https URL with a host",
        ),
        ("com.faas.schedule.callback-url", "", "must be an http or https URL with a host"),
        (
            "com.faas.schedule.callback-url",
            "http://h:99999/",
            "must be an http or https URL with a host",
        ),
    ],
)
def test_bad_annotation(annotation: str, value: str, problem: str) -> None:
    annotations = {annotation: value, **cron(schedule="@daily")}
    assert error(annotations) == f'{annotation} "{value}": {problem}'


@pytest.mark.parametrize(
    "expression",
    [
        "0 0 29 2 *",
        "0 0 31 1-2 *",
        "0 0 30 * *",
        "0 0 31 2 mon",  # day-of-week may match where day-of-month cannot
        "  */5   *\t* * *  ",
        "0 0 * * 0-7",
        "59 23 31 12 sat",
        "0 0 * JAN-Mar SUN",
        "@every 1s",
        "@every 2000ms",
        "@every 0.5m",
        "@every 1h1m1s",
        "@EVERY 10s",
        "@Daily",
    ],
)
def test_good_schedule(expression: str) -> None:
    assert from_annotations(cron(schedule=expression)) == Schedule(expression)


# next_after for cron expressions in UTC


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("* * * * *", utc(2024, 5, 1, 10, 7, 30), [utc(2024, 5, 1, 10, 8), utc(2024, 5, 1, 10, 9)]),
        ("*/15 * * * *", utc(2024, 5, 1, 10, 7, 30), [utc(2024, 5, 1, 10, 15)]),
        ("0 * * * *", utc(2024, 5, 1, 10), [utc(2024, 5, 1, 11), utc(2024, 5, 1, 12)]),
        ("0 * * * *", utc(2024, 5, 1, 9, 59, 59), [utc(2024, 5, 1, 10)]),
        ("30 9 * * 1-5", utc(2024, 5, 3, 10), [utc(2024, 5, 6, 9, 30), utc(2024, 5, 7, 9, 30)]),
        ("0 0 1 * *", utc(2024, 1, 31, 12), [utc(2024, 2, 1), utc(2024, 3, 1)]),
        ("0 0 31 * *", utc(2024, 1, 31), [utc(2024, 3, 31), utc(2024, 5, 31), utc(2024, 7, 31)]),
        ("59 23 31 12 *", utc(2024, 6, 1), [utc(2024, 12, 31, 23, 59), utc(2025, 12, 31, 23, 59)]),
        ("0 0 29 2 *", utc(2024, 3, 1), [utc(2028, 2, 29), utc(2032, 2, 29)]),
        ("0 0 29 2 *", utc(2096, 3, 1), [utc(2104, 2, 29)]),  # 2100 is not a leap year
        ("5,10-12/2 0 * * *", utc(2024, 5, 1), [utc(2024, 5, 1, 0, m) for m in (5, 10, 12)]),
        ("7/20 * * * *", utc(2024, 5, 1), [utc(2024, 5, 1, 0, m) for m in (7, 27, 47)]),
        ("0 */8 * * *", utc(2024, 5, 1, 1), [utc(2024, 5, 1, 8), utc(2024, 5, 1, 16)]),
        ("0 22-23/1,3 * * *", utc(2024, 5, 1, 4), [utc(2024, 5, 1, 22), utc(2024, 5, 1, 23)]),
        ("*/90 * * * *", utc(2024, 5, 1, 0, 30), [utc(2024, 5, 1, 1)]),
        ("0 12 * * 6", utc(2024, 12, 30), [utc(2025, 1, 4, 12)]),  # across the year
        ("0 0 1 1 *", utc(2024, 1, 1), [utc(2025, 1, 1)]),
    ],
)
def test_next_after_utc(expression: str, after: float, expected: list[float]) -> None:
    assert fires(expression, after, len(expected)) == expected


def test_next_after_is_strictly_after() -> None:
    schedule = Schedule("*/5 * * * *")
    assert schedule.next_after(utc(2024, 5, 1, 10, 5)) == utc(2024, 5, 1, 10, 10)
    assert schedule.next_after(utc(2024, 5, 1, 10, 5) - 0.000001) == utc(2024, 5, 1, 10, 5)
    just_before = math.nextafter(utc(2024, 5, 1, 10, 5), 0.0)  # rounds up to a whole second
    assert schedule.next_after(just_before) == utc(2024, 5, 1, 10, 5)


def test_next_after_does_not_scan_minutes() -> None:
    started = time.perf_counter()
    for year in range(2000, 2100):
        Schedule("59 23 29 2 *").next_after(utc(year, 3, 1))
    assert time.perf_counter() - started < 2.0  # minute by minute this would take hours


@pytest.mark.parametrize(
    ("names", "numbers"),
    [
        ("0 12 * jan,jul mon-fri", "0 12 * 1,7 1-5"),
        ("0 12 * JAN Sun", "0 12 * 1 0"),
        ("0 12 * Feb-Apr/2 sat", "0 12 * 2,4 6"),
        ("0 12 * dec thu,fri", "0 12 * 12 4,5"),
        ("0 0 * * 7", "0 0 * * 0"),
        ("0 0 * * 5-7", "0 0 * * 0,5,6"),
        ("0 0 * * sat-7", "0 0 * * 6,0"),
        ("0 0 * * */2", "0 0 * * 0,2,4,6"),
    ],
)
def test_names_and_sunday_as_seven(names: str, numbers: str) -> None:
    after = utc(2024, 5, 1)
    assert fires(names, after, 20) == fires(numbers, after, 20)


def test_names_fire_on_those_days() -> None:
    expected = [utc(2024, 7, 1, 12), utc(2024, 7, 2, 12), utc(2024, 7, 3, 12)]
    assert fires("0 12 * jan,jul mon-fri", utc(2024, 5, 1), 3) == expected


# Day-of-month and day-of-week: either, when both are restricted


def test_both_day_fields_restricted_means_either() -> None:
    # The 13th or a Friday; October 2024: Fri 4, Fri 11, Sun 13, Fri 18.
    expected = [utc(2024, 10, d) for d in (4, 11, 13, 18, 25)]
    assert fires("0 0 13 * 5", utc(2024, 10, 1), 5) == expected


def test_day_of_month_alone() -> None:
    assert fires("0 0 13 * *", utc(2024, 10, 1), 2) == [utc(2024, 10, 13), utc(2024, 11, 13)]


def test_day_of_week_alone() -> None:
    assert fires("0 0 * * 5", utc(2024, 10, 1), 2) == [utc(2024, 10, 4), utc(2024, 10, 11)]


def test_star_with_a_step_of_one_is_unrestricted() -> None:
    assert fires("0 0 */1 * 5", utc(2024, 10, 1), 2) == [utc(2024, 10, 4), utc(2024, 10, 11)]


def test_a_full_range_is_restricted() -> None:
    # Only a star leaves a field unrestricted, so 1-31 with Friday is every day.
    expected = [utc(2024, 10, d) for d in (1, 2, 3)]
    assert fires("0 0 1-31 * 5", utc(2024, 9, 30, 12), 3) == expected


def test_feb_31_fires_on_the_weekday() -> None:
    # Day 31 never comes in February, but Mondays do.
    expected = [utc(2025, 2, d) for d in (3, 10, 17, 24)] + [utc(2026, 2, 2)]
    assert fires("0 0 31 2 mon", utc(2025, 1, 1), 5) == expected


# Aliases


@pytest.mark.parametrize(
    ("alias", "expression", "first"),
    [
        ("@yearly", "0 0 1 1 *", utc(2025, 1, 1)),
        ("@annually", "0 0 1 1 *", utc(2025, 1, 1)),
        ("@monthly", "0 0 1 * *", utc(2024, 6, 1)),
        ("@weekly", "0 0 * * 0", utc(2024, 5, 19)),
        ("@daily", "0 0 * * *", utc(2024, 5, 16)),
        ("@midnight", "0 0 * * *", utc(2024, 5, 16)),
        ("@hourly", "0 * * * *", utc(2024, 5, 15, 11)),
    ],
)
def test_aliases(alias: str, expression: str, first: float) -> None:
    after = utc(2024, 5, 15, 10, 30)  # a Wednesday
    assert fires(alias, after) == [first]
    assert fires(alias, after, 5) == fires(expression, after, 5)


# @every


def test_every_is_aligned_to_the_epoch() -> None:
    schedule = Schedule("@every 10s")
    assert schedule.next_after(10.0) == 20.0
    assert schedule.next_after(9.99) == 10.0
    assert schedule.next_after(0.0) == 10.0
    assert schedule.next_after(-5.0) == 0.0
    assert schedule.next_after(-10.0) == 0.0


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [("1s", 1), ("10s", 10), ("1m30s", 90), ("2h", 7200), ("2000ms", 2), ("0.5m", 30)],
)
def test_every_durations(duration: str, seconds: int) -> None:
    schedule = Schedule(f"@every {duration}")
    now = utc(2024, 5, 15, 10, 30, 7)
    tick = schedule.next_after(now)
    assert tick % seconds == 0
    assert now < tick <= now + seconds
    assert schedule.next_after(tick) == tick + seconds


def test_every_ignores_the_timezone() -> None:
    now = utc(2024, 3, 31, 0, 59, 59)  # Paris skips 02:00-03:00 local in this hour
    paris = Schedule("@every 1h", "Europe/Paris")
    assert paris.next_after(now) == Schedule("@every 1h").next_after(now) == utc(2024, 3, 31, 1)


def test_every_is_exact_for_large_times() -> None:
    schedule = Schedule("@every 7s")
    for tick in (7 * 10**12, 7 * 10**14):
        assert schedule.next_after(float(tick)) == tick + 7
        assert schedule.next_after(float(tick) - 0.5) == tick


# ticks_between


def test_every_ticks_between() -> None:
    schedule = Schedule("@every 10s")
    assert schedule.ticks_between(0.0, 100.0, 3) == [80.0, 90.0, 100.0]
    assert schedule.ticks_between(0.0, 100.0, 100) == [float(t) for t in range(10, 101, 10)]
    assert schedule.ticks_between(10.0, 30.0, 10) == [20.0, 30.0]
    assert schedule.ticks_between(10.5, 29.5, 10) == [20.0]
    assert schedule.ticks_between(11.0, 19.0, 10) == []


def test_every_ticks_between_a_huge_range_is_arithmetic() -> None:
    schedule = Schedule("@every 1s")
    assert schedule.ticks_between(-1e15, 1e15, 2) == [1e15 - 1, 1e15]


@pytest.mark.parametrize("expression", ["@every 10s", "*/5 * * * *"])
def test_ticks_between_nothing(expression: str) -> None:
    schedule = Schedule(expression)
    now = utc(2024, 5, 15, 10)
    assert schedule.ticks_between(now - 3600, now, 0) == []
    assert schedule.ticks_between(now - 3600, now, -1) == []
    assert schedule.ticks_between(now, now, 10) == []
    assert schedule.ticks_between(now, now - 3600, 10) == []


def test_cron_ticks_between() -> None:
    schedule = Schedule("*/15 * * * *")
    a, b = utc(2024, 5, 15, 10), utc(2024, 5, 15, 11)
    quarters = [utc(2024, 5, 15, 10, m) for m in (15, 30, 45)] + [b]
    assert schedule.ticks_between(a, b, 10) == quarters
    assert schedule.ticks_between(a, b, 2) == quarters[-2:]
    assert schedule.ticks_between(a, b, 1) == [b]
    assert schedule.ticks_between(a - 1, b - 1, 10) == [a, *quarters[:-1]]
    assert schedule.ticks_between(a + 1, a + 60, 10) == []


def test_cron_ticks_between_a_huge_range_walks_back_from_the_end() -> None:
    now = utc(2024, 5, 15, 10, 30, 15)
    expected = [utc(2024, 5, 15, 10, m) for m in (28, 29, 30)]
    assert Schedule("* * * * *").ticks_between(0.0, now, 3) == expected


def test_cron_ticks_between_spans_years() -> None:
    schedule = Schedule("@yearly")
    ticks = schedule.ticks_between(utc(1990, 6, 1), utc(2024, 6, 1), 100)
    assert ticks == [utc(year, 1, 1) for year in range(1991, 2025)]
    leap = Schedule("0 0 29 2 *").ticks_between(utc(2080, 1, 1), utc(2110, 1, 1), 3)
    assert leap == [utc(2096, 2, 29), utc(2104, 2, 29), utc(2108, 2, 29)]


@pytest.mark.parametrize("expression", ["*/7 3-5 * * *", "0 9 * * 1-5", "30 1 * * *"])
def test_ticks_between_agrees_with_next_after(expression: str) -> None:
    schedule = Schedule(expression, "America/New_York")
    a, b = utc(2024, 10, 28), utc(2024, 11, 12)
    ticks = [schedule.next_after(a)]
    while schedule.next_after(ticks[-1]) <= b:
        ticks.append(schedule.next_after(ticks[-1]))
    assert schedule.ticks_between(a, b, 1000) == ticks
    assert schedule.ticks_between(a, b, 4) == ticks[-4:]


# Time zones


def test_cron_in_a_zone_follows_its_wall_clock() -> None:
    schedule = Schedule("0 9 * * *", "Europe/Paris")
    assert schedule.next_after(utc(2024, 1, 15)) == utc(2024, 1, 15, 8)  # CET, UTC+1
    assert schedule.next_after(utc(2024, 7, 15)) == utc(2024, 7, 15, 7)  # CEST, UTC+2


def test_cron_in_a_zone_across_a_change_of_offset() -> None:
    # Paris moves to summer time on 2024-03-31.
    expected = [utc(2024, 3, 30, 8), utc(2024, 3, 31, 7), utc(2024, 4, 1, 7)]
    assert fires("0 9 * * *", utc(2024, 3, 30), 3, "Europe/Paris") == expected


def test_day_fields_use_the_zone_date() -> None:
    # Friday 23:30 in New York is Saturday in UTC.
    schedule = Schedule("30 23 * * fri", "America/New_York")
    assert schedule.next_after(utc(2024, 5, 1)) == utc(2024, 5, 4, 3, 30)


def test_dst_gap_skips_the_missing_ticks() -> None:
    # New York, 2024-03-10: 02:00 EST becomes 03:00 EDT, so 02:30 does not exist that day.
    expected = [local(NEW_YORK, 2024, 3, 9, 2, 30), local(NEW_YORK, 2024, 3, 11, 2, 30)]
    assert fires("30 2 * * *", utc(2024, 3, 9), 2, "America/New_York") == expected
    assert expected == [utc(2024, 3, 9, 7, 30), utc(2024, 3, 11, 6, 30)]


def test_dst_gap_every_minute() -> None:
    schedule = Schedule("* * * * *", "America/New_York")
    assert schedule.next_after(utc(2024, 3, 10, 6, 59)) == utc(2024, 3, 10, 7)  # 03:00 EDT
    ticks = schedule.ticks_between(utc(2024, 3, 10, 6, 58), utc(2024, 3, 10, 7, 1), 10)
    assert ticks == [utc(2024, 3, 10, 6, 59), utc(2024, 3, 10, 7), utc(2024, 3, 10, 7, 1)]


def test_dst_gap_ticks_between() -> None:
    schedule = Schedule("*/30 * * * *", "America/New_York")
    ticks = schedule.ticks_between(utc(2024, 3, 10, 6), utc(2024, 3, 10, 7, 30), 10)
    assert ticks == [utc(2024, 3, 10, 6, 30), utc(2024, 3, 10, 7), utc(2024, 3, 10, 7, 30)]


def test_dst_fold_fires_once_on_the_first_pass() -> None:
    # New York, 2024-11-03: 02:00 EDT becomes 01:00 EST, so 01:30 happens twice.
    first = local(NEW_YORK, 2024, 11, 3, 1, 30, fold=0)
    assert first == utc(2024, 11, 3, 5, 30)
    expected = [first, utc(2024, 11, 4, 6, 30)]
    assert fires("30 1 * * *", utc(2024, 11, 3), 2, "America/New_York") == expected


def test_dst_fold_ticks_between() -> None:
    schedule = Schedule("*/30 * * * *", "America/New_York")
    ticks = schedule.ticks_between(utc(2024, 11, 3, 4), utc(2024, 11, 3, 8), 10)
    # 00:30, 01:00 and 01:30 EDT; then 02:00, 02:30 and 03:00 EST.
    hours = [(4, 30), (5, 0), (5, 30), (7, 0), (7, 30), (8, 0)]
    assert ticks == [utc(2024, 11, 3, h, m) for h, m in hours]


def test_dst_fold_from_inside_the_second_pass() -> None:
    schedule = Schedule("*/30 * * * *", "America/New_York")
    second_pass = local(NEW_YORK, 2024, 11, 3, 1, 15, fold=1)
    assert second_pass == utc(2024, 11, 3, 6, 15)
    assert schedule.next_after(second_pass) == utc(2024, 11, 3, 7)  # 02:00 EST
    ticks = schedule.ticks_between(utc(2024, 11, 3, 4), second_pass, 10)
    assert ticks == [utc(2024, 11, 3, 4, 30), utc(2024, 11, 3, 5), utc(2024, 11, 3, 5, 30)]


def test_dst_fold_latest_tick_of_the_first_pass() -> None:
    # At 01:30 EST, 01:59 EDT has already passed though its wall time is later.
    schedule = Schedule("59 1 * * *", "America/New_York")
    ticks = schedule.ticks_between(utc(2024, 11, 3), utc(2024, 11, 3, 6, 30), 5)
    assert ticks == [utc(2024, 11, 3, 5, 59)]


def test_zone_with_a_half_hour_change() -> None:
    # Lord Howe Island moves from UTC+10:30 to UTC+11 on 2024-10-06 at 02:00.
    schedule = Schedule("15 2 * * *", "Australia/Lord_Howe")
    assert schedule.next_after(utc(2024, 10, 4, 12)) == utc(2024, 10, 4, 15, 45)
    assert schedule.next_after(utc(2024, 10, 4, 15, 45)) == utc(2024, 10, 6, 15, 15)


def test_a_day_the_zone_skips_is_skipped() -> None:
    # Samoa skipped 2011-12-30 entirely; a schedule for only that day fires next in 2012.
    apia = ZoneInfo("Pacific/Apia")
    tick = Schedule("0 12 30 12 *", "Pacific/Apia").next_after(utc(2011, 12, 1))
    assert tick == local(apia, 2012, 12, 30, 12, 0)
