"""A real nats-server (JetStream on) for unit tests of modules that talk to NATS."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

from cli import natsserver


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cluster_ports(size: int) -> list[int]:
    """Client ports for `size` servers of a cluster, each with its route port free too."""
    ports: list[int] = []
    while len(ports) < size:
        port = free_port()
        route = port + natsserver.ROUTE_PORT_OFFSET
        if route < 65536 and port not in ports and _free(route):
            ports.append(port)
    return ports


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@contextlib.contextmanager
def running(data: Path, max_body: int = 8 * 2**20) -> Iterator[str]:
    """A nats-server storing under `data`, stopped at the end; yields its URL."""
    port = free_port()
    proc = natsserver.start(data, "127.0.0.1", port, max_body)
    try:
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)
