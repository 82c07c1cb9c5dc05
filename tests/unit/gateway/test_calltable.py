"""Unit tests of gateway.calltable: summaries in creation order, paged by bisection."""

from __future__ import annotations

import itertools
import random

from faas.records import CallState
from gateway.callquery import CallQuery
from gateway.callsummary import CallSummary
from gateway.calltable import CallPage, CallTable

BASE = 1_777_629_600_000_000  # microseconds


def call(
    n: int,
    function: str = "f",
    state: CallState = CallState.SUCCEEDED,
    kind: str = "async",
    exit_code: int | None = None,
) -> CallSummary:
    """The n-th call, created n seconds after BASE."""
    order = f"{BASE + n * 1_000_000:017d}.c{n:06d}"
    return CallSummary(order, function, kind, state, exit_code=exit_code)


def ids(page: CallPage) -> list[str]:
    return [s.call_id for s in page.calls]


def every_page(table: CallTable, query: CallQuery, limit: int) -> list[list[str]]:
    """The call ids of each page, following the cursors to the last page."""
    pages, before = [], None
    while True:
        page = table.page(query, limit, before)
        pages.append(ids(page))
        if page.next is None:
            return pages
        before = page.next


def flat(pages: list[list[str]]) -> list[str]:
    return list(itertools.chain.from_iterable(pages))


def table_of(*summaries: CallSummary) -> CallTable:
    table = CallTable()
    for summary in summaries:
        table.put(summary)
    return table


def test_calls_are_listed_newest_first_across_functions() -> None:
    calls = [call(n, f"f{n % 3}") for n in range(10)]
    random.Random(1).shuffle(calls)
    table = table_of(*calls)
    assert ids(table.page(CallQuery(), 4)) == ["c000009", "c000008", "c000007", "c000006"]
    assert ids(table.page(CallQuery(function="f1"), 10)) == ["c000007", "c000004", "c000001"]
    assert len(table) == 10


def test_a_bulk_load_orders_as_puts_do() -> None:
    calls = [call(n, f"f{n % 3}") for n in range(50)]
    loaded = CallTable()
    loaded.load(random.Random(2).sample(calls, len(calls)))
    put = table_of(*calls)
    for query in (CallQuery(), CallQuery(function="f2")):
        assert every_page(loaded, query, 7) == every_page(put, query, 7)
    assert loaded.count("f0", CallState.SUCCEEDED) == 17


def test_the_same_instant_is_ordered_by_call_id() -> None:
    a = CallSummary(f"{BASE:017d}.a", "f", "async", CallState.QUEUED)
    b = CallSummary(f"{BASE:017d}.b", "g", "async", CallState.QUEUED)
    table = table_of(b, a)
    assert ids(table.page(CallQuery(), 5)) == ["b", "a"]
    assert every_page(table, CallQuery(), 1) == [["b"], ["a"]]


def test_each_filter_narrows_the_listing() -> None:
    table = table_of(
        call(1, "f", CallState.SUCCEEDED, exit_code=0),
        call(2, "f", CallState.FAILED, exit_code=3),
        call(3, "g", CallState.TIMED_OUT),
        call(4, "g", CallState.FAILED, exit_code=3, kind="sync"),
        call(5, "f", CallState.RUNNING),
    )
    failed = frozenset({CallState.FAILED, CallState.TIMED_OUT})
    assert ids(table.page(CallQuery(states=failed), 10)) == ["c000004", "c000003", "c000002"]
    assert ids(table.page(CallQuery(exit_code=3), 10)) == ["c000004", "c000002"]
    assert ids(table.page(CallQuery(function="f", exit_code=3), 10)) == ["c000002"]
    assert ids(table.page(CallQuery(kind="sync"), 10)) == ["c000004"]
    assert ids(table.page(CallQuery(call="c00000"), 2)) == ["c000005", "c000004"]
    assert ids(table.page(CallQuery(call="c000003"), 10)) == ["c000003"]
    assert ids(table.page(CallQuery(function="nobody"), 10)) == []


def test_since_and_until_bound_the_creation_time() -> None:
    table = table_of(*(call(n) for n in range(10)))
    second = 1_000_000
    window = CallQuery(since=BASE + 3 * second, until=BASE + 6 * second)
    assert ids(table.page(window, 10)) == ["c000005", "c000004", "c000003"]
    assert ids(table.page(CallQuery(since=BASE + 3 * second + 1), 10))[-1] == "c000004"
    assert ids(table.page(CallQuery(until=BASE), 10)) == []
    assert every_page(table, window, 2) == [["c000005", "c000004"], ["c000003"]]


