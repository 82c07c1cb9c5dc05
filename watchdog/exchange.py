"""Feed a container's stdin and read its stdout and stderr: over Docker's multiplexed attach
socket, or over three pipes (the OCI runtime's)."""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

_HEADER = struct.Struct(">BxxxL")
_STDOUT, _STDERR = 1, 2
_NAMES = {_STDOUT: "stdout", _STDERR: "stderr"}
_CHUNK = 256 * 1024


class Stop(StrEnum):
    """Why the exchange ended."""

    EOF = "eof"  # the container closed its output: it exited
    DEADLINE = "deadline"
    OVERFLOW = "overflow"  # stdout went past its limit
    ABORTED = "aborted"


Tap = Callable[[str, bytes], None]  # ("stdout" or "stderr", bytes), from the exchange's thread


@dataclass
class Exchange:
    """Output gathered from one container, with its caps.

    With `overflow` False, stdout past `max_stdout` is dropped instead of ending the exchange;
    `tap`, when set, sees every piece of output as it comes.
    """

    max_stdout: int
    max_stderr: int
    overflow: bool = True
    tap: Tap | None = None
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> bool:
        """Add raw attach-stream bytes; False once stdout is past its limit (with `overflow`)."""
        self._buffer += data
        while len(self._buffer) >= _HEADER.size:
            kind, size = _HEADER.unpack_from(self._buffer)
            if len(self._buffer) < _HEADER.size + size:
                break
            payload = bytes(self._buffer[_HEADER.size : _HEADER.size + size])
            del self._buffer[: _HEADER.size + size]
            if kind in _NAMES:
                self.add(_NAMES[kind], payload)
        return self.within_limit

    def add(self, stream: str, payload: bytes) -> bool:
        """Add output of one stream ("stdout" or "stderr"); False as `feed`."""
        if self.tap is not None:
            self.tap(stream, payload)
        if stream == "stdout" and self.overflow:
            self.stdout += payload
        elif stream == "stdout" and len(self.stdout) < self.max_stdout:
            self.stdout += payload[: self.max_stdout - len(self.stdout)]
        elif stream == "stderr" and len(self.stderr) < self.max_stderr:
            self.stderr += payload[: self.max_stderr - len(self.stderr)]
        return self.within_limit

    @property
    def within_limit(self) -> bool:
        return not self.overflow or len(self.stdout) <= self.max_stdout


def waiting(deadline: float, aborted: object, poll: float = 0.1) -> Stop | float:
    """Seconds to wait for the next event, at most `poll`; or why to stop waiting.

    `aborted` is anything with `is_set()` (a threading.Event).
    """
    left = deadline - time.monotonic()
    if left <= 0:
        return Stop.DEADLINE
    if aborted.is_set():  # type: ignore[attr-defined]
        return Stop.ABORTED
    return min(left, poll)


def exchange(
    sock: socket.socket, body: bytes, out: Exchange, deadline: float, aborted: object
) -> Stop:
    """Write `body`, half-close, and read until EOF, the deadline, an overflow or an abort.

    `aborted` is anything with `is_set()` (a threading.Event), polled every 100 ms.
    """
    view = memoryview(body)
    sock.setblocking(False)
    with selectors.DefaultSelector() as sel:
        sel.register(sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if view else 0))
        if not view:
            _half_close(sock)
        while True:
            wait = waiting(deadline, aborted)
            if isinstance(wait, Stop):
                return wait
            for key, events in sel.select(wait):
                if events & selectors.EVENT_WRITE and view:
                    view = _write(sock, view)
                    if not view:
                        _half_close(sock)
                        sel.modify(key.fileobj, selectors.EVENT_READ)
                if events & selectors.EVENT_READ:
                    data = _read(sock)
                    if data is None:
                        continue
                    if not data:
                        return Stop.EOF
                    if not out.feed(data):
                        return Stop.OVERFLOW


def _write(sock: socket.socket, view: memoryview) -> memoryview:
    try:
        sent = sock.send(view[:_CHUNK])
    except BlockingIOError:
        return view
    except (BrokenPipeError, ConnectionResetError):
        return view[len(view) :]  # the function stopped reading: drop the rest of the body
    return view[sent:]


def _read(sock: socket.socket) -> bytes | None:
    try:
        return sock.recv(_CHUNK)
    except BlockingIOError:
        return None
    except ConnectionResetError:
        return b""


def _half_close(sock: socket.socket) -> None:
    """Close our sending side: the function sees the end of its stdin."""
    with contextlib.suppress(OSError):  # the container may have closed the stream already
        sock.shutdown(socket.SHUT_WR)


def exchange_pipes(
    stdin: int,
    outputs: dict[int, str],
    body: bytes,
    out: Exchange,
    deadline: float,
    aborted: object,
) -> Stop:
    """As `exchange`, over a pipe to the process's stdin and pipes of its outputs.

    `outputs` maps each read end to its stream name; EOF is when every one of them closed.
    `stdin` is closed here once the body is written (or on return); the outputs stay open.
    """
    view = memoryview(body)
    for fd in (stdin, *outputs):
        os.set_blocking(fd, False)
    with selectors.DefaultSelector() as sel, _closing(stdin) as close_stdin:
        for fd in outputs:
            sel.register(fd, selectors.EVENT_READ)
        if view:
            sel.register(stdin, selectors.EVENT_WRITE)
        else:
            close_stdin()
        open_outputs = len(outputs)
        while open_outputs:
            wait = waiting(deadline, aborted)
            if isinstance(wait, Stop):
                return wait
            for key, _ in sel.select(wait):
                if key.fd == stdin:
                    view = _write_pipe(stdin, view)
                    if not view:
                        sel.unregister(stdin)
                        close_stdin()  # the function sees the end of its stdin
                    continue
                data = _read_pipe(key.fd)
                if data is None:
                    continue
                if not data:
                    sel.unregister(key.fd)
                    open_outputs -= 1
                elif not out.add(outputs[key.fd], data):
                    return Stop.OVERFLOW
    return Stop.EOF


@contextlib.contextmanager
def _closing(fd: int) -> Iterator[Callable[[], None]]:
    """A function that closes `fd` once, and closes it at the end if it was not called."""
    closed = False

    def close() -> None:
        nonlocal closed
        if not closed:
            closed = True
            os.close(fd)

    try:
        yield close
    finally:
        close()


def _write_pipe(fd: int, view: memoryview) -> memoryview:
    try:
        return view[os.write(fd, view[:_CHUNK]) :]
    except BlockingIOError:
        return view
    except BrokenPipeError:
        return view[len(view) :]  # the function stopped reading: drop the rest of the body


def _read_pipe(fd: int) -> bytes | None:
    try:
        return os.read(fd, _CHUNK)
    except BlockingIOError:
        return None
