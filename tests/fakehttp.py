"""A real HTTP server on a free loopback port, for unit tests of an HTTP client."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

T = TypeVar("T")


class Server(ThreadingHTTPServer):
    fake: Any  # what the handler answers from, reached as self.server.fake


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
