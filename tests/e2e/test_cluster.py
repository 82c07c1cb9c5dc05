"""The platform on a three-node NATS cluster, through the loss of a node: real processes."""

from __future__ import annotations

import shlex
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.e2e.parts import (
    Gateway,
    Nats,
    NatsCluster,
    Parts,
    deploy,
    record,
    stop,
    wait_for_watchdog,
)
from tests.e2e.receiver import Receiver
from tests.e2e.runs import run_reports
from tests.e2e.test_schedules import removed, scheduled, tick_of, until_final

REPLICAS = ("--nats-replicas", "3")
CALLS = 1000
HANG = 30.0  # seconds: an answer later than this is a hang


def platform(parts: Parts, capacity: int = 4) -> tuple[NatsCluster, Gateway]:
    """Three nats-servers, a gateway and a watchdog given all three, and an echo function."""
    cluster = parts.nats_cluster(3)
    gateway = parts.gateway(cluster, *REPLICAS)
    parts.watchdog(cluster, capacity, *REPLICAS)
    wait_for_watchdog(gateway)
    deploy(gateway, "echo", "cat")
    return cluster, gateway


def connected_node(cluster: NatsCluster, pid: int) -> Nats:
    """The server the process `pid` is connected to (the one whose loss it must survive)."""
    sockets = subprocess.run(
        ["ss", "-tnpH", "state", "established"], capture_output=True, text=True, check=True
    ).stdout
    for line in sockets.splitlines():
        if f"pid={pid}," in line:
            peer = int(line.split()[3].rsplit(":", 1)[1])
            for node in cluster.nodes:
                if node.port == peer:
                    return node
    raise AssertionError(f"process {pid} is connected to none of the cluster's servers")


def kill(node: Nats) -> None:
    node.proc.kill()  # SIGKILL: nothing flushed, nothing handed over
    node.proc.wait()


def test_async_calls_survive_a_node_killed_and_restarted(parts: Parts, receiver: Receiver) -> None:
    cluster, gateway = platform(parts)
    victim = connected_node(cluster, gateway.proc.pid)
    statuses: Counter[int] = Counter()
    accepted: dict[int, str] = {}
    lock = threading.Lock()

    def send(i: int) -> None:
        """Until accepted: a 503 is retried under the same idempotency key, as a client does."""
        headers = {"X-Callback-Url": receiver.url, "X-Idempotency-Key": f"call {i}"}
        with gateway.client(timeout=HANG) as http:
            while True:
                reply = http.post("/async-function/echo", content=f"call {i}", headers=headers)
                with lock:
                    statuses[reply.status_code] += 1
                if reply.status_code == 202:
                    with lock:
                        accepted[i] = reply.headers["x-call-id"]
                    return
                assert reply.status_code == 503, reply.text
                time.sleep(0.1)

    with ThreadPoolExecutor(8) as pool:
        sent = [pool.submit(send, i) for i in range(CALLS)]
        while len(accepted) < CALLS // 3 and not any(f.done() for f in sent):
            time.sleep(0.01)
        kill(victim)
        time.sleep(3)
        parts.start_nats(victim)
        for future in sent:
            future.result()  # a hang or an unexpected status fails here

    assert set(statuses) <= {202, 503}
    calls = receiver.wait_for_calls(set(accepted.values()), timeout=600)
    time.sleep(1)  # time for a second callback of any, to be seen
    calls = receiver.by_call()
    assert set(calls) == set(accepted.values())
    twice = [record(gateway, call_id) for call_id, cbs in calls.items() if len(cbs) > 1]
    assert not twice, f"{len(twice)} calls called back more than once: {twice}"
    assert all(calls[accepted[i]][0].body == f"call {i}".encode() for i in range(CALLS))
    for i in range(0, CALLS, 97):
        assert record(gateway, accepted[i])["state"] == "succeeded"
    print(f"\n{CALLS} async calls, a node killed: answers {dict(statuses)}")


