"""What `/system/schedules` shows of a schedule: its next ticks, last tick and pause."""

from __future__ import annotations

from datetime import UTC, datetime

from faas.schedule import Schedule
from faas.spec import FunctionSpec
from gateway.schedulestatus import next_ticks, status
from gateway.ticks import LastTick

AT = datetime(2026, 3, 28, 12, 0, tzinfo=UTC).timestamp()  # the day before Paris's DST starts


def test_the_next_ticks_are_read_in_the_schedule_s_zone_and_written_in_utc() -> None:
    paris = Schedule("30 2 * * *", timezone="Europe/Paris")
    # 02:30 does not exist in Paris on 29 March 2026: that day does not fire
    assert next_ticks(paris, AT, 3) == [
        "2026-03-30T00:30:00Z",
        "2026-03-31T00:30:00Z",
        "2026-04-01T00:30:00Z",
    ]


def test_the_next_ticks_of_an_interval_and_of_a_rare_date() -> None:
    assert next_ticks(Schedule("@every 10s"), 25.0, 3) == [
        "1970-01-01T00:00:30Z",
        "1970-01-01T00:00:40Z",
        "1970-01-01T00:00:50Z",
    ]
    leap_days = next_ticks(Schedule("0 0 29 2 *"), AT, 5)
    assert leap_days == [f"{year}-02-29T00:00:00Z" for year in range(2028, 2045, 4)]


def test_a_row_says_whether_the_schedule_is_paused_and_since_when() -> None:
    spec = FunctionSpec.from_deployment({"service": "beat", "image": "i"})
    schedule = Schedule("@every 60s", callback_url="http://hook.test/x")
    last = LastTick(AT - 60, "beat-20260328T115900Z")
    row = status(spec, schedule, last, "2026-03-28T11:59:30Z", AT)
    assert row.to_json() == {
        "name": "beat",
        "namespace": "openfaas-fn",
        "schedule": "@every 60s",
        "timezone": "UTC",
        "overlap": "allow",
        "missed": "skip",
        "catchUpLimit": 1,
        "callbackUrl": "http://hook.test/x",
        "nextTick": "2026-03-28T12:01:00Z",
        "nextTicks": [f"2026-03-28T12:0{m}:00Z" for m in range(1, 6)],
        "lastTick": "2026-03-28T11:59:00Z",
        "lastRun": "beat-20260328T115900Z",
        "paused": True,
        "pausedAt": "2026-03-28T11:59:30Z",
    }
    running = status(spec, schedule, None, None, AT)
    assert (running.paused, running.pausedAt, running.lastTick) == (False, None, None)