def test_the_cursor_goes_through_every_call_once_and_says_when_it_is_the_last() -> None:
    table = table_of(*(call(n, f"f{n % 2}") for n in range(25)))
    pages = every_page(table, CallQuery(), 10)
    assert [len(p) for p in pages] == [10, 10, 5]
    assert flat(pages) == [f"c{n:06d}" for n in reversed(range(25))]
    exact = every_page(table, CallQuery(function="f0"), 13)  # 13 calls of f0: one full page
    assert exact == [[f"c{n:06d}" for n in reversed(range(0, 25, 2))]]


def test_a_cursor_past_the_oldest_call_gives_an_empty_last_page() -> None:
    table = table_of(call(5))
    page = table.page(CallQuery(), 10, f"{BASE:017d}.a")
    assert page == CallPage([], None)


def test_a_put_replaces_the_calls_summary_and_its_counts() -> None:
    table = table_of(call(1, state=CallState.QUEUED), call(2, state=CallState.QUEUED))
    assert table.count("f", CallState.QUEUED) == 2
    previous = table.put(call(1, state=CallState.RUNNING))
    assert previous == call(1, state=CallState.QUEUED)
    assert len(table) == 2
    assert table.count("f", CallState.QUEUED) == 1
    assert table.count("f", CallState.RUNNING) == 1
    running = frozenset({CallState.RUNNING})
    assert ids(table.page(CallQuery(function="f", states=running), 5)) == ["c000001"]
    assert table.get(call(1).key) == call(1, state=CallState.RUNNING)


def test_a_removed_call_is_gone_everywhere() -> None:
    table = table_of(call(1, "f"), call(2, "g"), call(3, "f"))
    assert table.remove(call(2, "g").key) == call(2, "g")
    assert table.remove(call(2, "g").key) is None
    assert table.remove(call(1, "other").key) is None  # another key: nothing held there
    assert ids(table.page(CallQuery(), 5)) == ["c000003", "c000001"]
    assert table.functions() == ["f"]
    assert table.count("g", CallState.SUCCEEDED) == 0
    assert table.get(call(2, "g").key) is None


def test_the_oldest_are_removed_at_once() -> None:
    table = table_of(*(call(n, f"f{n % 2}") for n in range(10)))
    old = list(table.oldest())[:4]
    table.remove_oldest([old[0], old[1], old[3]])
    assert ids(table.page(CallQuery(), 10))[-2:] == ["c000004", "c000002"]
    assert ids(table.page(CallQuery(function="f1"), 10)) == ["c000009", "c000007", "c000005"]
    assert len(table) == 7


def test_newest_gives_the_calls_created_since_newest_first() -> None:
    table = table_of(*(call(n) for n in range(5)))
    assert [s.call_id for s in table.newest(BASE + 3 * 1_000_000)] == ["c000004", "c000003"]


def test_a_hundred_thousand_calls_page_correctly() -> None:
    functions = ["alpha", "beta", "gamma", "delta"]
    states = [CallState.SUCCEEDED] * 8 + [CallState.FAILED, CallState.RUNNING]
    calls = [call(n, functions[n % 4], states[n % 10]) for n in range(100_000)]
    table = CallTable()
    table.load(calls)
    assert len(table) == 100_000
    first = table.page(CallQuery(), 50)
    assert ids(first) == [f"c{n:06d}" for n in range(99_999, 99_949, -1)]
    pages = every_page(table, CallQuery(), 1000)
    assert len(pages) == 100
    assert flat(pages) == [f"c{n:06d}" for n in reversed(range(100_000))]
    failed = CallQuery(function="gamma", states=frozenset({CallState.FAILED}))
    failing = flat(every_page(table, failed, 333))
    expected = [
        c.call_id for c in reversed(calls) if c.function == "gamma" and c.state is CallState.FAILED
    ]
    assert failing == expected and len(expected) == 5_000
    deep = table.page(CallQuery(function="beta"), 3, calls[10_001].order)
    assert ids(deep) == ["c009997", "c009993", "c009989"]
    table.put(call(100_000, "alpha", CallState.QUEUED))
    assert ids(table.page(CallQuery(), 1)) == ["c100000"]
    assert table.count("alpha", CallState.QUEUED) == 1
