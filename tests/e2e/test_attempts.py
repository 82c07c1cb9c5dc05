"""Each attempt of a call in its record, through real HTTP on each runtime: the container's
timeline, its exit explained, its image and resource use; and each POST of its callback."""

from __future__ import annotations

import itertools
import time
from typing import Any

import docker
import httpx

from faas import rfc3339
from tests.e2e.containers import docker_cgroups
from tests.e2e.functions import BUSYBOX, PYTHON, fn
from tests.e2e.parts import Gateway, submit, wait_record
from tests.e2e.receiver import Receiver

MiB = 2**20


def deploy(gateway: Gateway, body: dict[str, Any]) -> None:
    with gateway.client() as http:
        assert http.post("/system/functions", json=body).status_code == 202


def call(gateway: Gateway, name: str, body: bytes = b"") -> httpx.Response:
    with gateway.client() as http:
        return http.post(f"/function/{name}", content=body)


def attempts_of(gateway: Gateway, call_id: str, count: int = 1) -> list[dict[str, Any]]:
    """The attempt log of a call once it is over and has `count` entries (a sync call's
    record follows its answer)."""
    record = wait_record(
        gateway,
        call_id,
        lambda r: r["state"] not in ("queued", "running") and len(r["attemptLog"]) >= count,
    )
    log: list[dict[str, Any]] = record["attemptLog"]
    return log


def moment(stamp: str | None) -> float:
    assert stamp is not None
    return rfc3339.parse(stamp).timestamp()


def assert_timeline(entry: dict[str, Any]) -> None:
    """Taken, started, exited in that order; its container made before it started (perhaps
    before the call was taken: made ahead of it)."""
    taken, started, exited = (moment(entry[k]) for k in ("takenAt", "startedAt", "exitedAt"))
    assert taken <= started <= exited, entry
    assert moment(entry["containerCreatedAt"]) <= started, entry


