"""Watchdogs on several hosts: each in its own network namespace with its own address and
image cache, reaching a three-node NATS cluster on this machine over a veth pair."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.e2e.hosts import Host, hosts
from tests.e2e.parts import (
    Gateway,
    NatsCluster,
    Parts,
    faas,
    record,
    stack_of,
    stop,
    wait_for_watchdog,
)
from tests.e2e.receiver import Receiver

REPLICAS = ("--nats-replicas", "3")
LEASE = 6.0  # seconds: a call whose watchdog stops renewing goes to another after this
RUNS_FOR = 8  # seconds each call's container runs


@pytest.fixture
def open_receiver() -> Iterator[Receiver]:
    """A callback receiver the hosts reach too."""
    made = Receiver(listen="0.0.0.0")
    made.start()
    yield made
    made.stop()


def urls(cluster: NatsCluster, host: Host) -> str:
    """The cluster's servers as the host reaches them."""
    return ",".join(f"nats://{host.gateway_address}:{n.port}" for n in cluster.nodes)


def pushed_and_removed(
    parts: Parts, image: str, docker_client: docker.DockerClient, folder: Path
) -> tuple[NatsCluster, Gateway, str]:
    """A cluster and gateway holding `image` (pushed), which no host's Docker has any more;
    and the image's id."""
    cluster = parts.nats_cluster(3, host="0.0.0.0")
    gateway = parts.gateway(cluster, *REPLICAS)
    pushed = faas("push", "-f", str(stack_of(folder, image)), "--gateway", gateway.url)
    assert pushed.returncode == 0, pushed.stderr
    image_id = str(docker_client.images.get(image).id)
    docker_client.images.remove(image, force=True)
    return cluster, gateway, image_id


def test_a_host_cut_off_mid_call_has_it_run_elsewhere_and_its_late_result_ignored(
    parts: Parts, open_receiver: Receiver, tmp_path: Path
) -> None:
    parts.env["FAAS_LEASE"] = str(LEASE)
    cluster = parts.nats_cluster(3, host="0.0.0.0")
    gateway = parts.gateway(cluster, *REPLICAS)
    with hosts(2) as (one, two):
        try:

            def watchdog_on(host: Host) -> str:
                env = {"FAAS_STATE_DIR": str(tmp_path / host.name)}
                made = parts.watchdog(urls(cluster, host), 2, *REPLICAS, on=host.prefix, env=env)
                return made.id

            first = watchdog_on(one)
            wait_for_watchdog(gateway)
            with gateway.client() as http:
                fn = {
                    "service": "slow",
                    "image": "faas/base-busybox:latest",
                    "envProcess": f"sh -c 'sleep {RUNS_FOR}; cat'",
                    "annotations": {"com.faas.network": "none"},
                }
                assert http.post("/system/functions", json=fn).status_code == 202
                hook = {"X-Callback-Url": open_receiver.url_at(one.gateway_address)}
                reply = http.post("/async-function/slow", content=b"once", headers=hook)
                assert reply.status_code == 202, reply.text
            call_id = reply.headers["x-call-id"]
            deadline = time.monotonic() + 30
            while record(gateway, call_id)["state"] != "running":
                assert time.monotonic() < deadline, record(gateway, call_id)
                time.sleep(0.1)
            assert record(gateway, call_id)["watchdog"] == first
            second = watchdog_on(two)
            one.cut()  # mid-call: its lease can no longer be renewed
            deadline = time.monotonic() + 60
            while record(gateway, call_id)["watchdog"] != second:
                assert time.monotonic() < deadline, record(gateway, call_id)
                time.sleep(0.1)
            one.mend()  # back while its container still runs: its result comes in late
            seen = set()  # (state, watchdog) of the record until the callback
            deadline = time.monotonic() + 120
            while not open_receiver.by_call().get(call_id):
                now = record(gateway, call_id)
                seen.add((now["state"], now["watchdog"]))
                assert time.monotonic() < deadline, seen
                time.sleep(0.1)
            assert ("succeeded", first) not in seen, "the late result was taken"
            callbacks = open_receiver.wait_for(1)
            time.sleep(RUNS_FOR + 5)  # time for a second callback or record to show
            assert len(open_receiver.by_call()[call_id]) == 1, open_receiver.by_call()
            assert callbacks[0].body == b"once"
            after = record(gateway, call_id)
            assert (after["state"], after["watchdog"]) == ("succeeded", second), after
            assert after["attempts"] == 2, after
        finally:
            parts.stop_all()  # the watchdogs leave their hosts before the hosts go


def test_a_host_without_the_image_fetches_it_and_a_corrupt_copy_is_fetched_again(
    parts: Parts, pushed_image: tuple[str, str], docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    image, mark = pushed_image
    cluster, gateway, image_id = pushed_and_removed(parts, image, docker_client, tmp_path)
    cache = tmp_path / "host-cache"
    handler = cache / "images" / image_id.removeprefix("sha256:") / "rootfs/handler.sh"
    with hosts(1) as (host,):
        try:
            env = {"FAAS_STATE_DIR": str(cache)}
            args = (urls(cluster, host), 2, *REPLICAS)
            first = parts.watchdog(*args, "--runtime", "runc", on=host.prefix, env=env)
            wait_for_watchdog(gateway)
            with gateway.client() as http:
                fn = {"service": "pushed", "image": image}
                assert http.post("/system/functions", json=fn).status_code == 202
                reply = http.post("/function/pushed", content=b"fetched\n")
                assert (reply.status_code, reply.text) == (200, f"pushed {mark}: fetched\n")
                good = handler.read_bytes()
                stop(first.proc)
                handler.write_bytes(b"echo tampered\n")  # the host's copy goes bad
                parts.watchdog(*args, "--runtime", "runc", on=host.prefix, env=env)
                wait_for_watchdog(gateway)
                reply = http.post("/function/pushed", content=b"again\n")
                assert (reply.status_code, reply.text) == (200, f"pushed {mark}: again\n")
            assert handler.read_bytes() == good
        finally:
            parts.stop_all()


def test_an_executor_host_without_docker_runs_images_from_the_cluster(
    parts: Parts, pushed_image: tuple[str, str], docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    image, mark = pushed_image
    cluster, gateway, _ = pushed_and_removed(parts, image, docker_client, tmp_path)
    with hosts(2) as (docked, bare):
        try:
            env = {"FAAS_STATE_DIR": str(tmp_path / "docked")}
            first = parts.watchdog(urls(cluster, docked), 2, *REPLICAS, on=docked.prefix, env=env)
            wait_for_watchdog(gateway)
            stop(first.proc)  # it published its engine's confinement; only the bare host is left
            env = {
                "FAAS_STATE_DIR": str(tmp_path / "bare"),
                "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock",  # no engine answers
            }
            parts.watchdog(urls(cluster, bare), 2, *REPLICAS, on=bare.prefix, env=env)
            wait_for_watchdog(gateway)
            with gateway.client() as http:
                fn = {"service": "pushed", "image": image}
                assert http.post("/system/functions", json=fn).status_code == 202
                reply = http.post("/function/pushed", content=b"bare\n")
                assert (reply.status_code, reply.text) == (200, f"pushed {mark}: bare\n")
            assert (tmp_path / "bare/images").is_dir()  # run from its own cache
        finally:
            parts.stop_all()
