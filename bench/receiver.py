"""The callback receiver: an HTTP server in this process that notes when each callback arrives."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Arrival:
    """One callback as it arrived: when (perf_counter), its status, body and run time."""

    at: float
    status: str  # X-Function-Status
    body: bytes
    run_seconds: float | None  # X-Duration-Seconds


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 would refuse a burst of callbacks


class CallbackReceiver:
    """`with CallbackReceiver() as r:` serves on 127.0.0.1, a free port; `r.url` to call back."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[Arrival]] = {}  # by X-Call-Id
        self.changed = threading.Condition()
        self.closed = False  # ends every wait, so none outlives the receiver
        self.server = _Server(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, name="callbacks")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/callback"

    def __enter__(self) -> CallbackReceiver:
        self.thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self.changed:
            self.closed = True
            self.changed.notify_all()
        self.server.shutdown()
        self.thread.join()
        self.server.server_close()

    def note(self, call_id: str, arrival: Arrival) -> None:
        with self.changed:
            self.arrivals.setdefault(call_id, []).append(arrival)
            self.changed.notify_all()

    def arrived(self, call_id: str) -> list[Arrival]:
        with self.changed:
            return list(self.arrivals.get(call_id, ()))

    def unexpected(self, known: set[str]) -> dict[str, int]:
        """Callbacks for call ids no 202 gave: how many for each."""
        with self.changed:
            return {k: len(v) for k, v in self.arrivals.items() if k not in known}

    def wait_count(self, count: int, stall: float) -> int:
        """Until callbacks for `count` calls have arrived or none came for `stall` seconds;
        blocking. Returns how many calls have one."""
        with self.changed:
            deadline = time.monotonic() + stall
            while len(self.arrivals) < count and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if self.changed.wait(left):
                    deadline = time.monotonic() + stall
            return len(self.arrivals)

    def snapshot(self) -> dict[str, list[Arrival]]:
        with self.changed:
            return {k: list(v) for k, v in self.arrivals.items()}

    def clear(self) -> None:
        with self.changed:
            self.arrivals.clear()

    def wait(self, call_ids: Iterable[str], stall: float) -> set[str]:
        """Until every one of the calls has a callback, none came for `stall` seconds, or the
        receiver closes; blocking. Returns the calls still without one."""
        missing = set(call_ids)
        with self.changed:
            deadline = time.monotonic() + stall
            while missing := {c for c in missing if c not in self.arrivals}:
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    break
                if self.changed.wait(left):
                    deadline = time.monotonic() + stall
        return missing


def _handler(receiver: CallbackReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: a deliverer reuses its connection

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrival = Arrival(
                time.perf_counter(),
                self.headers.get("X-Function-Status", ""),
                body,
                _seconds(self.headers.get("X-Duration-Seconds")),
            )
            receiver.note(self.headers.get("X-Call-Id", ""), arrival)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _seconds(raw: str | None) -> float | None:
    try:
        return float(raw) if raw else None
    except ValueError:
        return None