def test_a_call_has_one_attempt_with_its_timeline_image_and_use(
    each_runtime: Gateway, docker_client: docker.DockerClient
) -> None:
    reply = call(each_runtime, "echo", b"hi")
    assert reply.status_code == 200, reply.text
    [entry] = attempts_of(each_runtime, reply.headers["X-Call-Id"])
    assert (entry["attempt"], entry["exitCode"], entry["signal"]) == (1, 0, None)
    assert (entry["outcome"], entry["status"], entry["explanation"]) == ("ok", 200, "exited 0")
    assert entry["image"] == BUSYBOX
    assert entry["imageId"] == docker_client.images.get(BUSYBOX).id
    assert entry["watchdog"]
    assert entry["peakMemoryBytes"] is not None and entry["peakMemoryBytes"] > 0, entry
    assert entry["cpuSeconds"] is not None and entry["cpuSeconds"] >= 0, entry
    assert entry["durationSeconds"] > 0
    assert_timeline(entry)
    deadline = time.monotonic() + 10  # removal follows the answer
    while docker_cgroups({entry["watchdog"]}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not docker_cgroups({entry["watchdog"]})  # the Docker runtime's is removed with it


def test_an_out_of_memory_call_says_so_with_its_limit(each_runtime: Gateway) -> None:
    reply = call(each_runtime, "hog")  # 512 MiB asked, 32 MiB allowed
    assert reply.status_code == 500, reply.text
    [entry] = attempts_of(each_runtime, reply.headers["X-Call-Id"])
    assert entry["outcome"] == "out_of_memory"
    assert entry["explanation"] == "ran out of memory (limit 32 MiB)"
    assert (entry["exitCode"], entry["signal"]) == (137, 9)
    # it reached its limit; a Docker container's parent cgroup counts up to the kernel's
    # per-CPU charge batch (64 pages) past it
    assert 16 * MiB < entry["peakMemoryBytes"] <= 33 * MiB, entry
    assert_timeline(entry)


def test_a_timeout_says_so(each_runtime: Gateway) -> None:
    reply = call(each_runtime, "sleepy")  # sleep 60, killed at 2 s
    assert reply.status_code == 504, reply.text
    [entry] = attempts_of(each_runtime, reply.headers["X-Call-Id"])
    assert entry["outcome"] == "timeout"
    assert entry["explanation"] == "killed at its 2 s timeout"
    assert (entry["exitCode"], entry["signal"]) == (137, 9)
    assert_timeline(entry)


def test_a_retried_async_call_has_one_entry_per_attempt(each_runtime: Gateway) -> None:
    retries = {
        "com.openfaas.retry.attempts": "3",
        "com.openfaas.retry.min_wait": "0.1s",
        "com.openfaas.retry.max_wait": "0.5s",
    }
    deploy(each_runtime, fn("fails-thrice", "sh -c 'exit 3'", annotations=retries))
    accepted = submit(each_runtime, "fails-thrice")
    assert accepted.status_code == 202, accepted.text
    call_id = accepted.headers["X-Call-Id"]
    log = attempts_of(each_runtime, call_id, 3)
    assert [e["attempt"] for e in log] == [1, 2, 3]
    assert [(e["exitCode"], e["explanation"]) for e in log] == [(3, "exited with code 3")] * 3
    for entry in log:
        assert_timeline(entry)
        assert entry["peakMemoryBytes"] > 0
    for before, after in itertools.pairwise(log):
        assert moment(before["exitedAt"]) <= moment(after["takenAt"])
    record = wait_record(each_runtime, call_id, lambda r: True)
    assert (record["state"], record["attempts"]) == ("given_up", 3)


def test_a_job_and_a_scheduled_call_have_their_attempt(each_runtime: Gateway) -> None:
    with each_runtime.client() as http:
        job = http.post("/system/jobs", json={"image": PYTHON, "command": ["python3", "-V"]})
        assert job.status_code == 202, job.text
        scheduled = fn("ticking", "echo tick", annotations={"topic": "cron-function"})
        scheduled["annotations"]["schedule"] = "@every 1s"
        deploy(each_runtime, scheduled)
        try:
            ticks: list[dict[str, Any]] = []
            deadline = time.monotonic() + 30
            while not ticks and time.monotonic() < deadline:
                time.sleep(0.5)
                found = http.get("/system/calls", params={"function": "ticking"}).json()
                ticks = [r for r in found if r["state"] == "succeeded"]
        finally:
            http.request("DELETE", "/system/functions", json={"functionName": "ticking"})
    assert ticks, "no tick ran"
    [tick] = attempts_of(each_runtime, ticks[0]["callId"])
    [ran] = attempts_of(each_runtime, job.headers["X-Call-Id"])
    assert (tick["image"], tick["explanation"]) == (BUSYBOX, "exited 0")
    assert (ran["image"], ran["explanation"]) == (PYTHON, "exited 0")
    for entry in (tick, ran):
        assert entry["peakMemoryBytes"] > 0
        assert_timeline(entry)


def test_a_callback_lists_each_of_its_posts(each_runtime: Gateway, receiver: Receiver) -> None:
    receiver.statuses = [503]  # then 200
    accepted = submit(each_runtime, "echo", b"hi", **{"X-Callback-Url": receiver.url})
    assert accepted.status_code == 202, accepted.text
    call_id = accepted.headers["X-Call-Id"]
    record = wait_record(each_runtime, call_id, lambda r: r["callback"]["state"] == "delivered")
    history = record["callback"]["history"]
    assert [(h["status"], h["error"]) for h in history] == [(503, "HTTP 503"), (200, "")]
    assert moment(history[0]["at"]) <= moment(history[1]["at"])
    assert moment(record["attemptLog"][0]["exitedAt"]) <= moment(history[0]["at"])
    assert len(receiver.by_call()[call_id]) == 2
