"""When a function runs on its own: cron-connector style schedules from its annotations; the
expressions themselves are evaluated by faas.cron."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from faas.callback import check_url
from faas.cron import Cron, Every, parse_rule
from faas.errors import SpecError

TOPIC_ANNOTATION = "topic"
CRON_TOPIC = "cron-function"  # OpenFaaS cron-connector's topic
SCHEDULE_ANNOTATION = "schedule"
TIMEZONE_ANNOTATION = "com.faas.schedule.timezone"
OVERLAP_ANNOTATION = "com.faas.schedule.overlap"
MISSED_ANNOTATION = "com.faas.schedule.missed"
CATCH_UP_LIMIT_ANNOTATION = "com.faas.schedule.catch-up-limit"
CALLBACK_URL_ANNOTATION = "com.faas.schedule.callback-url"
DEFAULT_TIMEZONE = "UTC"
MAX_CATCH_UP_LIMIT = 100

_WHOLE = re.compile(r"[0-9]+")
_E = TypeVar("_E", bound=StrEnum)


class Overlap(StrEnum):
    """What to do when a tick comes while the previous scheduled call still runs."""

    ALLOW = "allow"
    FORBID = "forbid"
    REPLACE = "replace"


class Missed(StrEnum):
    """What to do with ticks that passed while nobody was there to fire them."""

    SKIP = "skip"
    CATCH_UP = "catch-up"


@dataclass(frozen=True)
class Schedule:
    """A function's schedule: when it fires, and how overlapping and missed ticks are handled."""

    expression: str
    timezone: str = DEFAULT_TIMEZONE
    overlap: Overlap = Overlap.ALLOW
    missed: Missed = Missed.SKIP
    catch_up_limit: int = 1
    callback_url: str | None = None
    _rule: Cron | Every = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        zone = _load_zone(self.timezone)
        object.__setattr__(self, "_rule", _parse_rule(self.expression, zone))
        if not 1 <= self.catch_up_limit <= MAX_CATCH_UP_LIMIT:
            raise _invalid(
                CATCH_UP_LIMIT_ANNOTATION, str(self.catch_up_limit), _CATCH_UP_LIMIT_RANGE
            )
        if self.callback_url is not None:
            _check_callback_url(self.callback_url)

    def next_after(self, t: float) -> float:
        """The first tick strictly after Unix time `t`; math.inf if none comes within years."""
        return self._rule.next_after(t)

    def ticks_between(self, a: float, b: float, limit: int) -> list[float]:
        """The last `limit` ticks t with a < t <= b, oldest first."""
        if limit < 1 or b <= a:
            return []
        return self._rule.ticks_between(a, b, limit)


def from_annotations(annotations: Mapping[str, str]) -> Schedule | None:
    """The schedule a function's annotations declare, or None if it is not a cron function."""
    if annotations.get(TOPIC_ANNOTATION) != CRON_TOPIC:
        return None
    expression = annotations.get(SCHEDULE_ANNOTATION)
    if expression is None:
        raise SpecError(
            f'{SCHEDULE_ANNOTATION}: missing, a function with topic "{CRON_TOPIC}" needs one'
        )
    return Schedule(
        expression=expression,
        timezone=annotations.get(TIMEZONE_ANNOTATION, DEFAULT_TIMEZONE),
        overlap=_choice(annotations, OVERLAP_ANNOTATION, Overlap, Overlap.ALLOW),
        missed=_choice(annotations, MISSED_ANNOTATION, Missed, Missed.SKIP),
        catch_up_limit=_catch_up_limit(annotations.get(CATCH_UP_LIMIT_ANNOTATION)),
        callback_url=annotations.get(CALLBACK_URL_ANNOTATION),
    )


# Annotations other than the expression


_CATCH_UP_LIMIT_RANGE = f"must be a whole number from 1 to {MAX_CATCH_UP_LIMIT}"


def _invalid(annotation: str, value: str, problem: str) -> SpecError:
    return SpecError(f'{annotation} "{value}": {problem}')


def _load_zone(name: str) -> tzinfo:
    if name == DEFAULT_TIMEZONE:
        return UTC  # needs no tz database
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _invalid(TIMEZONE_ANNOTATION, name, "unknown time zone") from None


def _choice(annotations: Mapping[str, str], annotation: str, kind: type[_E], default: _E) -> _E:
    value = annotations.get(annotation)
    if value is None:
        return default
    try:
        return kind(value)
    except ValueError:
        names = [str(member) for member in kind]
        choices = ", ".join(names[:-1]) + " or " + names[-1]
        raise _invalid(annotation, value, f"must be {choices}") from None


def _catch_up_limit(value: str | None) -> int:
    if value is None:
        return 1
    if not _WHOLE.fullmatch(value):
        raise _invalid(CATCH_UP_LIMIT_ANNOTATION, value, _CATCH_UP_LIMIT_RANGE)
    return int(value)  # the range is checked by Schedule


def _check_callback_url(url: str) -> None:
    try:
        check_url(url)
    except SpecError:
        raise _invalid(
            CALLBACK_URL_ANNOTATION, url, "must be an http or https URL with a host"
        ) from None


def _parse_rule(expression: str, zone: tzinfo) -> Cron | Every:
    try:
        return parse_rule(expression, zone)
    except SpecError as error:
        raise _invalid(SCHEDULE_ANNOTATION, expression, str(error)) from None
