"""`/metrics` after real calls, and the OpenFaaS namespaces and scale routes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from gateway.instruments import CONTENT_TYPE
from tests.e2e.parts import Gateway, Parts, cluster, deploy

ECHO, FAIL = "echo.openfaas-fn", "fail.openfaas-fn"


class Families(dict[str, Metric]):
    """A scrape read by prometheus-client's parser: its metric families by name."""

    def get_value(self, sample: str, **labels: str) -> float | None:
        found = [
            s.value
            for family in self.values()
            for s in family.samples
            if s.name == sample and s.labels == labels
        ]
        assert len(found) <= 1, f"{sample}{labels}: {len(found)} samples"
        return found[0] if found else None

    def value(self, sample: str, **labels: str) -> float:
        found = self.get_value(sample, **labels)
        assert found is not None, f"no sample {sample}{labels}"
        return found

    def labels(self, family: str, sample: str) -> list[dict[str, str]]:
        return [s.labels for s in self[family].samples if s.name == sample]


def scrape(gateway: Gateway) -> Families:
    with gateway.client() as http:
        reply = http.get("/metrics")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == CONTENT_TYPE
    return Families((f.name, f) for f in text_string_to_metric_families(reply.text))


def wait_until(check: Callable[[], Any], timeout: float = 30) -> Any:
    """Until `check()` is truthy; return what it gave."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.1)
    return found


def test_metrics_after_sync_and_async_calls(parts: Parts) -> None:
    c = cluster(parts, 3)
    deploy(c.gateway, "echo", "cat")
    deploy(c.gateway, "fail", "sh -c 'echo oops >&2; exit 3'")
    with c.gateway.client() as http:
        assert [http.post("/function/echo", content=b"x").status_code for _ in range(3)] == [
            200
        ] * 3
        assert http.post("/function/fail.openfaas-fn").status_code == 500
        accepted = http.post("/async-function/echo", content=b"later")
        assert accepted.status_code == 202
        call = f"/system/calls/{accepted.headers['x-call-id']}"
        wait_until(lambda: http.get(call).json()["state"] == "succeeded")
    m = scrape(c.gateway)

    total = "gateway_function_invocation_total"
    assert m["gateway_function_invocation"].type == "counter"  # the parser drops `_total`
    assert m.value(total, function_name=ECHO, code="200") == 3
    assert m.value(total, function_name=ECHO, code="202") == 1
    assert m.value(total, function_name=FAIL, code="500") == 1
    assert len(m["gateway_function_invocation"].samples) == 3
    started = "gateway_function_invocation_started"
    assert m[started].type == "unknown"
    assert m.value(started, function_name=ECHO) == 4
    assert m.value(started, function_name=FAIL) == 1

    assert m["gateway_functions_seconds"].type == "histogram"
    for fn, code, count in ((ECHO, "200", 3), (FAIL, "500", 1)):
        labels = {"function_name": fn, "code": code}
        assert m.value("gateway_functions_seconds_count", **labels) == count
        assert m.value("gateway_functions_seconds_bucket", **labels, le="+Inf") == count
        assert m.value("gateway_functions_seconds_bucket", **labels, le="0.005") == 0
        assert m.value("gateway_functions_seconds_sum", **labels) > 0
    timed = m.labels("gateway_functions_seconds", "gateway_functions_seconds_count")
    assert {ls["code"] for ls in timed} == {"200", "500"}  # async calls are not timed

    assert m["gateway_service_count"].type == "gauge"
    services = m.labels("gateway_service_count", "gateway_service_count")
    assert {ls["function_name"] for ls in services} == {ECHO, FAIL}
    assert m.value("gateway_service_count", function_name=ECHO) == 1

    assert m.value("faas_container_start_seconds_count") == 4  # the sync calls' containers
    assert m.value("faas_container_start_seconds_sum") > 0

    assert m.value("faas_calls_queued", function_name=ECHO) == 0
    assert m.value("faas_calls_queued", function_name=FAIL) == 0

    capacity = m.labels("faas_watchdog_capacity", "faas_watchdog_capacity")
    assert capacity == [{"watchdog": c.watchdog.id}]
    assert m.value("faas_watchdog_capacity", watchdog=c.watchdog.id) == 3
    assert 0 <= m.value("faas_watchdog_in_use", watchdog=c.watchdog.id) <= 3


def test_a_call_waiting_for_capacity_is_queued_and_the_load_shows(parts: Parts) -> None:
    c = cluster(parts, 1)
    deploy(c.gateway, "slow", "sh -c 'sleep 3; cat'")
    replies: list[httpx.Response] = []

    def call() -> None:
        with c.gateway.client() as http:
            replies.append(http.post("/function/slow", content=b"x"))

    callers = [threading.Thread(target=call) for _ in range(2)]
    for caller in callers:
        caller.start()
    busy = wait_until(lambda: _queued_and_busy(c.gateway, c.watchdog.id))
    assert busy == (1, 1)
    for caller in callers:
        caller.join()
    assert [r.status_code for r in replies] == [200, 200]
    m = scrape(c.gateway)
    assert m.value("faas_calls_queued", function_name="slow.openfaas-fn") == 0
    assert m.value("faas_container_start_seconds_count") == 2


def _queued_and_busy(gateway: Gateway, watchdog: str) -> tuple[float, float] | None:
    m = scrape(gateway)  # before the calls, neither series exists
    queued = m.get_value("faas_calls_queued", function_name="slow.openfaas-fn")
    in_use = m.get_value("faas_watchdog_in_use", watchdog=watchdog)
    return (queued, in_use) if queued and in_use else None


def test_namespaces_and_scale_function(parts: Parts) -> None:
    c = cluster(parts, 1)
    deploy(c.gateway, "echo", "cat")
    with c.gateway.client() as http:
        namespaces = http.get("/system/namespaces")
        assert (namespaces.status_code, namespaces.json()) == (200, ["openfaas-fn"])

        def status() -> dict[str, Any]:
            return http.get("/system/function/echo").json()  # type: ignore[no-any-return]

        def scale(name: str, body: Any) -> int:
            return http.post(f"/system/scale-function/{name}", json=body).status_code

        assert status()["replicas"] == 1
        request = {"serviceName": "echo", "namespace": "openfaas-fn", "replicas": 3}
        assert scale("echo", request) == 202
        assert (status()["replicas"], status()["availableReplicas"]) == (3, 1)
        [listed] = http.get("/system/functions").json()
        assert listed["replicas"] == 3

        update = {"service": "echo", "image": "faas/base-busybox:latest", "envProcess": "cat"}
        assert http.put("/system/functions", json=update).status_code == 202
        assert status()["replicas"] == 3  # an update keeps the scale

        assert scale("echo.openfaas-fn", {**request, "replicas": 0}) == 202
        assert (status()["replicas"], status()["availableReplicas"]) == (0, 1)
        assert http.post("/function/echo", content=b"still").text == "still"  # nothing stopped

        assert scale("nope", {"serviceName": "nope", "replicas": 1}) == 404
        for bad in (
            {**request, "replicas": -1},
            {**request, "replicas": "2"},
            {**request, "replicas": 1.5},
            {**request, "replicas": True},
            {"serviceName": "echo", "namespace": "openfaas-fn"},
            {**request, "serviceName": "other"},
            {**request, "namespace": "elsewhere"},
            [3],
        ):
            assert scale("echo", bad) == 400, bad
        not_json = http.post("/system/scale-function/echo", content=b"{replicas")
        assert not_json.status_code == 400
        assert status()["replicas"] == 0

    assert scrape(c.gateway).value("gateway_service_count", function_name=ECHO) == 1
