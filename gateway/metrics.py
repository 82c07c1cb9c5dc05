"""Counters, gauges and histograms, rendered in Prometheus's text format (version 0.0.4)."""

from __future__ import annotations

import bisect
import contextlib
import math
import re
from collections.abc import Iterator, Sequence
from typing import TypeVar

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

Labels = tuple[str, ...]
M = TypeVar("M", bound="Metric")


def _number(value: float) -> str:
    """A sample value as Prometheus writes it: `+Inf`, `NaN`, `3`, `0.25`."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def _escape_value(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _labels(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    pairs = ",".join(f'{n}="{_escape_value(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + pairs + "}"


class Metric:
    """A family of samples under one name, one series per set of label values."""

    kind = "untyped"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        if not _NAME.fullmatch(name):
            raise ValueError(f"invalid metric name {name!r}")
        for label in labelnames:
            if not _LABEL.fullmatch(label) or label.startswith("__"):
                raise ValueError(f"invalid label name {label!r} of {name}")
        self.name = name
        self.help = help
        self.labelnames = tuple(labelnames)

    def _key(self, labels: dict[str, str]) -> Labels:
        if labels.keys() != set(self.labelnames):
            raise ValueError(f"{self.name} takes the labels {self.labelnames}, not {tuple(labels)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def render(self) -> Iterator[str]:
        yield f"# HELP {self.name} {_escape_help(self.help)}"
        yield f"# TYPE {self.name} {self.kind}"
        yield from self._samples()

    def _samples(self) -> Iterator[str]:
        raise NotImplementedError

    def _sample(self, suffix: str, key: Labels, value: float, extra: Labels = ()) -> str:
        names = (*self.labelnames, "le") if extra else self.labelnames
        return f"{self.name}{suffix}{_labels(names, (*key, *extra))} {_number(value)}"


class _Scalar(Metric):
    """A metric of one value per series."""

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help, labelnames)
        self.values: dict[Labels, float] = {} if labelnames else {(): 0.0}

    def value(self, **labels: str) -> float:
        return self.values.get(self._key(labels), 0.0)

    def _add(self, amount: float, labels: dict[str, str]) -> None:
        key = self._key(labels)
        self.values[key] = self.values.get(key, 0.0) + amount

    def _samples(self) -> Iterator[str]:
        for key in sorted(self.values):
            yield self._sample("", key, self.values[key])


class Counter(_Scalar):
    """A total that only goes up."""

    kind = "counter"

    def inc(self, amount: float = 1.0, /, **labels: str) -> None:
        if amount < 0:
            raise ValueError(f"{self.name} is a counter: it cannot go down by {amount}")
        self._add(amount, labels)


class Gauge(_Scalar):
    """A value that goes up and down."""

    kind = "gauge"

    def set(self, value: float, /, **labels: str) -> None:
        self.values[self._key(labels)] = float(value)

    def inc(self, amount: float = 1.0, /, **labels: str) -> None:
        self._add(amount, labels)

    def dec(self, amount: float = 1.0, /, **labels: str) -> None:
        self._add(-amount, labels)

    @contextlib.contextmanager
    def tracking(self, **labels: str) -> Iterator[None]:
        """One more while the block runs, however it ends."""
        self.inc(**labels)
        try:
            yield
        finally:
            self.dec(**labels)

    def clear(self) -> None:
        """Forget every series, e.g. before setting the ones that exist at scrape time."""
        self.values = {} if self.labelnames else {(): 0.0}


class Histogram(Metric):
    """Observations counted into cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        if "le" in labelnames:
            raise ValueError(f"{name}: a histogram cannot have a label named 'le'")
        super().__init__(name, help, labelnames)
        bounds = sorted(float(b) for b in buckets if not math.isinf(b))
        if not bounds or len(set(bounds)) != len(bounds):
            raise ValueError(f"{name}: buckets must be distinct, and at least one finite")
        self.bounds = (*bounds, math.inf)
        self.series: dict[Labels, _Series] = {} if labelnames else {(): _Series(self.bounds)}

    def observe(self, value: float, /, **labels: str) -> None:
        key = self._key(labels)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = _Series(self.bounds)
        series.observe(value)

    def count(self, **labels: str) -> int:
        series = self.series.get(self._key(labels))
        return series.count if series else 0

    def _samples(self) -> Iterator[str]:
        for key in sorted(self.series):
            series = self.series[key]
            for bound, total in zip(self.bounds, series.cumulative(), strict=True):
                yield self._sample("_bucket", key, total, (_number(bound),))
            yield self._sample("_sum", key, series.sum)
            yield self._sample("_count", key, series.count)


class _Series:
    """One histogram series: a count per bucket (not cumulative), the sum and the count."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1  # the first bound >= value
        self.sum += value
        self.count += 1

    def cumulative(self) -> Iterator[int]:
        total = 0
        for count in self.counts:
            total += count
            yield total


class MetricRegistry:
    """The metrics of one process, in the order they were made."""

    def __init__(self) -> None:
        self.metrics: dict[str, Metric] = {}

    def counter(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Counter:
        return self._add(Counter(name, help, labelnames))

    def gauge(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Gauge:
        return self._add(Gauge(name, help, labelnames))

    def histogram(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        return self._add(Histogram(name, help, labelnames, buckets))

    def _add(self, metric: M) -> M:
        if metric.name in self.metrics:
            raise ValueError(f"metric {metric.name} is registered already")
        self.metrics[metric.name] = metric
        return metric

    def render(self) -> str:
        """Every metric in the text exposition format, ending with a newline."""
        lines = [line for metric in self.metrics.values() for line in metric.render()]
        return "\n".join(lines) + "\n"
