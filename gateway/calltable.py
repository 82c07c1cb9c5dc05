"""Call summaries in memory, kept in creation order: a page, a time range or a function's calls
are found by bisection, never by sorting on a request."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter

from faas.records import CallState
from gateway.callquery import CallQuery
from gateway.callsummary import CallSummary, order_of

_ORDER = attrgetter("order")


@dataclass(frozen=True)
class CallPage:
    """Calls newest first; `next` is the cursor of the page after, None on the last one."""

    calls: list[CallSummary]
    next: str | None = None


class CallTable:
    """Every summary in creation order, all of them and each function's; a summary is found
    by its order (the key of its record), by bisection: no map by call id costs memory."""

    def __init__(self) -> None:
        self._ordered: list[CallSummary] = []
        self._by_function: dict[str, list[CallSummary]] = {}
        self._counts: Counter[tuple[str, CallState]] = Counter()

    def __len__(self) -> int:
        return len(self._ordered)

    def get(self, key: str) -> CallSummary | None:
        """The summary of the record under this key, if it is held."""
        function, order = order_of(key)
        rows = self._ordered
        at = bisect.bisect_left(rows, order, key=_ORDER)
        while at < len(rows) and rows[at].order == order:
            if rows[at].function == function:
                return rows[at]
            at += 1  # the same order under another function's key
        return None

    def count(self, function: str, state: CallState) -> int:
        """How many of the function's calls are in that state now."""
        return self._counts[function, state]

    def functions(self) -> list[str]:
        """Every function a summary is of."""
        return sorted(self._by_function)

    def load(self, summaries: Iterable[CallSummary]) -> None:
        """Hold these and nothing else, sorted once (a bulk load inserts nothing one by one)."""
        self._ordered = sorted(summaries, key=_ORDER)
        self._by_function = {}
        for summary in self._ordered:
            self._by_function.setdefault(summary.function, []).append(summary)
        self._counts = Counter((s.function, s.state) for s in self._ordered)

    def put(self, summary: CallSummary) -> CallSummary | None:
        """Hold the summary, in place of the one of the same key, which is returned."""
        previous = self.get(summary.key)
        if previous is not None:
            self._replace(self._ordered, previous, summary)
            self._replace(self._by_function[summary.function], previous, summary)
            self._counts[previous.function, previous.state] -= 1
        else:  # a new call: near the end
            bisect.insort(self._ordered, summary, key=_ORDER)
            bisect.insort(self._by_function.setdefault(summary.function, []), summary, key=_ORDER)
        self._counts[summary.function, summary.state] += 1
        return previous

    def remove(self, key: str) -> CallSummary | None:
        """Forget the summary of the record under this key, if it is held."""
        summary = self.get(key)
        if summary is None:
            return None
        del self._ordered[self._index(self._ordered, summary)]
        rows = self._by_function[summary.function]
        del rows[self._index(rows, summary)]
        self._set_function(summary.function, rows)
        self._counts[summary.function, summary.state] -= 1
        return summary

    def remove_oldest(self, gone: list[CallSummary]) -> None:
        """Forget these, all among the oldest: each list is cut once, not once per call."""
        if not gone:
            return
        doomed = {id(s) for s in gone}
        last = max(s.order for s in gone)
        self._ordered = _without(self._ordered, doomed, last)
        for function in {s.function for s in gone}:
            kept = _without(self._by_function[function], doomed, last)
            self._set_function(function, kept)
        for summary in gone:
            self._counts[summary.function, summary.state] -= 1

    def page(self, query: CallQuery, limit: int, before: str | None = None) -> CallPage:
        """Up to `limit` calls the query matches, newest first, older than the cursor."""
        rows = (
            self._ordered if query.function is None else self._by_function.get(query.function, [])
        )
        lo, hi = self._bounds(rows, query)
        if before is not None:
            hi = max(lo, min(hi, bisect.bisect_left(rows, before, lo, hi, key=_ORDER)))
        found: list[CallSummary] = []
        for at in range(hi - 1, lo - 1, -1):
            summary = rows[at]
            if query.matches_within(summary):
                if len(found) == limit:
                    return CallPage(found, found[-1].order)
                found.append(summary)
        return CallPage(found)

    def newest(self, since: int) -> Iterator[CallSummary]:
        """Calls created from `since` (microseconds) on, newest first."""
        rows = self._ordered
        first = bisect.bisect_left(rows, f"{since:017d}", key=_ORDER)
        return (rows[at] for at in range(len(rows) - 1, first - 1, -1))

    def oldest(self) -> Iterator[CallSummary]:
        """Every call, oldest first; nothing may change the table while this is read."""
        return iter(self._ordered)

    def _of(self, function: str) -> list[CallSummary]:
        return self._by_function.get(function, [])

    def _bounds(self, rows: list[CallSummary], query: CallQuery) -> tuple[int, int]:
        lo, hi = 0, len(rows)
        if query.since is not None:
            lo = bisect.bisect_left(rows, f"{query.since:017d}", key=_ORDER)
        if query.until is not None:
            hi = bisect.bisect_left(rows, f"{query.until:017d}", lo, key=_ORDER)
        return lo, max(lo, hi)

    def _replace(self, rows: list[CallSummary], old: CallSummary, new: CallSummary) -> None:
        rows[self._index(rows, old)] = new

    def _set_function(self, function: str, rows: list[CallSummary]) -> None:
        if rows:
            self._by_function[function] = rows
        else:
            self._by_function.pop(function, None)

    @staticmethod
    def _index(rows: list[CallSummary], summary: CallSummary) -> int:
        at = bisect.bisect_left(rows, summary.order, key=_ORDER)
        while at < len(rows) and rows[at].order == summary.order:
            if rows[at] is summary:
                return at
            at += 1  # the same order under another function's key
        raise LookupError(f"call {summary.call_id} is not where its order puts it")


def _without(rows: list[CallSummary], doomed: set[int], last: str) -> list[CallSummary]:
    """`rows` without the doomed, all at or before the order `last`."""
    cut = bisect.bisect_right(rows, last, key=_ORDER)
    return [s for s in rows[:cut] if id(s) not in doomed] + rows[cut:]