def test_sync_calls_through_a_node_kill_answer_or_fail_fast(parts: Parts) -> None:
    cluster, gateway = platform(parts)
    victim = connected_node(cluster, gateway.proc.pid)
    results: list[tuple[float, int]] = []  # (when sent, status) of each call
    done = threading.Event()
    killed_at = 0.0

    def calls(worker: int) -> None:
        with gateway.client(timeout=HANG) as http:
            n = 0
            while not done.is_set():
                sent, n = time.monotonic(), n + 1
                reply = http.post("/function/echo", content=f"{worker}.{n}")
                if reply.status_code == 200:
                    assert reply.text == f"{worker}.{n}"
                else:
                    assert reply.status_code == 503, reply.text
                    assert reply.text.strip(), "a 503 says why"
                    time.sleep(0.05)
                results.append((sent, reply.status_code))

    with ThreadPoolExecutor(4) as pool:
        workers = [pool.submit(calls, w) for w in range(4)]
        time.sleep(1)
        killed_at = time.monotonic()
        kill(victim)
        deadline = killed_at + 60
        while not _steady(results, killed_at) and time.monotonic() < deadline:
            time.sleep(0.1)
        done.set()
        for worker in workers:
            worker.result()

    after = [(t, s) for t, s in results if t >= killed_at]
    assert _steady(results, killed_at), f"calls still failing 60s after the kill: {after[-20:]}"
    failed = [t for t, s in after if s != 200]
    recovered = (max(failed) - killed_at) if failed else 0.0
    print(
        f"\nsync calls, a node killed: {len(failed)} of {len(after)} failed fast (503), "
        f"all succeed from {recovered:.2f}s after the kill"
    )
    parts.start_nats(victim)
    with gateway.client(timeout=HANG) as http:
        assert http.post("/function/echo", content=b"back").text == "back"


def _steady(results: list[tuple[float, int]], since: float, run: int = 40) -> bool:
    """The last `run` calls sent after `since` all succeeded."""
    after = [status for sent, status in list(results) if sent >= since]
    return len(after) >= run and all(status == 200 for status in after[-run:])


def test_a_cluster_stopped_and_started_with_calls_queued_loses_none(
    parts: Parts, receiver: Receiver
) -> None:
    cluster = parts.nats_cluster(3)
    gateway = parts.gateway(cluster, *REPLICAS)
    deploy(gateway, "echo", "cat")
    hook = {"X-Callback-Url": receiver.url}
    sent = {}
    with gateway.client() as http:
        for i in range(50):
            reply = http.post("/async-function/echo", content=f"queued {i}", headers=hook)
            assert reply.status_code == 202, reply.text
            sent[reply.headers["x-call-id"]] = f"queued {i}".encode()
    for node in cluster.nodes:
        stop(node.proc)
    for node in cluster.nodes:
        parts.start_nats(node)
    parts.watchdog(cluster, 4, *REPLICAS)
    receiver.wait_for(50, timeout=300)
    assert {call_id: cbs[0].body for call_id, cbs in receiver.by_call().items()} == sent
    assert all(len(cbs) == 1 for cbs in receiver.by_call().values())


def test_every_part_reaches_the_cluster_from_any_one_url(parts: Parts) -> None:
    """A client given one server learns the others, and follows them when that one goes."""
    cluster = parts.nats_cluster(3)
    first = cluster.nodes[0]
    gateway = parts.gateway(first, *REPLICAS)
    parts.watchdog(first, 2, *REPLICAS)
    wait_for_watchdog(gateway)
    deploy(gateway, "echo", "cat")
    kill(first)
    deadline = time.monotonic() + 60
    with gateway.client(timeout=HANG) as http:
        while True:
            try:
                reply = http.post("/function/echo", content=b"still")
            except httpx.TransportError:
                reply = None
            if reply is not None and reply.status_code == 200:
                break
            assert time.monotonic() < deadline, "no answer after the only given server went"
            time.sleep(0.2)
    assert reply.text == "still"


def test_a_schedule_fires_once_per_tick_through_a_node_killed(parts: Parts) -> None:
    """Two gateways fire every tick; the server one of them is on is SIGKILLed mid-run and
    restarted: each tick still runs once, none inside the window is missed, and none fires
    after the function is removed (that gateway's copy of the functions may still lag)."""
    cluster = parts.nats_cluster(3)
    gateways = [parts.gateway(cluster, *REPLICAS) for _ in range(2)]
    parts.watchdog(cluster, 4, *REPLICAS)
    wait_for_watchdog(gateways[1])
    victim = connected_node(cluster, gateways[0].proc.pid)
    with gateways[1].client() as http, run_reports() as runs:
        beat = scheduled("beat", f"sh -c {shlex.quote(runs.reporting())}", "@every 2s")
        assert http.post("/system/functions", json=beat).status_code == 202
        start = time.time()
        time.sleep(10)
        kill(victim)
        time.sleep(4)
        parts.start_nats(victim)
        time.sleep(10)
        end = removed(http, "beat")
        found = until_final(http, "beat")
        time.sleep(1)  # the last reports on their way
    ticks = [tick_of(r) for r in found]
    assert max(ticks) <= end, (sorted(ticks), end)
    expected = [t for t in range(int(start) + 1, int(end) + 1) if t % 2 == 0]
    assert len(ticks) == len(set(ticks)), "a tick was recorded twice"
    assert set(ticks) >= set(expected[1:-1]), (sorted(ticks), expected)
    assert all(r["state"] == "succeeded" and r["attempts"] == 1 for r in found), found
    assert len(runs.lines) == len(set(runs.lines)) == len(found), runs.lines
