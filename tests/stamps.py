"""Checks of the timestamps records carry."""

from __future__ import annotations

from datetime import UTC, datetime


def is_now(stamp: str) -> bool:
    """Whether `stamp` is this moment in UTC, written with a trailing Z."""
    if not stamp.endswith("Z"):
        return False
    when = datetime.fromisoformat(stamp.removesuffix("Z") + "+00:00")
    return abs((datetime.now(UTC) - when).total_seconds()) < 60
