"""Fixtures shared by the unit tests."""

from __future__ import annotations

import io
import os
import socket
from collections.abc import Callable, Iterator

import pytest

from tests import natsserver


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> Callable[[bytes], None]:
    """Stdin as an empty pipe; call the fixture with a body to pipe that instead."""

    def pipe(body: bytes) -> None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(body)))

    pipe(b"")
    return pipe


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment without FAAS_*, OPENFAAS_URL or DOCKER_HOST; set some on the patch."""
    for name in list(os.environ):
        if name.startswith("FAAS_") or name in ("OPENFAAS_URL", "DOCKER_HOST"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (nothing answers there)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real nats-server (JetStream on) for one test module; stopped after it."""
    with natsserver.running(tmp_path_factory.mktemp("nats")) as url:
        yield url
