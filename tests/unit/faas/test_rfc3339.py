"""Unit tests of faas.rfc3339: the one way times are written and read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from faas import rfc3339


def test_a_posix_time_is_written_in_utc_with_microseconds_and_z() -> None:
    assert rfc3339.stamp(1_800_000_000.25) == "2027-01-15T08:00:00.250000Z"


def test_an_aware_datetime_is_written_in_utc() -> None:
    paris = datetime(2027, 1, 15, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    assert rfc3339.stamp(paris, "seconds") == "2027-01-15T08:00:00Z"
    assert rfc3339.stamp(paris, "auto") == "2027-01-15T08:00:00Z"


@pytest.mark.parametrize(
    "text", ["2027-01-15T08:00:00Z", "2027-01-15T09:00:00+01:00", "2027-01-15T08:00:00"]
)
def test_a_time_is_read_with_z_an_offset_or_no_zone(text: str) -> None:
    assert rfc3339.parse(text) == datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


def test_what_it_writes_it_reads_back() -> None:
    written = rfc3339.stamp(1_795_000_000.123456)
    assert rfc3339.stamp(rfc3339.parse(written)) == written


def test_a_non_time_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        rfc3339.parse("yesterday")
