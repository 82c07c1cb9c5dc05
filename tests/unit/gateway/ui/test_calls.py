"""Unit tests of gateway.ui.calls: the list's filter, kept in the URL and read by the API."""

from __future__ import annotations

from starlette.datastructures import QueryParams

from faas.records import CallState
from gateway.callquery import CallQuery
from gateway.ui.calls import CallFilter


def test_the_filter_round_trips_through_the_url() -> None:
    chosen = CallFilter.from_query(QueryParams("function=wc&state=failed&exitCode=3&since=x"))
    assert chosen == CallFilter("wc", "failed", "3", "x")
    assert CallFilter.from_query(QueryParams(chosen.query())) == chosen
    assert "before=" not in chosen.query()
    assert chosen.query(before="c").endswith("before=c")


def test_the_form_times_are_read_as_utc_by_the_api() -> None:
    chosen = CallFilter(since="2024-05-01T10:00", until="2024-05-01T11:00:30")
    params = chosen.api_params()
    assert (params["since"], params["until"]) == ("2024-05-01T10:00:00Z", "2024-05-01T11:00:30Z")
    query = CallQuery.from_params(params)
    assert query.since == 1714557600 * 1_000_000
    assert CallFilter(since="2024-05-01T10:00:00+02:00").api_params()["since"].endswith("+02:00")


def test_the_api_reads_state_and_exit_code() -> None:
    query = CallQuery.from_params(CallFilter("wc", "failed", "3").api_params())
    assert (query.function, query.states, query.exit_code) == (
        "wc",
        frozenset({CallState.FAILED}),
        3,
    )
