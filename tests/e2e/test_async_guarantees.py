"""What async callers rely on, shown with real processes being stopped, killed and restarted."""

from __future__ import annotations

import asyncio

import docker
import httpx

from tests.e2e.containers import call_containers, wait_for_containers
from tests.e2e.parts import (
    Parts,
    cluster,
    deploy,
    record,
    stop,
    submit,
    wait_for_watchdog,
    wait_record,
)
from tests.e2e.receiver import Receiver

LEASE = "3"  # seconds: a silent watchdog's call goes elsewhere after this


def test_accepted_calls_survive_a_nats_and_gateway_restart(
    parts: Parts, receiver: Receiver
) -> None:
    nats = parts.nats()
    gateway = parts.gateway(nats)
    deploy(gateway, "echo", "cat")
    hook = {"X-Callback-Url": receiver.url}
    sent = {
        submit(gateway, "echo", f"job {i}".encode(), **hook).headers["x-call-id"]: i
        for i in range(20)
    }
    stop(gateway.proc)
    nats.proc.kill()  # no chance to flush: what was acknowledged must already be on disk
    nats.proc.wait()
    parts.restart_nats(nats)
    gateway = parts.gateway(nats)
    # no watchdog yet: each call's record (kept in memory while it is queued) is found again
    for call_id in sent:
        found = wait_record(gateway, call_id, lambda r: True, timeout=30)
        assert (found["state"], found["attempts"]) == ("queued", 0)
    with gateway.client() as http:
        listed = http.get("/system/calls", params={"function": "echo", "limit": 50}).json()
    assert {c["callId"] for c in listed} == set(sent)
    parts.watchdog(nats, 2)
    receiver.wait_for(20, timeout=120)
    got = {cb.headers["X-Call-Id"]: cb.body for cb in receiver.got}
    assert got == {call_id: f"job {i}".encode() for call_id, i in sent.items()}


def test_a_killed_watchdogs_call_runs_again(
    parts: Parts, receiver: Receiver, docker_client: docker.DockerClient
) -> None:
    parts.env["FAAS_LEASE"] = LEASE
    nats = parts.nats()
    gateway = parts.gateway(nats)
    victim = parts.watchdog(nats, 1, wid="victim")
    wait_for_watchdog(gateway)
    deploy(gateway, "slow", "sh -c 'sleep 3; cat'")
    call_id = submit(gateway, "slow", b"twice", **{"X-Callback-Url": receiver.url}).headers[
        "x-call-id"
    ]
    wait_for_containers(docker_client, True, **{"faas.call": call_id})
    victim.proc.kill()
    victim.proc.wait()
    parts.watchdog(nats, 1, wid="victim")  # restarted: removes its orphan, then takes calls
    [callback] = receiver.wait_for(1, timeout=120)
    assert callback.body == b"twice"
    final = wait_record(gateway, call_id, lambda r: r["callback"]["state"] == "delivered")
    assert final["state"] == "succeeded"
    assert final["attempts"] == 2
    wait_for_containers(docker_client, False, **{"faas.call": call_id})


def test_a_call_longer_than_its_lease_runs_once(parts: Parts, receiver: Receiver) -> None:
    parts.env["FAAS_LEASE"] = LEASE
    nats = parts.nats()
    gateway = parts.gateway(nats)
    parts.watchdog(nats, 1)
    parts.watchdog(nats, 1)
    wait_for_watchdog(gateway)
    deploy(gateway, "long", "sh -c 'sleep 10; cat'")  # more than three leases
    call_id = submit(gateway, "long", b"once", **{"X-Callback-Url": receiver.url}).headers[
        "x-call-id"
    ]
    receiver.wait_for(1, timeout=120)
    final = wait_record(gateway, call_id, lambda r: r["callback"]["state"] == "delivered")
    assert final["attempts"] == 1
    assert len(receiver.got) == 1


def test_sync_calls_pass_a_deep_async_queue(parts: Parts, receiver: Receiver) -> None:
    c = cluster(parts, 1)
    deploy(c.gateway, "slow", "sh -c 'sleep 1; cat'")
    deploy(c.gateway, "echo", "cat")
    for i in range(10):
        submit(c.gateway, "slow", f"{i}".encode(), **{"X-Callback-Url": receiver.url})
    with c.gateway.client() as http:
        reply = http.post("/function/echo", content=b"first")
    assert reply.text == "first"
    assert len(receiver.got) <= 3, "the sync call waited behind the async queue"
    receiver.wait_for(10, timeout=120)


def test_a_thousand_async_calls_with_two_watchdogs(
    parts: Parts, receiver: Receiver, docker_client: docker.DockerClient
) -> None:
    nats = parts.nats()
    gateway = parts.gateway(nats)
    parts.watchdog(nats, 2)
    parts.watchdog(nats, 2)
    wait_for_watchdog(gateway)
    with gateway.client() as http:
        fn = {
            "service": "echo",
            "image": "faas/base-busybox:latest",
            "envProcess": "cat",
            "annotations": {"com.faas.network": "none"},
        }
        assert http.post("/system/functions", json=fn).status_code == 202
    ids = asyncio.run(_submit_many(gateway.url, receiver.url, 1000))
    assert len(set(ids)) == 1000
    receiver.wait_for(1000, timeout=1200)
    calls = receiver.by_call()
    assert set(calls) == set(ids)
    assert all(len(cbs) == 1 for cbs in calls.values())
    assert all(cbs[0].body == f"n{ids.index(cid)}".encode() for cid, cbs in calls.items())
    assert all(cbs[0].headers["X-Function-Status"] == "200" for cbs in calls.values())
    for call_id in ids[::100]:
        assert record(gateway, call_id)["state"] == "succeeded"
    assert not call_containers(docker_client, True, **{"faas.function": "echo"})


async def _submit_many(url: str, hook: str, count: int) -> list[str]:
    limit = asyncio.Semaphore(16)

    async def one(http: httpx.AsyncClient, i: int) -> str:
        async with limit:
            reply = await http.post(
                "/async-function/echo", content=f"n{i}".encode(), headers={"X-Callback-Url": hook}
            )
        assert reply.status_code == 202, reply.text
        return reply.headers["x-call-id"]

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        return list(await asyncio.gather(*(one(http, i) for i in range(count))))
