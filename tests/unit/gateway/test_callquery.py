"""Unit tests of gateway.callquery: filters on calls, read from a query string."""

from __future__ import annotations

import pytest
from starlette.datastructures import QueryParams

from faas.errors import SpecError
from faas.records import CallState
from gateway.callquery import CallQuery, cursor
from gateway.callsummary import CallSummary
from gateway.errors import BadRequest

SUMMARY = CallSummary(
    "01777629600000000.abc123", "hello", "async", CallState.FAILED, exit_code=3, status=500
)
CREATED = 1_777_629_600_000_000


def query(text: str) -> CallQuery:
    return CallQuery.from_params(QueryParams(text))


def test_an_empty_query_string_matches_every_call() -> None:
    assert query("") == CallQuery()
    assert CallQuery().matches(SUMMARY)


def test_every_filter_is_read() -> None:
    assert query(
        "function=hello&state=failed&state=timed_out,given_up&exitCode=-3&kind=async"
        "&call=abc&since=2026-05-01T10:00:00Z&until=2026-05-01T12:00:00%2B02:00"
    ) == CallQuery(
        function="hello",
        states=frozenset({CallState.FAILED, CallState.TIMED_OUT, CallState.GIVEN_UP}),
        exit_code=-3,
        kind="async",
        call="abc",
        since=CREATED,
        until=CREATED,
    )


def test_jobs_are_found_under_their_reserved_name() -> None:
    assert query("function=_job").function == "_job"


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("state=lost", "state must be among"),
        ("exitCode=x", "exitCode"),
        ("exitCode=%C2%B3", "exitCode"),
        ("exitCode=99999999999", "exitCode"),
        ("kind=batch", "kind"),
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
        ("call=" + "x" * 201, "call"),
    ],
)
def test_a_bad_filter_is_refused_saying_which(text: str, wanted: str) -> None:
    with pytest.raises(BadRequest, match=wanted):
        query(text)


def test_a_bad_function_name_is_refused() -> None:
    with pytest.raises(SpecError):
        query("function=Not_A_Name")


@pytest.mark.parametrize(
    ("filters", "matched"),
    [
        (CallQuery(function="hello"), True),
        (CallQuery(function="other"), False),
        (CallQuery(states=frozenset({CallState.FAILED, CallState.QUEUED})), True),
        (CallQuery(states=frozenset({CallState.SUCCEEDED})), False),
        (CallQuery(exit_code=3), True),
        (CallQuery(exit_code=0), False),
        (CallQuery(kind="async"), True),
        (CallQuery(kind="sync"), False),
        (CallQuery(call="abc"), True),
        (CallQuery(call="abc123"), True),
        (CallQuery(call="bc"), False),
        (CallQuery(since=CREATED, until=CREATED + 1), True),
        (CallQuery(since=CREATED + 1), False),
        (CallQuery(until=CREATED), False),
    ],
)
def test_a_call_matches_when_every_filter_does(filters: CallQuery, matched: bool) -> None:
    assert filters.matches(SUMMARY) is matched


def test_times_out_of_range_are_held_at_the_ends() -> None:
    assert query("since=1900-01-01T00:00:00Z").since == 0
    assert query("until=9999-12-31T23:59:59Z").until == 10**17 - 1


def test_a_cursor_is_a_summarys_order() -> None:
    assert cursor(QueryParams("")) is None
    assert cursor(QueryParams("before=01777629600000000.abc-1")) == "01777629600000000.abc-1"
    for bad in ("abc", "1777629600000000.abc", "01777629600000000.", "01777629600000000.a b"):
        with pytest.raises(BadRequest, match="before"):
            cursor(QueryParams({"before": bad}))
