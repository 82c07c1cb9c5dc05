"""Capacity, queueing and shutdown of watchdogs, each test with its own processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
import time
import uuid

import docker
import httpx

from tests.e2e.containers import RUN_DIR, call_containers, wait_for_containers
from tests.e2e.parts import Parts, cluster, deploy, stop, wait_for_watchdog, wait_record
from watchdog.oci import kernel
from watchdog.oci.factory import OWNER_FILE, owner_of

SLOW = {"faas.function": "slow-echo"}


async def _concurrent(url: str, name: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        calls = [http.post(f"/function/{name}", content=f"call {i}".encode()) for i in range(count)]
        return list(await asyncio.gather(*calls))


def _in_background(url: str, count: int) -> tuple[threading.Thread, list[httpx.Response]]:
    replies: list[httpx.Response] = []
    caller = threading.Thread(
        target=lambda: replies.extend(asyncio.run(_concurrent(url, "slow-echo", count)))
    )
    caller.start()
    return caller, replies


def test_no_watchdog_is_503(parts: Parts) -> None:
    gateway = parts.gateway(parts.nats())
    deploy(gateway, "echo", "cat")
    with gateway.client() as http:
        reply = http.post("/function/echo", content=b"x", timeout=10)
    assert reply.status_code == 503
    assert "no watchdog" in reply.text


def test_twenty_concurrent_calls_with_capacity_four(
    parts: Parts, docker_client: docker.DockerClient
) -> None:
    c = cluster(parts, 4)
    deploy(c.gateway, "slow-echo", "sh -c 'sleep 0.5; cat'")
    running: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            running.append(len(call_containers(docker_client, True, **SLOW)))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        replies = asyncio.run(_concurrent(c.gateway.url, "slow-echo", 20))
    finally:
        done.set()
        sampler.join()
    assert [r.status_code for r in replies] == [200] * 20
    assert [r.text for r in replies] == [f"call {i}" for i in range(20)]
    assert 2 <= max(running) <= 4


def test_queued_calls_wait_for_capacity(parts: Parts) -> None:
    c = cluster(parts, 1)
    deploy(c.gateway, "slow-echo", "sh -c 'sleep 1; cat'")
    replies = asyncio.run(_concurrent(c.gateway.url, "slow-echo", 3))
    assert [r.text for r in replies] == ["call 0", "call 1", "call 2"]


def test_sync_calls_queue_and_are_recorded_again_after_nats_restarts_alone(parts: Parts) -> None:
    """A lone server's restart loses its streams and buckets in memory (the sync queue and
    the sync calls' records): the gateway and watchdog make them again as they reconnect,
    and the call index, which followed the lost bucket, follows the new one."""
    c = cluster(parts, 1)
    deploy(c.gateway, "slow-echo", "sh -c 'sleep 1; cat'")
    with c.gateway.client() as http:  # the call index runs, following the records
        assert http.get("/system/calls", params={"function": "slow-echo"}).json() == []
    parts.restart_nats(c.nats)
    wait_for_watchdog(c.gateway)
    deadline = time.monotonic() + 60
    first = None
    while first is None or first.status_code != 200:  # until the gateway is back on NATS
        assert time.monotonic() < deadline, f"no sync call answered: {first and first.text}"
        with c.gateway.client() as http, contextlib.suppress(httpx.HTTPError):
            first = http.post("/function/slow-echo", content=b"first", timeout=30)
        time.sleep(0.2)
    assert first.text == "first"
    found = wait_record(c.gateway, first.headers["x-call-id"], lambda r: True, timeout=30)
    assert (found["state"], found["kind"]) == ("succeeded", "sync")
    # capacity 1: two of three calls wait in the sync queue, a stream in memory
    replies = asyncio.run(_concurrent(c.gateway.url, "slow-echo", 3))
    assert [(r.status_code, r.text) for r in replies] == [(200, f"call {i}") for i in range(3)]
    called = {first.headers["x-call-id"], *(r.headers["x-call-id"] for r in replies)}
    for call_id in called:
        wait_record(c.gateway, call_id, lambda r: True, timeout=30)
    with c.gateway.client() as http:
        listed = http.get("/system/calls", params={"function": "slow-echo"}).json()
    assert {call["callId"] for call in listed} == called


def test_sigterm_mid_call_lets_the_call_finish(
    parts: Parts, docker_client: docker.DockerClient
) -> None:
    c = cluster(parts, 1)
    deploy(c.gateway, "slow-echo", "sh -c 'sleep 2; cat'")
    caller, replies = _in_background(c.gateway.url, 1)
    wait_for_containers(docker_client, True, **SLOW)
    code = stop(c.watchdog.proc)
    caller.join(60)
    assert code == 0
    assert [(r.status_code, r.text) for r in replies] == [(200, "call 0")]
    assert not call_containers(docker_client, **{"faas.watchdog": c.watchdog.id})


def test_queued_calls_fail_fast_when_the_last_watchdog_leaves(
    parts: Parts, docker_client: docker.DockerClient
) -> None:
    c = cluster(parts, 1)
    deploy(c.gateway, "slow-echo", "sh -c 'sleep 2; cat'")
    caller, replies = _in_background(c.gateway.url, 3)
    wait_for_containers(docker_client, True, **SLOW)
    assert stop(c.watchdog.proc) == 0
    caller.join(60)
    assert sorted(r.status_code for r in replies) == [200, 503, 503]
    assert all("no watchdog is connected" in r.text for r in replies if r.status_code == 503)
    parts.watchdog(c.nats, 1)  # a new watchdog must find nothing left of the withdrawn calls
    wait_for_watchdog(c.gateway)
    time.sleep(2)
    assert not call_containers(docker_client, **SLOW), "a call answered 503 ran anyway"


def test_body_limit_follows_the_nats_server(parts: Parts) -> None:
    c = cluster(parts, 1, max_body=256 * 1024)  # the server carries 256 KiB + envelope room
    deploy(c.gateway, "echo", "cat")
    with c.gateway.client() as http:
        fits = http.post("/function/echo", content=b"a" * 256 * 1024)
        over = http.post("/function/echo", content=b"a" * (256 * 1024 + 1))
    assert fits.status_code == 200
    assert len(fits.content) == 256 * 1024
    assert over.status_code == 413


def test_watchdog_removes_its_orphans_at_start(
    parts: Parts, docker_client: docker.DockerClient
) -> None:
    labels = {"faas.call": "orphan", "faas.function": "x", "faas.watchdog": "orphan-owner"}
    docker_client.containers.create("faas/base-busybox:latest", "true", labels=labels)
    other = docker_client.containers.create(
        "faas/base-busybox:latest", "true", labels={**labels, "faas.watchdog": "someone-else"}
    )
    try:
        parts.watchdog(parts.nats(), 1, wid="orphan-owner")
        wait_for_containers(docker_client, False, **{"faas.watchdog": "orphan-owner"})
        assert call_containers(docker_client, **{"faas.watchdog": "someone-else"})
    finally:
        other.remove(force=True)


def test_runc_watchdog_removes_a_container_it_was_killed_while_making(parts: Parts) -> None:
    """Killed after mounting a container's root and before writing its config: the folder
    says whose it is from the start, so that watchdog's next run removes mount and all."""
    folder = RUN_DIR / "calls" / f"faas-{uuid.uuid4().hex}"
    (folder / "rootfs").mkdir(parents=True)
    (folder / OWNER_FILE).write_text("half-made-owner")
    kernel.mount("tmpfs", folder / "rootfs", "tmpfs", "size=1m")
    try:
        assert owner_of(folder) == "half-made-owner"
        parts.watchdog(parts.nats(), 1, "--runtime", "runc", wid="half-made-owner")
        deadline = time.monotonic() + 30
        while folder.exists():
            assert time.monotonic() < deadline, f"{folder} left by its watchdog's next run"
            time.sleep(0.1)
        assert not os.path.ismount(folder / "rootfs")
    finally:
        with contextlib.suppress(OSError):
            kernel.umount(folder / "rootfs")
        shutil.rmtree(folder, ignore_errors=True)
