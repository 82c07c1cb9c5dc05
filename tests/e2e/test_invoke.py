"""Synchronous calls through a real gateway, nats-server, watchdog and Docker engine."""

from __future__ import annotations

import urllib.error
import urllib.request

import docker
import pytest
import requests

from tests.e2e.containers import wait_for_containers
from tests.e2e.parts import Gateway, Parts

MiB = 2**20


def test_hello_answers_from_a_container_removed_after_the_call(
    each_runtime: Gateway, docker_client: docker.DockerClient
) -> None:
    with each_runtime.client() as http:
        reply = http.post("/function/hello", content=b"world")
    assert reply.status_code == 200
    assert reply.text == "Hello, world!\n"
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.headers["x-exit-code"] == "0"
    wait_for_containers(docker_client, False, **{"faas.call": reply.headers["x-call-id"]})


def test_each_call_gets_a_fresh_container(each_runtime: Gateway) -> None:
    command = "sh -c 'cat /tmp/mark 2>/dev/null || echo fresh; echo used > /tmp/mark'"
    with each_runtime.client() as http:
        http.post(
            "/system/functions",
            json={"service": "marker", "image": "faas/base-busybox:latest", "envProcess": command},
        )
        answers = [http.post("/function/marker").text for _ in range(2)]
    assert answers == ["fresh\n", "fresh\n"]


def test_sample_functions(each_runtime: Gateway) -> None:
    page = b'<a href="/a">a</a><a href="#top">t</a><a href="https://other.org/">o</a>'
    with each_runtime.client() as http:
        wc = http.post("/function/wc", content=b"one two\nthree\n")
        links = http.post(
            "/function/href-counter", content=page, headers={"X-Page-Url": "https://site.com/"}
        )
    assert wc.text.split() == ["2", "3", "14"]
    assert links.json() == {"internal": 2, "external": 1}
    assert links.headers["content-type"].startswith("application/json")


def test_namespace_suffix_and_sub_paths(platform: Gateway) -> None:
    with platform.client() as http:
        assert http.post("/function/hello.openfaas-fn", content=b"ns").text == "Hello, ns!\n"
        other = http.post("/function/hello.elsewhere", content=b"ns")
        assert other.status_code == 400
        assert "namespace" in other.text


def test_classic_watchdog_environment(each_runtime: Gateway) -> None:
    with each_runtime.client() as http:
        reply = http.put(
            "/function/env/some/path?x=1&y=two",
            content=b"{}",
            headers={"Content-Type": "application/json", "X-Custom-Thing": "abc"},
        )
    env = dict(line.split("=", 1) for line in reply.text.splitlines() if "=" in line)
    assert reply.status_code == 200
    assert env["Http_Method"] == "PUT"
    assert env["Http_Path"] == "/some/path"
    assert env["Http_Query"] == "x=1&y=two"
    assert env["Http_Content_Type"] == "application/json"
    assert env["Http_X_Custom_Thing"] == "abc"
    assert env["greeting"] == "hi"


def test_unknown_function_is_404_naming_it(platform: Gateway) -> None:
    with platform.client() as http:
        reply = http.post("/function/no-such-thing", content=b"x")
    assert reply.status_code == 404
    assert "no-such-thing" in reply.text


def test_nonzero_exit_is_500_with_stderr(each_runtime: Gateway) -> None:
    with each_runtime.client() as http:
        reply = http.post("/function/fail")
    assert reply.status_code == 500
    assert reply.headers["x-exit-code"] == "3"
    assert "exited with code 3" in reply.text
    assert "broken" in reply.text


def test_timeout_is_504_and_the_container_is_gone(
    each_runtime: Gateway, docker_client: docker.DockerClient
) -> None:
    with each_runtime.client() as http:
        reply = http.post("/function/sleepy")
    assert reply.status_code == 504
    assert "timed out after 2s" in reply.text
    wait_for_containers(docker_client, False, **{"faas.function": "sleepy"})


def test_large_body_round_trips_and_over_the_limit_is_413(each_runtime: Gateway) -> None:
    body = bytes(range(256)) * (8 * MiB // 256)
    with each_runtime.client() as http:
        echoed = http.post("/function/echo", content=body)
        too_big = http.post("/function/echo", content=body + b"!")
    assert echoed.status_code == 200
    assert echoed.content == body
    assert too_big.status_code == 413
    assert str(8 * MiB) in too_big.text


@pytest.mark.parametrize("client", ["urllib", "requests"])
def test_python_clients_see_413_for_a_body_far_over_the_limit(
    platform: Gateway, client: str
) -> None:
    """The gateway answers before the body is in and then reads the rest for a while before it
    closes, so a client still sending gets the 413, not a connection reset."""
    url, body = f"{platform.url}/function/echo", b"x" * (64 * MiB)
    if client == "requests":
        reply = requests.post(url, data=body, timeout=60)
        status, text = reply.status_code, reply.text
    else:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=60)
        status, text = refused.value.code, refused.value.read().decode()
    assert status == 413
    assert str(8 * MiB) in text


def test_output_flood_is_502_and_contained(each_runtime: Gateway) -> None:
    with each_runtime.client() as http:
        flood = http.post("/function/flood")
        after = http.post("/function/hello", content=b"again")
    assert flood.status_code == 502
    assert "wrote more than" in flood.text
    assert after.text == "Hello, again!\n"


def test_memory_hog_is_killed_and_reported(each_runtime: Gateway) -> None:
    with each_runtime.client() as http:
        reply = http.post("/function/hog")
    assert reply.status_code == 500
    assert "ran out of memory" in reply.text


def test_pids_limit_stops_a_fork_storm(each_runtime: Gateway) -> None:
    with each_runtime.client() as http:
        reply = http.post("/function/forker")
    assert reply.status_code == 500
    assert "can't fork" in reply.text or "Resource temporarily unavailable" in reply.text


def test_no_capabilities_and_read_only_root(each_runtime: Gateway) -> None:
    with each_runtime.client() as http:
        reply = http.post("/function/confined")
    assert reply.status_code == 200, reply.text
    assert "CapEff:\t0000000000000000" in reply.text
    assert "NoNewPrivs:\t1" in reply.text
    assert "Seccomp:\t2" in reply.text  # a filter
    assert "tmp-writable" in reply.text
    assert "root-read-only" in reply.text


def test_no_watchdog_is_503(parts: Parts) -> None:
    nats = parts.nats()
    gateway = parts.gateway(nats)
    with gateway.client() as http:
        http.post(
            "/system/functions", json={"service": "echo", "image": "faas/base-busybox:latest"}
        )
        reply = http.post("/function/echo", content=b"x", timeout=10)
    assert reply.status_code == 503
    assert "no watchdog" in reply.text
