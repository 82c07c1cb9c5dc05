"""A real HTTP server on a free loopback port, for unit tests of an HTTP client."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

T = TypeVar("T")


class Server(ThreadingHTTPServer):
    fake: Any  # what the handler answers from, reached as self.server.fake


class Handler(BaseHTTPRequestHandler):
    """A handler that logs nothing: the test's captured stderr stays the CLI's."""

    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler], make: Callable[[str], T]) -> Iterator[T]:
    """Serve `handler` in a thread; yield the fake made for the server's URL; stop it after."""
    server = Server(("127.0.0.1", 0), handler)
    server.fake = make(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server.fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def reply(
    handler: BaseHTTPRequestHandler,
    status: int,
    content: str | bytes | Any,
    headers: dict[str, str] | None = None,
    bytes_type: str = "text/plain",
) -> None:
    """Answer: text as text/plain, bytes as `bytes_type`, anything else as JSON."""
    if isinstance(content, str):
        data, kind = content.encode(), "text/plain; charset=utf-8"
    elif isinstance(content, bytes):
        data, kind = content, bytes_type
    else:
        data, kind = json.dumps(content).encode(), "application/json"
    handler.send_response(status)
    for name, value in ((headers or {}) | {"Content-Type": kind}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
