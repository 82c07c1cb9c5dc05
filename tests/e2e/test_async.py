"""Async calls: accepted durably, run in fresh containers, retried, findable, called back."""

from __future__ import annotations

import time

import docker

from tests.e2e.containers import call_containers, wait_for_containers
from tests.e2e.parts import (
    Parts,
    cluster,
    deploy,
    faas,
    record,
    submit,
    wait_for_watchdog,
    wait_record,
)
from tests.e2e.receiver import Receiver

MiB = 2**20


def test_async_call_answers_202_then_calls_back(parts: Parts, receiver: Receiver) -> None:
    c = cluster(parts, 2)
    deploy(c.gateway, "greet", 'sh -c \'printf "hi %s" "$(cat)"\'')
    reply = submit(c.gateway, "greet", b"async", **{"X-Callback-Url": receiver.url})
    assert reply.status_code == 202
    call_id = reply.headers["x-call-id"]
    [callback] = receiver.wait_for(1)
    assert callback.body == b"hi async"
    assert callback.headers["X-Call-Id"] == call_id
    assert callback.headers["X-Function-Name"] == "greet"
    assert callback.headers["X-Function-Status"] == "200"
    assert float(callback.headers["X-Duration-Seconds"]) > 0
    assert callback.headers["Content-Type"].startswith("text/plain")
    done = wait_record(c.gateway, call_id, lambda r: r["callback"]["state"] == "delivered")
    assert done["state"] == "succeeded"
    assert done["kind"] == "async"
    assert done["attempts"] == 1
    assert done["exitCode"] == 0
    assert done["status"] == 200
    assert done["output"] == "hi async"
    assert done["callback"]["status"] == 200
    assert done["createdAt"] <= done["startedAt"] <= done["finishedAt"]


def test_async_refusals(parts: Parts) -> None:
    c = cluster(parts, 1)
    deploy(c.gateway, "echo", "cat")
    unknown = submit(c.gateway, "missing")
    assert unknown.status_code == 404
    assert "missing" in unknown.text
    bad = submit(c.gateway, "echo", **{"X-Callback-Url": "ftp://example.com/x"})
    assert bad.status_code == 400
    assert "X-Callback-Url" in bad.text
    assert submit(c.gateway, "echo", b"x" * (8 * MiB + 1)).status_code == 413


