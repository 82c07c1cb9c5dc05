"""What the gateway measures, under OpenFaaS's metric names, and the `/metrics` route."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from faas.spec import NAMESPACE
from faas.wire import CallResult, Heartbeat
from gateway.errors import status_for
from gateway.metrics import CONTENT_TYPE, MetricRegistry

if TYPE_CHECKING:
    from gateway.state import Gateway


def function_label(name: str) -> str:
    """A function as OpenFaaS names it in metrics: `name.openfaas-fn`."""
    return f"{name}.{NAMESPACE}"


class GatewayMetrics:
    """The gateway's metrics; per-function and per-watchdog gauges are set at scrape time."""

    def __init__(self) -> None:
        self.registry = r = MetricRegistry()
        fn, code = "function_name", "code"
        self.started = r.counter(
            "gateway_function_invocation_started", "Function calls started.", [fn]
        )
        self.invocations = r.counter(
            "gateway_function_invocation_total", "Function calls answered, by status.", [fn, code]
        )
        self.seconds = r.histogram(
            "gateway_functions_seconds", "Synchronous call time seen by the gateway.", [fn, code]
        )
        self.services = r.gauge(
            "gateway_service_count",
            "Deployed functions, 1 each: every call has its own container.",
            [fn],
        )
        self.container_start = r.histogram(
            "faas_container_start_seconds", "Container create to started, on a watchdog.", ()
        )
        self.queued = r.gauge(
            "faas_calls_queued", "Synchronous calls sent and not yet started.", [fn]
        )
        self.capacity = r.gauge(
            "faas_watchdog_capacity", "Calls a live watchdog runs at once.", ["watchdog"]
        )
        self.in_use = r.gauge(
            "faas_watchdog_in_use", "Calls a live watchdog runs now.", ["watchdog"]
        )

    def sync_call(self, function: str) -> SyncCall:
        return SyncCall(self, function_label(function))

    def accepted(self, function: str) -> None:
        """An async call answered 202: counted as OpenFaaS does, with code 202."""
        label = function_label(function)
        self.started.inc(function_name=label)
        self.invocations.inc(function_name=label, code="202")

    def waiting_to_start(self, function: str) -> contextlib.AbstractContextManager[None]:
        return self.queued.tracking(function_name=function_label(function))

    def render(self, functions: Iterable[str], watchdogs: Iterable[Heartbeat]) -> str:
        """The exposition text, with the gauges of what exists now."""
        self.services.clear()
        for name in functions:
            self.services.set(1, function_name=function_label(name))
        self.capacity.clear()
        self.in_use.clear()
        for beat in watchdogs:
            self.capacity.set(beat.capacity, watchdog=beat.watchdog)
            self.in_use.set(beat.in_use, watchdog=beat.watchdog)
        return self.registry.render()


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
        self.metrics.started.inc(function_name=self.label)
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
        self.metrics.invocations.inc(function_name=self.label, code=code)
        self.metrics.seconds.observe(seconds, function_name=self.label, code=code)


async def scrape(request: Request) -> Response:
    """`GET /metrics`."""
    gw: Gateway = request.app.state.gateway
    text = gw.metrics.render(gw.registry.names(), gw.presence.live())
    return Response(text, media_type=CONTENT_TYPE)
