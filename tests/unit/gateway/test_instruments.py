"""Unit tests of gateway.instruments: what a call, a 202 and a scrape do to the metrics."""

from __future__ import annotations

import asyncio

import pytest

from faas.wire import CallResult, Heartbeat, Outcome
from gateway.errors import BodyTooLarge, NoWatchdog
from gateway.instruments import STARTED, GatewayMetrics, function_label

FN = "hello.openfaas-fn"
TOTAL = "gateway_function_invocation_total"
SECONDS = "gateway_functions_seconds_count"


def test_function_label_has_the_openfaas_namespace() -> None:
    assert function_label("hello") == FN


def test_a_sync_call_counts_its_status_duration_and_container_start() -> None:
    metrics = GatewayMetrics()
    with metrics.sync_call("hello") as timed:
        assert metrics.value(STARTED, function_name=FN) == 1
        assert metrics.value(TOTAL, function_name=FN, code="200") == 0
        result = timed.answered(CallResult("c", Outcome.OK, start_seconds=0.3))
    assert result.call_id == "c"
    assert metrics.value(TOTAL, function_name=FN, code="200") == 1
    assert metrics.value(SECONDS, function_name=FN, code="200") == 1
    assert metrics.value("faas_container_start_seconds_count") == 1


@pytest.mark.parametrize(
    ("result", "code"),
    [
        (CallResult("c", Outcome.FAILED, exit_code=1), "500"),
        (CallResult("c", Outcome.FAILED, exit_code=75), "429"),
        (CallResult("c", Outcome.EXPIRED), "504"),
    ],
)
def test_a_sync_call_counts_the_status_answered(result: CallResult, code: str) -> None:
    metrics = GatewayMetrics()
    with metrics.sync_call("hello") as timed:
        timed.answered(result)
    assert metrics.value(TOTAL, function_name=FN, code=code) == 1
    assert metrics.value(SECONDS, function_name=FN, code=code) == 1
    assert metrics.value("faas_container_start_seconds_count") == 0  # no container started


@pytest.mark.parametrize(
    ("error", "code"), [(NoWatchdog(), "503"), (BodyTooLarge(10), "413"), (KeyError("x"), "500")]
)
def test_a_sync_call_ended_by_an_error_counts_its_status(error: Exception, code: str) -> None:
    metrics = GatewayMetrics()
    with pytest.raises(type(error)), metrics.sync_call("hello"):
        raise error
    assert metrics.value(TOTAL, function_name=FN, code=code) == 1
    assert metrics.value(SECONDS, function_name=FN, code=code) == 1


def test_a_cancelled_sync_call_counts_as_started_only() -> None:
    metrics = GatewayMetrics()
    with pytest.raises(asyncio.CancelledError), metrics.sync_call("hello"):
        raise asyncio.CancelledError
    assert metrics.value(STARTED, function_name=FN) == 1
    assert b"gateway_function_invocation_total{" not in metrics.render([], [])


def test_an_async_call_counts_202() -> None:
    metrics = GatewayMetrics()
    metrics.accepted("hello")
    assert metrics.value(STARTED, function_name=FN) == 1
    assert metrics.value(TOTAL, function_name=FN, code="202") == 1
    assert metrics.value(SECONDS, function_name=FN, code="202") == 0


def test_queued_calls_while_waiting_to_start() -> None:
    metrics = GatewayMetrics()
    with metrics.waiting_to_start("hello"), metrics.waiting_to_start("hello"):
        assert metrics.value("faas_calls_queued", function_name=FN) == 2
    with pytest.raises(TimeoutError), metrics.waiting_to_start("hello"):
        raise TimeoutError
    assert metrics.value("faas_calls_queued", function_name=FN) == 0


def test_scrape_time_gauges_show_what_exists_now() -> None:
    metrics = GatewayMetrics()
    beats = [Heartbeat("w1", capacity=4, in_use=1), Heartbeat("w2", capacity=2, in_use=2)]
    metrics.render(["a", "b"], beats)
    text = metrics.render(["b"], beats[1:]).decode()
    assert 'gateway_service_count{function_name="b.openfaas-fn"} 1.0' in text
    assert "a.openfaas-fn" not in text
    assert 'faas_watchdog_capacity{watchdog="w2"} 2.0' in text
    assert 'faas_watchdog_in_use{watchdog="w2"} 2.0' in text
    assert "w1" not in text


def test_every_metric_is_described_under_openfaas_names() -> None:
    text = GatewayMetrics().render([], []).decode()
    types = {line.split()[2]: line.split()[3] for line in text.splitlines() if "# TYPE" in line}
    assert types == {
        "gateway_function_invocation_started": "untyped",
        "gateway_function_invocation_total": "counter",
        "gateway_functions_seconds": "histogram",
        "gateway_service_count": "gauge",
        "faas_container_start_seconds": "histogram",
        "faas_calls_queued": "gauge",
        "faas_watchdog_capacity": "gauge",
        "faas_watchdog_in_use": "gauge",
    }
    assert "_created" not in text
