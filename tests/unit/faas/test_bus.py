"""Unit tests of faas.bus's connection, on a real nats-server."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from cli import natsserver
from faas import bus
from faas.errors import Error
from tests.natsserver import free_port


def test_a_server_without_jetstream_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bus, "FIRST_CONNECT_WAIT", 1.0)
    port = free_port()
    log = tmp_path / "nats.log"
    with log.open("wb") as out:  # no -js: the server answers no JetStream request
        proc = subprocess.Popen(
            [natsserver.binary(), "-a", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out
        )
    try:
        natsserver.wait_for_port("127.0.0.1", port, proc, "nats-server", log)
        url = f"nats://127.0.0.1:{port}"
        with pytest.raises(Error, match=f"JetStream at {url} is not available"):
            asyncio.run(bus.connect(url, "test"))
    finally:
        proc.terminate()
        proc.wait(10)
