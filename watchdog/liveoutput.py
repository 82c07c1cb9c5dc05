"""A job's output as it comes: lines from the container's thread, published in small batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable

import nats.errors

from faas.wire import CallRequest, LogBatch

log = logging.getLogger(__name__)

STDOUT, STDERR = "stdout", "stderr"
EVERY = 0.2  # seconds between batches while output comes
EAGER = 4 * 1024  # bytes of lines waiting that send a batch at once
MAX_LINE = 16 * 1024  # a longer line goes out in pieces of this size
MAX_BATCH = 64 * 1024  # text in one message, well below any NATS payload limit
MAX_LIVE = 16 * 2**20  # a job's output published; past it, one line says the rest was cut

Publish = Callable[[LogBatch], Awaitable[object]]


class Lines:
    """Output split into lines, in the order it came, up to `limit` bytes. Not thread-safe."""

    def __init__(self, limit: int = MAX_LIVE) -> None:
        self.limit = limit
        self.received = 0  # bytes kept, at most `limit`
        self.waiting = 0  # bytes in lines not taken yet
        self.cut = False
        self._partial = {STDOUT: b"", STDERR: b""}
        self._lines: list[tuple[str, str]] = []

    def add(self, stream: str, data: bytes) -> None:
        if self.cut:
            return
        room = self.limit - self.received
        self._split(stream, data[:room])
        if len(data) > room:
            self.flush()
            self.cut = True
            self._line(STDERR, f"faas: output past {_size(self.limit)} is not shown".encode())

    def flush(self) -> None:
        """End the partial lines: the output is over."""
        for stream, rest in self._partial.items():
            if rest:
                self._line(stream, rest)
            self._partial[stream] = b""

    def take(self) -> list[tuple[str, list[str]]]:
        """The lines so far, as runs of one stream each of at most MAX_BATCH bytes of text."""
        runs: list[tuple[str, list[str]]] = []
        size = 0
        for stream, line in self._lines:
            if not runs or runs[-1][0] != stream or size + len(line) > MAX_BATCH:
                runs.append((stream, []))
                size = 0
            runs[-1][1].append(line)
            size += len(line)
        self._lines, self.waiting = [], 0
        return runs

    def _split(self, stream: str, data: bytes) -> None:
        self.received += len(data)
        *complete, rest = (self._partial[stream] + data).split(b"\n")
        for line in complete:
            self._line(stream, line)
        while len(rest) >= MAX_LINE:
            self._line(stream, rest[:MAX_LINE])
            rest = rest[MAX_LINE:]
        self._partial[stream] = rest

    def _line(self, stream: str, raw: bytes) -> None:
        for start in range(0, max(len(raw), 1), MAX_LINE):
            piece = raw[start : start + MAX_LINE]
            self._lines.append((stream, piece.decode(errors="replace").removesuffix("\r")))
            self.waiting += len(piece) + 1


class LiveOutput:
    """A job's output, written from the container's thread, published from the event loop.

    `write` may be called from any thread; `start` and `close` on the loop. Batches go out
    every EVERY seconds, or at once when EAGER bytes wait, in the order the output came.
    """

    def __init__(self, call: CallRequest, watchdog: str, publish: Publish) -> None:
        self.call = call
        self.watchdog = watchdog
        self.publish = publish
        self.started = time.time()
        self.lines = Lines()
        self._lock = threading.Lock()
        self._wake = asyncio.Event()
        self._poked = False  # a wake-up is on its way to the loop
        self._closing = False
        self._broken = False  # a publish failed: the rest is dropped, not waited for
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run())

    def write(self, stream: str, data: bytes) -> None:
        """Take output of the container (`exchange.Tap`); called from its thread."""
        with self._lock:
            self.lines.add(stream, data)
            poke = self.lines.waiting >= EAGER and not self._poked
            self._poked |= poke
        if poke and self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def close(self) -> None:
        """Publish what is left, partial lines included; return once it is all out."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), EVERY)
            self._wake.clear()
            closing = self._closing
            with self._lock:
                if closing:
                    self.lines.flush()
                runs = self.lines.take()
                self._poked = False
            for stream, lines in runs:
                await self._send(stream, lines)
            if closing:
                return

    async def _send(self, stream: str, lines: list[str]) -> None:
        if self._broken:
            return
        call = self.call
        batch = LogBatch(
            call.function, call.call_id, self.watchdog, self.started, time.time(), lines, stream
        )
        try:
            await self.publish(batch)
        except nats.errors.Error as exc:  # JetStream's errors, timeouts included
            self._broken = True
            log.warning("job %s: output no longer published: %s", call.call_id, exc)


def _size(count: int) -> str:
    return f"{count // 2**20} MiB" if count % 2**20 == 0 else f"{count} bytes"
