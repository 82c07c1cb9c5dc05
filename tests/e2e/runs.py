"""Counting container runs apart from the platform's records, on any runtime: the function
phones home to a TCP listener on this host, through its default route (bridge network)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Runs:
    """Lines the functions sent: one per container run, what `reporting` made it send."""

    port: int
    lines: list[str] = field(default_factory=list)

    def reporting(self, what: str = "$HOSTNAME") -> str:
        """A shell line a busybox function runs to report `what` once."""
        gateway = "$(ip route | awk '/default/ {print $3}')"
        return f'echo "{what}" | nc -w 5 {gateway} {self.port}'


@contextmanager
def run_reports() -> Iterator[Runs]:
    """A listener on every address of this host; each connection's text is one line."""
    server = socket.create_server(("0.0.0.0", 0))
    runs = Runs(server.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                runs.lines.append(_read(conn).decode(errors="replace").strip())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield runs
    finally:
        stop.set()
        thread.join(5)
        server.close()


def _read(conn: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := conn.recv(4096):
            chunks.append(chunk)
    except TimeoutError:
        pass
    return b"".join(chunks)
