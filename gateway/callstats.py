"""The overview of the platform: per function, its calls over a window, what runs and waits now;
and the watchdogs with their capacity and use.

Over the window, calls are counted by their creation time. A call's outcome counts once it is
final: succeeded, or an error (failed, timed out, given up after its retries); cancelled and
skipped calls are neither, and left out of the error rate and the durations.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client
from nats.js.errors import APIError

from faas import bus, rfc3339
from faas.errors import SpecError
from faas.records import CallState
from faas.wire import Heartbeat
from gateway.callindex import CallIndex
from gateway.callsummary import CallSummary
from gateway.errors import FunctionNotFound
from gateway.presence import Presence
from gateway.registry import Registry

DEFAULT_WINDOW = 900.0  # seconds: the last 15 minutes
PERCENTILES = (50, 95, 99)
INFO_WAIT = 10.0
OPEN, SUCCEEDED, ERROR, NEITHER = range(4)  # what a call's state counts as


def _outcome(state: CallState) -> int:
    if not state.final:
        return OPEN
    if state is CallState.SUCCEEDED:
        return SUCCEEDED
    return NEITHER if state in (CallState.CANCELLED, CallState.SKIPPED) else ERROR


_OUTCOME = {state: _outcome(state) for state in CallState}


@dataclass
class FunctionStats:
    """One function: its calls created in the window, and its calls running and waiting now."""

    function: str
    per_minute: list[int] = field(default_factory=list)  # calls created each minute, oldest first
    outcomes: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # OPEN .. NEITHER
    durations: list[float] = field(default_factory=list)  # of the succeeded and the errors
    running: int = 0
    queued: int = 0
    max_concurrency: int | None = None  # its cap on async calls at once; None: none
    backlog: int = 0  # its messages in the async queue: waiting, or taken and not yet done

    @property
    def calls(self) -> int:
        return sum(self.per_minute)

    @property
    def error_rate(self) -> float | None:
        """Errors among the calls that ended succeeded or in error; None when none did."""
        ended = self.outcomes[SUCCEEDED] + self.outcomes[ERROR]
        return self.outcomes[ERROR] / ended if ended else None

    def percentile(self, p: float) -> float | None:
        """The nearest-rank percentile of the durations; None without any."""
        if not self.durations:
            return None
        ranked = sorted(self.durations)
        return ranked[max(0, math.ceil(p / 100 * len(ranked)) - 1)]

    def to_json(self, window: float) -> dict[str, Any]:
        return {
            "function": self.function,
            "calls": self.calls,
            "callsPerMinute": self.calls / (window / 60),
            "perMinute": self.per_minute,
            "succeeded": self.outcomes[SUCCEEDED],
            "errors": self.outcomes[ERROR],
            "cancelled": self.outcomes[NEITHER],
            "errorRate": self.error_rate,
            "durationSeconds": {f"p{p}": self.percentile(p) for p in PERCENTILES},
            "running": self.running,
            "queued": self.queued,
            "maxConcurrency": self.max_concurrency,
            "backlog": self.backlog,
        }


@dataclass(frozen=True)
class Overview:
    at: float  # POSIX seconds
    window: float
    functions: list[FunctionStats]
    watchdogs: list[Heartbeat]

    def to_json(self) -> dict[str, Any]:
        return {
            "at": rfc3339.stamp(self.at),
            "windowSeconds": self.window,
            "functions": [f.to_json(self.window) for f in self.functions],
            "watchdogs": [
                {
                    "watchdog": w.watchdog,
                    "capacity": w.capacity,
                    "inUse": w.in_use,
                    "state": str(w.state),
                }
                for w in self.watchdogs
            ],
        }


class CallStats:
    """The overview, from the call index, the registry, the watchdogs' heartbeats and the
    async queue."""

    def __init__(
        self, index: CallIndex, registry: Registry, presence: Presence, nc: Client
    ) -> None:
        self.index = index
        self.registry = registry
        self.presence = presence
        self.nc = nc

    async def overview(self, window: float = DEFAULT_WINDOW) -> Overview:
        """Every function deployed or with calls in the window, running or waiting now."""
        table = await self.index.table()
        backlog = await self.backlog()
        at = time.time()
        stats = count_window(table.newest(int((at - window) * 1_000_000)), at, window)
        for function in {*self.registry.names(), *table.functions(), *backlog}:
            now = stats.get(function) or FunctionStats(function, per_minute=_minutes(window))
            now.running = table.count(function, CallState.RUNNING)
            now.queued = table.count(function, CallState.QUEUED)
            now.backlog = backlog.get(function, 0)
            now.max_concurrency = self._cap(function)
            if now.calls or now.running or now.queued or now.backlog or function in self.registry:
                stats[function] = now
        return Overview(at, window, [stats[f] for f in sorted(stats)], self.presence.heard())

    def _cap(self, function: str) -> int | None:
        """The function's cap on async calls at once; None when it has none (or is gone)."""
        try:
            return self.registry.get(function).max_concurrency
        except (FunctionNotFound, SpecError):
            return None

    async def backlog(self) -> dict[str, int]:
        """Each function's messages in the async queue (its capped and uncapped subjects),
        from the stream's count per subject: one question to the server."""
        counts: Counter[str] = Counter()
        for subject, n in (await self._subjects(bus.ASYNC_STREAM, "faas.async.>")).items():
            counts[subject.rpartition(".")[2]] += n
        return dict(counts)

    async def _subjects(self, stream: str, subjects: str) -> dict[str, int]:
        found: dict[str, int] = {}
        while True:
            query = {"subjects_filter": subjects, "offset": len(found)}
            reply = await self.nc.request(
                f"$JS.API.STREAM.INFO.{stream}", json.dumps(query).encode(), timeout=INFO_WAIT
            )
            info = json.loads(reply.data)
            if "error" in info:
                APIError.from_error(info["error"])  # raises it
            page = (info.get("state") or {}).get("subjects") or {}
            found.update(page)
            if not page or len(found) >= info.get("total", 0):
                return found


def count_window(
    newest: Iterable[CallSummary], at: float, window: float
) -> dict[str, FunctionStats]:
    """Count the calls, newest first, created in the `window` seconds up to `at`; each
    minute's edge is an order, compared as one."""
    stats: dict[str, FunctionStats] = {}
    bins = len(_minutes(window))
    minute, edge = bins - 1, _order_at(at - 60)
    for summary in newest:
        while summary.order < edge and minute:
            minute -= 1
            edge = _order_at(at - 60 * (bins - minute))
        function = stats.get(summary.function)
        if function is None:
            function = FunctionStats(summary.function, per_minute=[0] * bins)
            stats[summary.function] = function
        function.per_minute[minute] += 1
        outcome = _OUTCOME[summary.state]
        function.outcomes[outcome] += 1
        if summary.duration is not None and outcome in (SUCCEEDED, ERROR):
            function.durations.append(summary.duration)
    return stats


def _minutes(window: float) -> list[int]:
    return [0] * max(1, math.ceil(window / 60))


def _order_at(seconds: float) -> str:
    """The order of a call created at that time, before any call id: calls created before it
    sort before it."""
    return f"{int(seconds * 1_000_000):017d}"
