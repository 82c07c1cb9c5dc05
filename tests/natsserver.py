"""A real nats-server (JetStream on) for unit tests of modules that talk to NATS."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

from cli import natsserver
from cli.natsserver import cluster_ports

__all__ = ["cluster_ports", "free_port", "running"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
