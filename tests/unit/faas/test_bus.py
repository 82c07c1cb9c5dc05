"""Unit tests of faas.bus's connection, on a real nats-server."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
import uvloop
from nats.aio.client import Client

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


def test_after_each_reconnection_the_callback_runs_and_its_failure_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    data = tmp_path / "nats"
    data.mkdir()
    proc = natsserver.start(data, "127.0.0.1", port, 2**20)

    async def check() -> list[bool]:
        nonlocal proc
        ran: asyncio.Queue[bool] = asyncio.Queue()

        async def reconnected(nc: Client) -> None:
            ran.put_nowait(nc.is_connected)
            raise ValueError("a bug in the callback")

        nc = await bus.connect(f"nats://127.0.0.1:{port}", "test", reconnected)
        seen = []
        try:
            for _ in range(2):
                proc.terminate()
                proc.wait(10)
                proc = natsserver.start(data, "127.0.0.1", port, 2**20)
                seen.append(await asyncio.wait_for(ran.get(), 20))
            await nc.flush()  # the connection still serves
        finally:
            await nc.close()
        return seen

    try:
        assert asyncio.run(check()) == [True, True]
    finally:
        proc.terminate()
        proc.wait(10)
    assert "NATS: after reconnecting" in caplog.text
    assert "a bug in the callback" in caplog.text


def test_a_connection_closes_cleanly_on_uvloop_while_its_server_is_gone(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "nats"
    data.mkdir()
    proc = natsserver.start(data, "127.0.0.1", port, 2**20)

    async def check() -> bool:
        nc = await bus.connect(f"nats://127.0.0.1:{port}", "test")
        proc.kill()
        proc.wait(10)
        while not nc.is_reconnecting:  # noqa: ASYNC110 (bus.connect holds the client's callbacks)
            await asyncio.sleep(0.05)
        await nc.publish("faas.test", b"pending")  # kept for the next server: never sent
        await bus.close(nc)
        return nc.is_closed

    assert uvloop.run(check())
