"""Fixtures for end-to-end tests: a real Docker engine, nats-server, gateways and watchdogs."""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.errors import ImageNotFound

from cli.build import build_stack
from cli.stack import load_stack
from tests.e2e.containers import assert_no_call_containers
from tests.e2e.functions import BASE_IMAGES
from tests.e2e.parts import ROOT, RUNTIMES, Gateway, Parts, platform_of
from tests.e2e.receiver import Receiver


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
    assert_no_call_containers(client, "after the suite")
    client.close()


@pytest.fixture
def parts(tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[Parts]:
    """A factory of real processes, all stopped after the test; checks no container leaked."""
    made = Parts(tmp_path)
    yield made
    made.stop_all()
    assert_no_call_containers(docker_client, "after the test", made.watchdog_ids)


@pytest.fixture(scope="module")
def platform(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Gateway]:
    """The platform on the watchdog's default runtime."""
    yield from platform_of(tmp_path_factory.mktemp("platform"), None)


@pytest.fixture(scope="module", params=RUNTIMES)
def each_runtime(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
) -> Iterator[Gateway]:
    """The platform once with each runtime: the tests of call outcomes and limits use it."""
    yield from platform_of(tmp_path_factory.mktemp(f"platform-{request.param}"), request.param)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    made.start()
    yield made
    made.stop()


HANDLER = 'read -r line; echo "pushed $MARK: $line"\n'


@pytest.fixture
def pushed_image(docker_client: docker.DockerClient) -> Iterator[tuple[str, str]]:
    """A new image of this test's own (no other test has its id), and the mark it answers
    with; removed at the end."""
    name = f"faas-e2e-{uuid.uuid4().hex[:8]}/pushed:latest"
    mark = uuid.uuid4().hex[:8]
    dockerfile = (
        "FROM faas/base-busybox:latest\n"
        f"ENV MARK={mark}\n"
        f"RUN printf '%s' '{HANDLER.strip()}' > /handler.sh\n"
        'CMD ["/bin/sh", "/handler.sh"]\n'
    )
    docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=name, rm=True)
    yield name, mark
    with contextlib.suppress(ImageNotFound):
        docker_client.images.remove(name, force=True)
