"""One way to write and read times for the whole project: RFC 3339 in UTC, ending in `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def stamp(when: float | datetime, timespec: str = "microseconds") -> str:
    """`2026-12-02T14:40:00.123456Z` for a POSIX time or an aware datetime; `timespec` as
    `datetime.isoformat`'s (`seconds`, or `auto` to leave out zero microseconds)."""
    moment = when if isinstance(when, datetime) else datetime.fromtimestamp(when, UTC)
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def parse(text: str) -> datetime:
    """An RFC 3339 time (`Z` or an offset; without one, UTC); ValueError when it is none."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
