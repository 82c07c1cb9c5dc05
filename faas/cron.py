"""Cron expressions (five fields, @aliases) and @every intervals, evaluated in a time zone
as OpenFaaS's cron-connector reads them: ticks a clock change skips are skipped, and a tick
in an hour the clock repeats fires once."""

from __future__ import annotations

import calendar
import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from faas.cronfields import DAYS, HOURS, MINUTES, MONTHS, WEEKDAYS
from faas.durations import nanoseconds
from faas.errors import SpecError

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)
# A cron expression that fires at all fires at least every 8 years (Feb 29 skips 2100), so a
# search that finds nothing within this span never will (it can only be DST gaps eating ticks).
_HORIZON = timedelta(days=3660)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # at most, Feb 29 exists
_CRON_FIELDS = "five fields (minute hour day-of-month month day-of-week)"


def parse_rule(text: str, zone: tzinfo) -> Cron | Every:
    """The rule of an expression, in the zone; SpecError saying what is wrong with it."""
    text = text.strip()
    if not text:
        raise SpecError('empty, write a cron expression like "*/5 * * * *" or @every 30s')
    head, *rest = text.split(None, 1)
    if head.lower() == "@every":
        return Every(_every_seconds("".join(rest)))
    if text.startswith("@"):
        text = _alias(text)
    return Cron(_parse_fields(text), zone)


def _alias(text: str) -> str:
    try:
        return ALIASES[text.lower()]
    except KeyError:
        known = ", ".join(ALIASES)
        raise SpecError(f"unknown alias, use {known} or @every <duration>") from None


def _every_seconds(text: str) -> int:
    if not text:
        raise SpecError("@every needs a duration, e.g. @every 30s")
    exact = nanoseconds(text)
    if exact is None:
        raise SpecError(f'"{text}" is not a duration, write e.g. 30s, 1m30s or 2h')
    seconds, rest = divmod(exact, 10**9)
    if rest or seconds < 1:
        raise SpecError("the interval must be a whole number of seconds, 1s or more")
    return int(seconds)


@dataclass(frozen=True)
class _Fields:
    """A parsed cron expression: the values each field matches, in wall-clock time."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: tuple[int, ...]
    weekdays: frozenset[int]  # 0 is Sunday
    any_day: bool  # day-of-month is `*`
    any_weekday: bool  # day-of-week is `*`

    def day_matches(self, day: date) -> bool:
        """Whether `day` is one to fire on; restricting both day fields means either may match."""
        on_day = day.day in self.days
        on_weekday = day.isoweekday() % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return on_day and on_weekday
        return on_day or on_weekday

    def at_or_after(self, start: datetime, limit: datetime) -> datetime | None:
        """The first matching wall minute from `start` on, None if none before `limit`."""
        day, clock = start.date(), (start.hour, start.minute)
        while day <= limit.date():
            if day.month not in self.months:
                day, clock = self._next_month(day), (0, 0)
                continue
            if self.day_matches(day) and (found := self._first_clock(*clock)):
                return datetime.combine(day, time(*found))
            day, clock = day + _DAY, (0, 0)
        return None

    def at_or_before(self, start: datetime, limit: datetime) -> datetime | None:
        """The last matching wall minute up to `start`, None if none after `limit`."""
        day, clock = start.date(), (start.hour, start.minute)
        while day >= limit.date():
            if day.month not in self.months:
                day, clock = self._previous_month(day), (23, 59)
                continue
            if self.day_matches(day) and (found := self._last_clock(*clock)):
                return datetime.combine(day, time(*found))
            day, clock = day - _DAY, (23, 59)
        return None

    def _next_month(self, day: date) -> date:
        """The first day of the next matching month after `day`'s."""
        i = bisect_right(self.months, day.month)
        if i < len(self.months):
            return date(day.year, self.months[i], 1)
        return date(day.year + 1, self.months[0], 1)

    def _previous_month(self, day: date) -> date:
        """The last day of the last matching month before `day`'s."""
        i = bisect_left(self.months, day.month)
        year, month = (day.year, self.months[i - 1]) if i else (day.year - 1, self.months[-1])
        return date(year, month, calendar.monthrange(year, month)[1])

    def _first_clock(self, hour: int, minute: int) -> tuple[int, int] | None:
        i = bisect_left(self.hours, hour)
        if i < len(self.hours) and self.hours[i] == hour:
            j = bisect_left(self.minutes, minute)
            if j < len(self.minutes):
                return hour, self.minutes[j]
            i += 1
        return (self.hours[i], self.minutes[0]) if i < len(self.hours) else None

    def _last_clock(self, hour: int, minute: int) -> tuple[int, int] | None:
        i = bisect_right(self.hours, hour) - 1
        if i >= 0 and self.hours[i] == hour:
            j = bisect_right(self.minutes, minute) - 1
            if j >= 0:
                return hour, self.minutes[j]
            i -= 1
        return (self.hours[i], self.minutes[-1]) if i >= 0 else None


