"""Fixtures for end-to-end tests: a real Docker engine, nats-server, gateways and watchdogs."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from cli.build import build_stack
from cli.stack import load_stack
from tests.e2e.containers import call_containers, leftovers
from tests.e2e.functions import BASE_IMAGES, TEST_FUNCTIONS
from tests.e2e.parts import ROOT, Gateway, Parts, wait_for_watchdog
from tests.e2e.receiver import Receiver
from watchdog.runner import CALL_LABEL, WATCHDOG_LABEL


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """The Docker engine; its absence fails the run under CI and skips it elsewhere."""
    client = docker.from_env()
    try:
        client.ping()
    except docker.errors.DockerException as exc:
        client.close()
        message = f"no Docker engine: {exc} (scripts/bootstrap starts one)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    missing = [i for i in BASE_IMAGES if not client.images.list(name=i)]
    if missing:
        pytest.fail(f"base images missing: {missing}; run scripts/base-images")
    build_stack(load_stack(ROOT / "stack.yml"), say=lambda line: None)
    yield client
    _assert_no_call_containers(client, "after the suite")
    client.close()


def _assert_no_call_containers(
    client: docker.DockerClient, when: str, watchdogs: set[str] | None = None
) -> None:
    """No container of a call, in Docker or runc, and nothing a runc container is made of;
    of these watchdogs (stopped), or of any. Removal runs just after the reply, so give it a
    moment before calling it a leak."""
    deadline = time.monotonic() + 10
    labels = [{WATCHDOG_LABEL: w} for w in watchdogs] if watchdogs is not None else [{}]
    while any(call_containers(client, **x) for x in labels) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [c for x in labels for c in call_containers(client, **x)]
    assert not left, f"{len(left)} container(s) labelled {CALL_LABEL} left {when}"
    while leftovers(watchdogs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not leftovers(watchdogs), f"left {when}: {', '.join(leftovers(watchdogs))}"


@pytest.fixture
def parts(tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[Parts]:
    """A factory of real processes, all stopped after the test; checks no container leaked."""
    made = Parts(tmp_path)
    yield made
    made.stop_all()
    _assert_no_call_containers(docker_client, "after the test", made.watchdog_ids)


RUNTIMES = ("runc", "docker")


def _platform(tmp: Path, runtime: str | None) -> Iterator[Gateway]:
    """NATS, a gateway and a watchdog of capacity 4, with the sample and test functions."""
    made = Parts(tmp)
    try:
        nats = made.nats()
        gateway = made.gateway(nats)
        made.watchdog(nats, 4, *(("--runtime", runtime) if runtime else ()))
        wait_for_watchdog(gateway)
        with gateway.client() as http:
            for fn in load_stack(ROOT / "stack.yml").functions.values():
                assert http.post("/system/functions", json=fn.deployment()).status_code == 202
            for body in TEST_FUNCTIONS:
                assert http.post("/system/functions", json=body).status_code == 202
        gateway.runtime = runtime or ""
        yield gateway
    finally:
        made.stop_all()


@pytest.fixture(scope="module")
def platform(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Gateway]:
    """The platform on the watchdog's default runtime."""
    yield from _platform(tmp_path_factory.mktemp("platform"), None)


@pytest.fixture(scope="module", params=RUNTIMES)
def each_runtime(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
) -> Iterator[Gateway]:
    """The platform once with each runtime: the tests of call outcomes and limits use it."""
    yield from _platform(tmp_path_factory.mktemp(f"platform-{request.param}"), request.param)


def wait_for_containers(
    client: docker.DockerClient, present: bool, timeout: float = 30, **labels: str
) -> None:
    """Until a per-call container with these labels exists (or none does)."""
    deadline = time.monotonic() + timeout
    while bool(call_containers(client, **labels)) != present:
        assert time.monotonic() < deadline, f"containers {labels} never became present={present}"
        time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    made.start()
    yield made
    made.stop()