def test_async_bodies_up_to_the_limit(parts: Parts, receiver: Receiver) -> None:
    c = cluster(parts, 1)
    deploy(c.gateway, "echo", "cat")
    body = bytes(range(256)) * (8 * MiB // 256)
    assert submit(c.gateway, "echo", body, **{"X-Callback-Url": receiver.url}).status_code == 202
    [callback] = receiver.wait_for(1)
    assert callback.body == body


def test_repeated_call_id_and_idempotency_key_run_once(parts: Parts, receiver: Receiver) -> None:
    c = cluster(parts, 2)
    deploy(c.gateway, "echo", "cat")
    hook = {"X-Callback-Url": receiver.url}
    first = submit(c.gateway, "echo", b"one", **hook, **{"X-Call-Id": "my-call-1"})
    again = submit(c.gateway, "echo", b"one", **hook, **{"X-Call-Id": "my-call-1"})
    assert first.headers["x-call-id"] == again.headers["x-call-id"] == "my-call-1"
    keyed = submit(c.gateway, "echo", b"two", **hook, **{"X-Idempotency-Key": "order-42"})
    rekeyed = submit(c.gateway, "echo", b"two", **hook, **{"X-Idempotency-Key": "order-42"})
    assert keyed.headers["x-call-id"] == rekeyed.headers["x-call-id"] != "my-call-1"
    receiver.wait_for(2)
    time.sleep(2)  # room for a duplicate run to show up, if there were one
    assert sorted(receiver.by_call()) == sorted(["my-call-1", keyed.headers["x-call-id"]])
    assert len(receiver.got) == 2
    assert record(c.gateway, "my-call-1")["attempts"] == 1


def test_retry_policy_then_given_up(parts: Parts, receiver: Receiver) -> None:
    c = cluster(parts, 1)
    with c.gateway.client() as http:
        body = {
            "service": "flaky",
            "image": "faas/base-busybox:latest",
            "envProcess": "sh -c 'echo nope >&2; exit 75'",
            "annotations": {
                "com.openfaas.retry.attempts": "3",
                "com.openfaas.retry.min_wait": "100ms",
                "com.openfaas.retry.max_wait": "500ms",
            },
        }
        assert http.post("/system/functions", json=body).status_code == 202
    call_id = submit(c.gateway, "flaky", **{"X-Callback-Url": receiver.url}).headers["x-call-id"]
    [callback] = receiver.wait_for(1)
    assert callback.headers["X-Function-Status"] == "429"
    final = wait_record(c.gateway, call_id, lambda r: r["callback"]["state"] == "delivered")
    assert final["state"] == "given_up"
    assert final["attempts"] == 3
    assert final["exitCode"] == 75
    assert "nope" in final["stderr"]


def test_failed_callbacks_are_retried_and_recorded(parts: Parts, receiver: Receiver) -> None:
    receiver.statuses = [503, 500]
    c = cluster(parts, 1)
    deploy(c.gateway, "echo", "cat")
    call_id = submit(c.gateway, "echo", b"x", **{"X-Callback-Url": receiver.url}).headers[
        "x-call-id"
    ]
    receiver.wait_for(3)
    final = wait_record(c.gateway, call_id, lambda r: r["callback"]["state"] == "delivered")
    assert final["callback"]["attempts"] == 3
    assert final["callback"]["status"] == 200


def test_cancel_queued_and_running_calls(
    parts: Parts, receiver: Receiver, docker_client: docker.DockerClient
) -> None:
    nats = parts.nats()
    gateway = parts.gateway(nats)
    deploy(gateway, "slow", "sleep 60")
    queued = submit(gateway, "slow").headers["x-call-id"]
    with gateway.client() as http:
        cancelled = http.delete(f"/system/calls/{queued}")
        assert cancelled.status_code == 202
        assert cancelled.json()["state"] == "cancelled"
        assert http.delete(f"/system/calls/{queued}").status_code == 409
        assert http.delete("/system/calls/no-such-call").status_code == 404
    parts.watchdog(nats, 1)
    wait_for_watchdog(gateway)
    running = submit(gateway, "slow").headers["x-call-id"]
    wait_for_containers(docker_client, True, **{"faas.call": running})
    assert not call_containers(docker_client, **{"faas.call": queued}), "a cancelled call ran"
    with gateway.client() as http:
        assert http.delete(f"/system/calls/{running}").status_code == 202
    wait_for_containers(docker_client, False, **{"faas.call": running})
    final = wait_record(gateway, running, lambda r: r["finishedAt"] and r["watchdog"])
    assert final["state"] == "cancelled"
    assert record(gateway, queued)["state"] == "cancelled"
    assert record(gateway, queued)["attempts"] == 0


def test_calls_are_listed_newest_first_and_sync_calls_recorded(parts: Parts) -> None:
    c = cluster(parts, 1)
    deploy(c.gateway, "echo", "cat")
    deploy(c.gateway, "other", "cat")
    with c.gateway.client() as http:
        answered = http.post("/function/echo", content=b"s")
    assert answered.headers["x-exit-code"] == "0"
    sync = answered.headers["x-call-id"]
    ids = [submit(c.gateway, "echo", b"a").headers["x-call-id"] for _ in range(3)]
    submit(c.gateway, "other", b"b")
    for call_id in ids:
        wait_record(c.gateway, call_id, lambda r: r["state"] == "succeeded")
    sync_record = wait_record(c.gateway, sync, lambda r: r["state"] == "succeeded")
    assert (sync_record["kind"], sync_record["exitCode"]) == ("sync", 0)
    with c.gateway.client() as http:
        listed = http.get("/system/calls", params={"function": "echo", "limit": 3}).json()
        assert [r["callId"] for r in listed] == ids[::-1]
        assert all(r["function"] == "echo" for r in listed)
        assert http.get("/system/calls", params={"limit": "0"}).status_code == 400


def test_cli_async_calls_and_cancel(parts: Parts) -> None:
    c = cluster(parts, 1)
    deploy(c.gateway, "echo", "cat")
    url = ["--gateway", c.gateway.url]
    submitted = faas("invoke", "echo", "--async", *url, stdin=b"from cli")
    assert submitted.returncode == 0, submitted.stderr
    call_id = submitted.stdout.decode().strip()
    wait_record(c.gateway, call_id, lambda r: r["state"] == "succeeded")
    shown = faas("call", call_id, "--output", *url).stdout.decode()
    assert "succeeded" in shown
    assert shown.rstrip().endswith("from cli")
    listed = faas("calls", "echo", *url).stdout.decode()
    assert call_id in listed
    late = faas("cancel", call_id, *url)
    assert late.returncode == 1
    assert b"already finished" in late.stderr


def test_concurrency_cap_holds_across_watchdogs_and_spares_others(
    parts: Parts, receiver: Receiver, docker_client: docker.DockerClient
) -> None:
    nats = parts.nats()
    gateway = parts.gateway(nats)
    parts.watchdog(nats, 3)
    parts.watchdog(nats, 3)
    wait_for_watchdog(gateway)
    with gateway.client() as http:
        capped = {
            "service": "capped",
            "image": "faas/base-busybox:latest",
            "envProcess": "sh -c 'sleep 1.5; cat'",
            "annotations": {"com.faas.max-concurrency": "2"},
        }
        assert http.post("/system/functions", json=capped).status_code == 202
    deploy(gateway, "quick", "cat")
    time.sleep(2.5)  # the watchdogs look for capped functions every 2 s
    hook = {"X-Callback-Url": receiver.url}
    for i in range(8):
        submit(gateway, "capped", f"c{i}".encode(), **hook)
    for i in range(4):
        submit(gateway, "quick", f"q{i}".encode(), **hook)
    running: list[int] = []
    deadline = time.monotonic() + 120
    while len(receiver.got) < 12:
        assert time.monotonic() < deadline, f"{len(receiver.got)} of 12 callbacks arrived"
        running.append(len(call_containers(docker_client, True, **{"faas.function": "capped"})))
        time.sleep(0.05)
    assert max(running) == 2
    order = [cb.headers["X-Function-Name"] for cb in receiver.got]
    last_quick = max(i for i, name in enumerate(order) if name == "quick")
    assert last_quick < len(order) - 3, f"quick calls waited behind the capped ones: {order}"
