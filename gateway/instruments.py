"""What the gateway measures, under OpenFaaS's metric names.

Metrics go through prometheus-client, in a registry of the gateway's own. The gauges of what
exists at scrape time (deployed functions, live watchdogs) come from a collector.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from faas.spec import NAMESPACE
from faas.wire import CallResult, Heartbeat
from gateway.errors import status_for

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STARTED = "gateway_function_invocation_started"

# As OpenFaaS's gateway: no `_created` series.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]


def function_label(name: str) -> str:
    """A function as OpenFaaS names it in metrics: `name.openfaas-fn`."""
    return f"{name}.{NAMESPACE}"


class GatewayMetrics:
    """The gateway's metrics; per-function and per-watchdog gauges are set at scrape time."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        fn, code = "function_name", "code"
        self.started = Started()
        r.register(self.started)
        self.invocations = Counter(
            "gateway_function_invocation_total",
            "Function calls answered, by status.",
            [fn, code],
            registry=r,
        )
        self.seconds = Histogram(
            "gateway_functions_seconds",
            "Synchronous call time seen by the gateway.",
            [fn, code],
            buckets=BUCKETS,
            registry=r,
        )
        self.container_start = Histogram(
            "faas_container_start_seconds",
            "Container create to started, on a watchdog.",
            buckets=BUCKETS,
            registry=r,
        )
        self.queued = Gauge(
            "faas_calls_queued", "Synchronous calls sent and not yet started.", [fn], registry=r
        )
        self.now = Present()
        r.register(self.now)
        # each metric's children by their labels (see _child)
        self._counts: dict[tuple[str, ...], Any] = {}
        self._times: dict[tuple[str, ...], Any] = {}
        self._queued: dict[tuple[str, ...], Any] = {}

    def sync_call(self, function: str) -> SyncCall:
        return SyncCall(self, function_label(function))

    def accepted(self, function: str) -> None:
        """An async call answered 202: counted as OpenFaaS does, with code 202."""
        label = function_label(function)
        self.started.inc(label)
        self.answer(label, "202", None)

    def answer(self, label: str, code: str, seconds: float | None) -> None:
        """Count a call answered with `code`; time it, when `seconds` is given."""
        _child(self._counts, self.invocations, label, code).inc()
        if seconds is not None:  # an async call's 202 is counted, not timed
            _child(self._times, self.seconds, label, code).observe(seconds)

    def waiting_to_start(self, function: str) -> contextlib.AbstractContextManager[None]:
        gauge = _child(self._queued, self.queued, function_label(function))
        return gauge.track_inprogress()  # type: ignore[no-any-return]

    def render(self, functions: Iterable[str], watchdogs: Iterable[Heartbeat]) -> bytes:
        """The exposition text, with the gauges of what exists now."""
        self.now.functions, self.now.watchdogs = list(functions), list(watchdogs)
        return generate_latest(self.registry)

    def value(self, name: str, **labels: str) -> float:
        """A sample's value; 0 when it has none yet."""
        return self.registry.get_sample_value(name, labels) or 0.0


def _child(known: dict[tuple[str, ...], Any], metric: Any, *labels: str) -> Any:
    """`metric.labels(*labels)`, looked up once: labels() locks and hashes on every use."""
    child = known.get(labels)
    if child is None:
        child = known[labels] = metric.labels(*labels)
    return child


class Started(Collector):
    """Calls begun, per function, under OpenFaaS's name: prometheus-client would add `_total`
    to a counter's name, so this one is written untyped."""

    def __init__(self) -> None:
        self.counts: Tally[str] = Tally()

    def inc(self, label: str) -> None:
        self.counts[label] += 1

    def collect(self) -> Iterator[Metric]:
        family = Metric(STARTED, "Function calls started.", "unknown")
        for label, count in sorted(self.counts.items()):
            family.add_sample(STARTED, {"function_name": label}, count)
        yield family


class Present(Collector):
    """The gauges of what exists at scrape time: deployed functions, live watchdogs."""

    def __init__(self) -> None:
        self.functions: list[str] = []
        self.watchdogs: list[Heartbeat] = []

    def collect(self) -> Iterator[Metric]:
        services = GaugeMetricFamily(
            "gateway_service_count",
            "Deployed functions, 1 each: every call has its own container.",
            labels=["function_name"],
        )
        for name in self.functions:
            services.add_metric([function_label(name)], 1)
        capacity = GaugeMetricFamily(
            "faas_watchdog_capacity", "Calls a live watchdog runs at once.", labels=["watchdog"]
        )
        in_use = GaugeMetricFamily(
            "faas_watchdog_in_use", "Calls a live watchdog runs now.", labels=["watchdog"]
        )
        for beat in self.watchdogs:
            capacity.add_metric([beat.watchdog], beat.capacity)
            in_use.add_metric([beat.watchdog], beat.in_use)
        yield from (services, capacity, in_use)


class SyncCall:
    """Times one synchronous call and counts it with the status it was answered with.

    A call cut short by an error counts with the status that error maps to; one cancelled
    (e.g. when the gateway stops) counts as started only, since nobody was answered.
    """

    def __init__(self, metrics: GatewayMetrics, label: str) -> None:
        self.metrics = metrics
        self.label = label
        self.status: int | None = None
        self.began = 0.0

    def __enter__(self) -> SyncCall:
        self.metrics.started.inc(self.label)
        self.began = time.monotonic()
        return self

    def answered(self, result: CallResult) -> CallResult:
        self.status = result.status
        if result.start_seconds > 0:
            self.metrics.container_start.observe(result.start_seconds)
        return result

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None:
            if not isinstance(exc, Exception):
                return  # cancelled: nobody was answered
            self.status = status_for(exc)
        if self.status is not None:
            self._count(str(self.status), time.monotonic() - self.began)

    def _count(self, code: str, seconds: float) -> None:
        self.metrics.answer(self.label, code, seconds)
