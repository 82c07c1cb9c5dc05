"""What `/system/schedules` shows of a scheduled function: its expression and policies, its
next ticks, its last one, whether it is paused, and (for one function) its recent ticks."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from faas.records import CallState
from faas.schedule import Schedule
from faas.spec import NAMESPACE, FunctionSpec
from gateway.ticks import LastTick, iso

NEXT_TICKS = 5


@dataclass(frozen=True)
class TickRun:
    """A past tick and the call that decided it (run, skipped, ...)."""

    tick: str
    callId: str
    state: CallState


@dataclass(frozen=True)
class ScheduleStatus:
    """One row of `GET /system/schedules`; field names are its JSON names."""

    name: str
    namespace: str
    schedule: str
    timezone: str
    overlap: str
    missed: str
    catchUpLimit: int
    callbackUrl: str | None
    nextTick: str | None
    nextTicks: list[str]
    lastTick: str | None
    lastRun: str | None
    paused: bool
    pausedAt: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScheduleDetail(ScheduleStatus):
    """`GET /system/schedules/{name}`: the row, and the recent ticks, newest first."""

    ticks: list[TickRun] = field(default_factory=list)


def status(
    spec: FunctionSpec, schedule: Schedule, last: LastTick | None, paused_at: str | None, at: float
) -> ScheduleStatus:
    upcoming = next_ticks(schedule, at, NEXT_TICKS)
    return ScheduleStatus(
        name=spec.name,
        namespace=NAMESPACE,
        schedule=schedule.expression,
        timezone=schedule.timezone,
        overlap=str(schedule.overlap),
        missed=str(schedule.missed),
        catchUpLimit=schedule.catch_up_limit,
        callbackUrl=schedule.callback_url,
        nextTick=upcoming[0] if upcoming else None,
        nextTicks=upcoming,
        lastTick=iso(last.tick) if last else None,
        lastRun=last.call_id if last else None,
        paused=paused_at is not None,
        pausedAt=paused_at,
    )


def next_ticks(schedule: Schedule, at: float, count: int) -> list[str]:
    """The next `count` ticks after `at` (fewer if the expression matches no more for years),
    as RFC 3339 times in UTC, found by the expression read in the schedule's time zone."""
    ticks: list[str] = []
    tick = at
    while len(ticks) < count and math.isfinite(tick := schedule.next_after(tick)):
        ticks.append(iso(tick))
    return ticks
