"""Unit tests of watchdog.exchange, with a thread playing Docker's end of the attach socket."""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from watchdog.exchange import Exchange, Stop, exchange, exchange_pipes

STDIN, STDOUT, STDERR = 0, 1, 2
MiB = 2**20


def frame(stream: int, payload: bytes) -> bytes:
    """One frame of Docker's multiplexed stream: type, three zero bytes, length, payload."""
    return struct.pack(">BxxxL", stream, len(payload)) + payload


class DockerSide:
    """The container's end of a socket pair, run by `behaviour` in a thread."""

    def __init__(self, behaviour: Callable[[DockerSide], None]) -> None:
        self.ours, self.sock = socket.socketpair()
        self.received = bytearray()
        self.saw_eof = threading.Event()
        self.released = threading.Event()  # set by the test's cleanup: stop waiting
        self._behaviour = behaviour
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> DockerSide:
        self._thread.start()
        return self

    def _run(self) -> None:
        with self.sock:
            self._behaviour(self)

    def read_to_eof(self) -> bytes:
        """Read the body until the watchdog half-closes its side."""
        while chunk := self.sock.recv(64 * 1024):
            self.received += chunk
        self.saw_eof.set()
        return bytes(self.received)

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.released.set()
        self.ours.close()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive(), "the Docker side did not finish"


@pytest.fixture
def docker_side() -> Iterator[Callable[[Callable[[DockerSide], None]], DockerSide]]:
    """Start a Docker side with a behaviour; join its thread and close its sockets after."""
    sides: list[DockerSide] = []

    def start(behaviour: Callable[[DockerSide], None]) -> DockerSide:
        sides.append(DockerSide(behaviour).start())
        return sides[-1]

    yield start
    for side in sides:
        side.close()


def run(
    side: DockerSide,
    body: bytes,
    out: Exchange | None = None,
    timeout: float = 10.0,
    aborted: threading.Event | None = None,
) -> tuple[Stop, Exchange]:
    """Exchange `body` with `side`; return why it stopped and what was gathered."""
    out = out or Exchange(max_stdout=8 * MiB, max_stderr=64 * 1024)
    stop = exchange(side.ours, body, out, time.monotonic() + timeout, aborted or threading.Event())
    return stop, out


def echo(side: DockerSide) -> None:
    """Echo stdin to stdout as it arrives, as `cat` would, then exit."""
    while chunk := side.sock.recv(64 * 1024):
        side.received += chunk
        side.write(frame(STDOUT, chunk))
    side.saw_eof.set()


def silent(side: DockerSide) -> None:
    """Read the body, then never answer nor exit."""
    side.read_to_eof()
    side.released.wait(timeout=10)


# exchange


def test_echo(docker_side: Callable[..., DockerSide]) -> None:
    side = docker_side(echo)
    stop, out = run(side, b"hello, world\n")
    assert stop is Stop.EOF
    assert out.stdout == b"hello, world\n"
    assert out.stderr == b""
    assert side.received == b"hello, world\n"


