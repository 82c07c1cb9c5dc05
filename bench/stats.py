"""Latencies of one series of calls, summed up."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sample:
    """One call: how long the caller waited, whether the answer was right, why not."""

    latency: float
    error: str | None = None
    run_seconds: float | None = None  # what the watchdog reported (X-Duration-Seconds)


@dataclass
class Series:
    """The samples of one series and the wall time it took."""

    name: str
    concurrency: int
    # what a sample's latency is: "answer" (the caller's wait for it), "202" (the wait for an
    # async call's 202), "callback" (from an async call's 202 to the arrival of its callback),
    # "final" (from a job's submission to the poll that found its record final)
    latency: str = "answer"
    samples: list[Sample] = field(default_factory=list)
    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds used, by process
    versus: str = ""  # the series the ratios are against; "" for the first, (a)

    def summary(self) -> Summary:
        return Summary.of(self)


def merged(rounds: list[Series]) -> Series:
    """One series measured in rounds, as one: every sample, wall time and CPU summed, so
    that its rate is over all of its calls."""
    first = rounds[0]
    return Series(
        first.name,
        first.concurrency,
        first.latency,
        [sample for part in rounds for sample in part.samples],
        sum(part.wall for part in rounds),
        summed(part.cpu for part in rounds),
        first.versus,
    )


def summed(parts: Iterable[dict[str, float]]) -> dict[str, float]:
    """The figures of several parts, key by key, added up."""
    total: dict[str, float] = {}
    for one in parts:
        for key, value in one.items():
            total[key] = total.get(key, 0.0) + value
    return total


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..1)."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _latencies(good: list[float]) -> dict[str, float | None]:
    """The latency fields of a Summary, from the ascending latencies of the good calls."""
    if not good:
        return dict.fromkeys(("median_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms", "min_ms"))
    return {
        "median_ms": _ms(statistics.median(good)),
        "p90_ms": _ms(percentile(good, 0.9)),
        "p99_ms": _ms(percentile(good, 0.99)),
        "mean_ms": _ms(statistics.fmean(good)),
        "max_ms": _ms(good[-1]),
        "min_ms": _ms(good[0]),
    }


@dataclass(frozen=True)
class Summary:
    """Latency figures in ms over the calls that succeeded; throughput over all calls."""

    name: str
    concurrency: int
    latency: str  # as Series.latency
    calls: int
    errors: int
    wall_s: float
    calls_per_s: float
    median_ms: float | None  # None when no call succeeded
    p90_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    max_ms: float | None
    min_ms: float | None
    run_median_ms: float | None  # time inside the runner, as the watchdog reported it
    cpu_ms_per_call: dict[str, float]  # by process: client, gateway, watchdog, nats-server
    error_kinds: dict[str, int]
    versus: str  # as Series.versus

    @classmethod
    def of(cls, series: Series) -> Summary:
        runs = [s.run_seconds for s in series.samples if s.run_seconds is not None and not s.error]
        kinds = Counter(s.error for s in series.samples if s.error is not None)
        calls = len(series.samples)
        return cls(
            name=series.name,
            concurrency=series.concurrency,
            latency=series.latency,
            calls=calls,
            errors=sum(kinds.values()),
            wall_s=round(series.wall, 3),
            calls_per_s=round(calls / series.wall, 2) if series.wall else 0.0,
            **_latencies(sorted(s.latency for s in series.samples if s.error is None)),
            run_median_ms=_ms(statistics.median(runs)) if runs else None,
            cpu_ms_per_call={k: _ms(v / calls) for k, v in series.cpu.items()} if calls else {},
            error_kinds=dict(kinds.most_common()),
            versus=series.versus,
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)
