"""A callback receiver for tests: a real HTTP server that records what it is sent."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Callback:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers `statuses` in turn (then 200) and keeps every callback it got."""

    statuses: list[int] = field(default_factory=list)
    got: list[Callback] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    listen: str = "127.0.0.1"  # "0.0.0.0": reachable from other hosts too

    @property
    def url(self) -> str:
        return self.url_at("127.0.0.1")

    def url_at(self, address: str) -> str:
        """Its URL as a host that reaches this machine at `address` calls it."""
        assert self.server is not None
        return f"http://{address}:{self.server.server_address[1]}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.got.append(Callback(self.path, dict(self.headers.items()), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((self.listen, 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def wait_for(self, count: int, timeout: float = 60) -> list[Callback]:
        """Until `count` callbacks arrived; fails the test if they do not."""
        deadline = time.monotonic() + timeout
        while len(self.got) < count:
            assert time.monotonic() < deadline, f"{len(self.got)} of {count} callbacks arrived"
            time.sleep(0.05)
        with self.lock:
            return list(self.got)

    def wait_for_calls(self, call_ids: set[str], timeout: float = 60) -> dict[str, list[Callback]]:
        """Until each call has called back; its callbacks by call id, others' too."""
        deadline = time.monotonic() + timeout
        while missing := call_ids - set(self.by_call()):
            assert time.monotonic() < deadline, f"no callback of {len(missing)} calls: {missing}"
            time.sleep(0.05)
        return self.by_call()

    def by_call(self) -> dict[str, list[Callback]]:
        calls: dict[str, list[Callback]] = {}
        with self.lock:
            got = list(self.got)
        for cb in got:
            calls.setdefault(cb.headers["X-Call-Id"], []).append(cb)
        return calls