def _parse_fields(text: str) -> _Fields:
    parts = text.split()
    if len(parts) != 5:
        raise SpecError(f"a cron expression has {_CRON_FIELDS}, this has {len(parts)}")
    minutes, _ = MINUTES.parse(parts[0])
    hours, _ = HOURS.parse(parts[1])
    days, any_day = DAYS.parse(parts[2])
    months, _ = MONTHS.parse(parts[3])
    weekdays, any_weekday = WEEKDAYS.parse(parts[4])
    if any_weekday and not any(day <= _DAYS_IN_MONTH[m - 1] for m in months for day in days):
        raise SpecError("never fires, none of its months has any of its days of the month")
    return _Fields(
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=days,
        months=tuple(sorted(months)),
        weekdays=frozenset(day % 7 for day in weekdays),
        any_day=any_day,
        any_weekday=any_weekday,
    )


@dataclass(frozen=True)
class Cron:
    """Ticks on the wall-clock minutes a cron expression matches in a time zone."""

    fields: _Fields
    zone: tzinfo

    def next_after(self, t: float) -> float:
        return next(self._ticks_up(t), math.inf)

    def ticks_between(self, a: float, b: float, limit: int) -> list[float]:
        ticks: list[float] = []
        for tick in self._ticks_down(b):
            if tick <= a or len(ticks) == limit:
                break
            ticks.append(tick)
        return ticks[::-1]

    def _ticks_up(self, t: float) -> Iterator[float]:
        """Ticks after `t`, earliest first."""
        # Existing wall times map to instants in the same order, so walk the wall clock.
        wall = self._wall(t)
        since = start = _floor_minute(wall) + _MINUTE
        while (found := self.fields.at_or_after(start, since + _HORIZON)) is not None:
            instant = self._instant(found)
            if instant is not None and instant > t:
                yield instant
                since = found
            start = found + _MINUTE

    def _ticks_down(self, t: float) -> Iterator[float]:
        """Ticks at or before `t`, latest first."""
        wall = self._wall(t)
        # In the second pass through a fold, the first pass's later minutes are still past.
        since = start = _floor_minute(wall) + _fold_lag(wall)
        while (found := self.fields.at_or_before(start, since - _HORIZON)) is not None:
            instant = self._instant(found)
            if instant is not None and instant <= t:
                yield instant
                since = found
            start = found - _MINUTE

    def _wall(self, t: float) -> datetime:
        # From whole seconds, so rounding to microseconds cannot carry into the next minute.
        return datetime.fromtimestamp(math.floor(t), self.zone)

    def _instant(self, wall: datetime) -> float | None:
        """The Unix time of a naive wall time, its first pass in a fold; None in a gap."""
        instant = wall.replace(tzinfo=self.zone, fold=0).timestamp()
        back = datetime.fromtimestamp(instant, self.zone).replace(tzinfo=None)
        return instant if back == wall else None


def _floor_minute(wall: datetime) -> datetime:
    return wall.replace(second=0, microsecond=0, tzinfo=None, fold=0)


def _fold_lag(wall: datetime) -> timedelta:
    """How far the clock was set back, if `wall` is in the second pass through a fold."""
    if not wall.fold:
        return timedelta(0)
    first, second = wall.replace(fold=0).utcoffset(), wall.utcoffset()
    assert first is not None and second is not None  # aware datetimes
    return max(first - second, timedelta(0))


@dataclass(frozen=True)
class Every:
    """Ticks on the multiples of a number of seconds since the Unix epoch, in any zone."""

    seconds: int

    def next_after(self, t: float) -> float:
        return float((self._index(t) + 1) * self.seconds)

    def ticks_between(self, a: float, b: float, limit: int) -> list[float]:
        last = self._index(b)
        first = max(self._index(a) + 1, last - limit + 1)
        return [float(i * self.seconds) for i in range(first, last + 1)]

    def _index(self, t: float) -> int:
        """The number of the last tick at or before `t`."""
        i = int(t // self.seconds)
        # Float division can round across a tick; comparing ints with floats is exact.
        while i * self.seconds > t:
            i -= 1
        while (i + 1) * self.seconds <= t:
            i += 1
        return i