def test_echo_of_a_large_body_while_the_peer_writes(docker_side: Callable[..., DockerSide]) -> None:
    # Far more than the socket buffers: both sides must read while they write.
    body = bytes(range(256)) * (3 * MiB // 256)
    side = docker_side(echo)
    stop, out = run(side, body, Exchange(max_stdout=len(body), max_stderr=1024))
    assert stop is Stop.EOF
    assert len(out.stdout) == len(body)
    assert out.stdout == body
    assert side.received == body


def test_stdout_and_stderr_are_kept_apart(docker_side: Callable[..., DockerSide]) -> None:
    def behaviour(side: DockerSide) -> None:
        side.read_to_eof()
        side.write(frame(STDOUT, b"out 1,") + frame(STDERR, b"err 1,"))
        side.write(frame(STDERR, b"err 2") + frame(STDOUT, b"out 2"))

    stop, out = run(docker_side(behaviour), b"x")
    assert stop is Stop.EOF
    assert (bytes(out.stdout), bytes(out.stderr)) == (b"out 1,out 2", b"err 1,err 2")


def test_stderr_is_capped(docker_side: Callable[..., DockerSide]) -> None:
    def behaviour(side: DockerSide) -> None:
        side.read_to_eof()
        side.write(frame(STDERR, b"abc") + frame(STDERR, b"defgh") + frame(STDERR, b"ijk"))
        side.write(frame(STDOUT, b"result"))

    stop, out = run(docker_side(behaviour), b"x", Exchange(max_stdout=100, max_stderr=5))
    assert stop is Stop.EOF
    assert out.stderr == b"abcde"
    assert out.stdout == b"result"


def test_frames_split_across_reads(docker_side: Callable[..., DockerSide]) -> None:
    data = frame(STDOUT, b"split payload") + frame(STDERR, b"e")

    def behaviour(side: DockerSide) -> None:
        side.read_to_eof()
        for piece in (data[:3], data[3:8], data[8:12], data[12:]):
            side.write(piece)
            time.sleep(0.02)

    stop, out = run(docker_side(behaviour), b"x")
    assert stop is Stop.EOF
    assert (bytes(out.stdout), bytes(out.stderr)) == (b"split payload", b"e")


def test_stdout_overflow(docker_side: Callable[..., DockerSide]) -> None:
    def behaviour(side: DockerSide) -> None:
        side.read_to_eof()
        side.write(frame(STDOUT, b"0123456789"))
        side.write(frame(STDOUT, b"!"))
        side.released.wait(timeout=10)  # no EOF: only the overflow can end the exchange

    stop, out = run(docker_side(behaviour), b"x", Exchange(max_stdout=10, max_stderr=10))
    assert stop is Stop.OVERFLOW
    assert len(out.stdout) > 10


def test_stdout_at_its_limit_is_not_an_overflow(docker_side: Callable[..., DockerSide]) -> None:
    def behaviour(side: DockerSide) -> None:
        side.read_to_eof()
        side.write(frame(STDOUT, b"01234") + frame(STDOUT, b"56789"))

    stop, out = run(docker_side(behaviour), b"x", Exchange(max_stdout=10, max_stderr=10))
    assert stop is Stop.EOF
    assert out.stdout == b"0123456789"


def test_without_overflow_stdout_past_its_limit_is_dropped(
    docker_side: Callable[..., DockerSide],
) -> None:
    def behaviour(side: DockerSide) -> None:
        side.read_to_eof()
        side.write(frame(STDOUT, b"0123456") + frame(STDOUT, b"789!") + frame(STDOUT, b"more"))

    out = Exchange(max_stdout=10, max_stderr=10, overflow=False)
    stop, out = run(docker_side(behaviour), b"x", out)
    assert stop is Stop.EOF
    assert out.stdout == b"0123456789"


def test_the_tap_sees_all_the_output_as_it_comes(docker_side: Callable[..., DockerSide]) -> None:
    def behaviour(side: DockerSide) -> None:
        side.read_to_eof()
        side.write(frame(STDOUT, b"out 1,") + frame(STDERR, b"err 1,"))
        side.write(frame(STDOUT, b"out 2, past the limit"))

    seen: list[tuple[str, bytes]] = []
    out = Exchange(max_stdout=8, max_stderr=3, overflow=False, tap=lambda s, d: seen.append((s, d)))
    stop, out = run(docker_side(behaviour), b"x", out)
    assert stop is Stop.EOF
    assert seen == [
        ("stdout", b"out 1,"),
        ("stderr", b"err 1,"),
        ("stdout", b"out 2, past the limit"),
    ]
    assert (bytes(out.stdout), bytes(out.stderr)) == (b"out 1,ou", b"err")


def test_deadline(docker_side: Callable[..., DockerSide]) -> None:
    side = docker_side(silent)
    out = Exchange(max_stdout=100, max_stderr=100)
    started = time.monotonic()
    stop = exchange(side.ours, b"body", out, started + 0.3, threading.Event())
    assert stop is Stop.DEADLINE
    assert time.monotonic() - started >= 0.3  # not before its deadline
    assert side.saw_eof.is_set()
    assert side.received == b"body"


def test_deadline_already_past(docker_side: Callable[..., DockerSide]) -> None:
    side = docker_side(silent)
    out = Exchange(max_stdout=100, max_stderr=100)
    stop = exchange(side.ours, b"", out, time.monotonic() - 1, threading.Event())
    assert stop is Stop.DEADLINE


def test_abort_before_the_start(docker_side: Callable[..., DockerSide]) -> None:
    aborted = threading.Event()
    aborted.set()
    stop, _ = run(docker_side(silent), b"body", aborted=aborted)
    assert stop is Stop.ABORTED


def test_abort_while_waiting(docker_side: Callable[..., DockerSide]) -> None:
    aborted = threading.Event()

    def behaviour(side: DockerSide) -> None:
        side.read_to_eof()
        aborted.set()  # the watchdog is shutting down while the function runs
        side.released.wait(timeout=10)

    stop, _ = run(docker_side(behaviour), b"body", aborted=aborted)
    assert stop is Stop.ABORTED  # not EOF: it did not wait for the function's 10 s


def test_an_empty_body_half_closes_at_once(docker_side: Callable[..., DockerSide]) -> None:
    def behaviour(side: DockerSide) -> None:
        body = side.read_to_eof()  # answers only once stdin is closed
        side.write(frame(STDOUT, b"got %d bytes" % len(body)))

    stop, out = run(docker_side(behaviour), b"", timeout=2.0)
    assert stop is Stop.EOF
    assert out.stdout == b"got 0 bytes"


def test_eof_before_the_body_is_read(docker_side: Callable[..., DockerSide]) -> None:
    def behaviour(side: DockerSide) -> None:
        side.write(frame(STDOUT, b"no thanks"))  # exits without reading stdin

    stop, out = run(docker_side(behaviour), b"x" * MiB, timeout=5.0)
    assert stop is Stop.EOF
    assert out.stdout == b"no thanks"


# Exchange.feed


def test_feed_one_frame() -> None:
    out = Exchange(max_stdout=100, max_stderr=100)
    assert out.feed(frame(STDOUT, b"hello"))
    assert out.stdout == b"hello"
    assert out.stderr == b""


def test_feed_several_frames_at_once() -> None:
    out = Exchange(max_stdout=100, max_stderr=100)
    assert out.feed(frame(STDOUT, b"a") + frame(STDERR, b"b") + frame(STDOUT, b"c"))
    assert (bytes(out.stdout), bytes(out.stderr)) == (b"ac", b"b")


def test_feed_byte_by_byte() -> None:
    data = frame(STDOUT, b"hello") + frame(STDERR, b"oops")
    out = Exchange(max_stdout=100, max_stderr=100)
    for i in range(len(data)):
        assert out.feed(data[i : i + 1])
        if i < 8 + 5 - 1:
            assert out.stdout == b""
    assert (bytes(out.stdout), bytes(out.stderr)) == (b"hello", b"oops")


def test_feed_a_header_in_two_pieces() -> None:
    data = frame(STDOUT, b"payload")
    out = Exchange(max_stdout=100, max_stderr=100)
    out.feed(data[:5])
    assert out.stdout == b""
    out.feed(data[5:])
    assert out.stdout == b"payload"


def test_feed_an_empty_frame() -> None:
    out = Exchange(max_stdout=100, max_stderr=100)
    assert out.feed(frame(STDOUT, b"") + frame(STDOUT, b"x"))
    assert out.stdout == b"x"


def test_feed_a_length_that_looks_like_text() -> None:
    # Big-endian, unsigned: 0x00010000 is 65536 bytes, not 256.
    out = Exchange(max_stdout=2**17, max_stderr=100)
    payload = b"z" * 65536
    out.feed(struct.pack(">BxxxL", STDOUT, 65536) + payload[:100])
    assert out.stdout == b""
    out.feed(payload[100:])
    assert out.stdout == payload


@pytest.mark.parametrize("stream", [STDIN, 3, 255])
def test_feed_ignores_other_streams(stream: int) -> None:
    out = Exchange(max_stdout=100, max_stderr=100)
    assert out.feed(frame(stream, b"other") + frame(STDOUT, b"out"))
    assert (bytes(out.stdout), bytes(out.stderr)) == (b"out", b"")


def test_feed_caps_stderr() -> None:
    out = Exchange(max_stdout=100, max_stderr=4)
    assert out.feed(frame(STDERR, b"ab") + frame(STDERR, b"cdef"))
    assert out.feed(frame(STDERR, b"gh"))
    assert out.stderr == b"abcd"


def test_feed_is_false_once_stdout_passes_its_limit() -> None:
    out = Exchange(max_stdout=4, max_stderr=4)
    assert out.feed(frame(STDOUT, b"abcd"))
    assert not out.feed(frame(STDOUT, b"e"))


def test_feed_a_lot_of_stderr_is_not_an_overflow() -> None:
    out = Exchange(max_stdout=4, max_stderr=4)
    assert out.feed(frame(STDERR, b"e" * 1000))
    assert len(out.stderr) == 4


# exchange_pipes: the OCI runtime's three pipes


class PipeSide:
    """A process's end of three pipes, played by a thread: stdin, stdout, stderr."""

    def __init__(self) -> None:
        self.child_in, self.stdin = os.pipe()
        self.stdout, self.child_out = os.pipe()
        self.stderr, self.child_err = os.pipe()
        self.thread: threading.Thread | None = None

    def run(self, behaviour: Callable[[PipeSide], None]) -> PipeSide:
        self.thread = threading.Thread(target=behaviour, args=(self,), daemon=True)
        self.thread.start()
        return self

    def outputs(self) -> dict[int, str]:
        return {self.stdout: "stdout", self.stderr: "stderr"}

    def read_all(self) -> bytes:
        chunks = []
        while chunk := os.read(self.child_in, 65536):
            chunks.append(chunk)
        return b"".join(chunks)

    def finish(self) -> None:
        for fd in (self.child_out, self.child_err, self.child_in):
            with contextlib.suppress(OSError):
                os.close(fd)

    def close(self) -> None:
        if self.thread is not None:
            self.thread.join(5)
        for fd in (self.stdout, self.stderr, self.child_in, self.child_out, self.child_err):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def pipes() -> Iterator[PipeSide]:
    side = PipeSide()
    yield side
    side.close()


def test_pipes_body_in_then_output_until_both_close(pipes: PipeSide) -> None:
    def upper(side: PipeSide) -> None:
        body = side.read_all()
        os.write(side.child_out, body.upper())
        os.write(side.child_err, b"note")
        side.finish()

    out = Exchange(4 * MiB, MiB)
    body = b"abc" * MiB
    stop = exchange_pipes(
        pipes.run(upper).stdin, pipes.outputs(), body, out, time.monotonic() + 10, threading.Event()
    )
    assert stop is Stop.EOF
    assert bytes(out.stdout) == b"ABC" * MiB
    assert bytes(out.stderr) == b"note"


def test_pipes_stdout_past_its_limit_is_an_overflow(pipes: PipeSide) -> None:
    def flood(side: PipeSide) -> None:
        with contextlib.suppress(OSError):
            while True:
                os.write(side.child_out, b"y" * 65536)

    out = Exchange(1000, 1000)
    stop = exchange_pipes(
        pipes.run(flood).stdin, pipes.outputs(), b"", out, time.monotonic() + 10, threading.Event()
    )
    assert stop is Stop.OVERFLOW
    os.close(pipes.stdout)  # ends the flood


def test_pipes_deadline_and_abort(pipes: PipeSide) -> None:
    out = Exchange(1000, 1000)
    started = time.monotonic()
    stop = exchange_pipes(pipes.stdin, pipes.outputs(), b"", out, started + 0.3, threading.Event())
    assert stop is Stop.DEADLINE
    assert time.monotonic() - started >= 0.3
    aborted = threading.Event()
    aborted.set()
    other = PipeSide()
    try:
        assert exchange_pipes(other.stdin, other.outputs(), b"x", out, started + 10, aborted) == (
            Stop.ABORTED
        )
    finally:
        other.close()


def test_pipes_a_process_that_stops_reading_drops_the_rest_of_the_body(pipes: PipeSide) -> None:
    def early(side: PipeSide) -> None:
        os.read(side.child_in, 10)
        os.write(side.child_out, b"done")
        side.finish()

    out = Exchange(1000, 1000)
    stop = exchange_pipes(
        pipes.run(early).stdin,
        pipes.outputs(),
        b"z" * (8 * MiB),
        out,
        time.monotonic() + 10,
        threading.Event(),
    )
    assert stop is Stop.EOF
    assert bytes(out.stdout) == b"done"
