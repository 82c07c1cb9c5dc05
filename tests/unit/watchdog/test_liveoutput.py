"""Unit tests of watchdog.liveoutput: a job's output as lines, published while it runs."""

from __future__ import annotations

import asyncio
import threading
import time

import nats.errors
import pytest

from faas.wire import CallKind, CallRequest, LogBatch, RunSpec, pack, unpack
from watchdog import liveoutput
from watchdog.liveoutput import MAX_BATCH, MAX_LINE, STDERR, STDOUT, Lines, LiveOutput

JOB = CallRequest("j-1", "_job", RunSpec("img"), kind=CallKind.JOB)


def lines_of(runs: list[tuple[str, list[str]]]) -> list[tuple[str, str]]:
    return [(stream, line) for stream, lines in runs for line in lines]


# Lines


def test_lines_keep_their_order_across_streams_and_pieces() -> None:
    lines = Lines()
    lines.add(STDOUT, b"one\ntw")
    lines.add(STDERR, b"oops\n")
    lines.add(STDOUT, b"o\r\n\nthree")
    assert lines.take() == [(STDOUT, ["one"]), (STDERR, ["oops"]), (STDOUT, ["two", ""])]
    assert lines.take() == []
    lines.flush()
    assert lines.take() == [(STDOUT, ["three"])]


def test_lines_count_what_waits() -> None:
    lines = Lines()
    lines.add(STDOUT, b"abc\nde")
    assert lines.waiting == 4  # the partial line waits for its end
    lines.take()
    assert lines.waiting == 0


def test_bad_utf8_is_replaced() -> None:
    lines = Lines()
    lines.add(STDOUT, b"caf\xc3\xa9 \xff\n")
    assert lines.take() == [(STDOUT, ["café \ufffd"])]


def test_a_long_line_goes_out_in_pieces() -> None:
    lines = Lines()
    lines.add(STDOUT, b"x" * (MAX_LINE * 2 + 5))
    assert [len(line) for _, line in lines_of(lines.take())] == [MAX_LINE, MAX_LINE]
    lines.add(STDOUT, b"\n" + b"y" * (MAX_LINE + 1) + b"\n")
    assert [len(line) for _, line in lines_of(lines.take())] == [5, MAX_LINE, 1]


def test_runs_are_at_most_a_batch_long() -> None:
    lines = Lines()
    line = b"z" * 1000 + b"\n"
    lines.add(STDOUT, line * 200)
    runs = lines.take()
    assert len(runs) > 1
    assert all(sum(map(len, texts)) <= MAX_BATCH for _, texts in runs)
    assert sum(len(texts) for _, texts in runs) == 200


def test_past_the_limit_one_line_says_the_rest_was_cut() -> None:
    lines = Lines(limit=10)
    lines.add(STDOUT, b"12345\n")
    lines.add(STDERR, b"abc")
    lines.add(STDOUT, b"6789\nmore\n")
    lines.add(STDERR, b"ignored\n")
    assert lines_of(lines.take()) == [
        (STDOUT, "12345"),
        (STDOUT, "6"),  # the partial lines end, stdout's first
        (STDERR, "abc"),
        (STDERR, "faas: output past 10 bytes is not shown"),
    ]
    assert lines.cut


def test_output_up_to_the_limit_is_not_cut() -> None:
    lines = Lines(limit=4)
    lines.add(STDOUT, b"abc\n")
    assert not lines.cut
    assert lines_of(lines.take()) == [(STDOUT, "abc")]


# LiveOutput


class FakePublisher:
    """Keeps the batches; fails from the `fail_at`-th one on, if set."""

    def __init__(self, fail_at: int = 0) -> None:
        self.batches: list[LogBatch] = []
        self.fail_at = fail_at
        self.attempts = 0

    async def __call__(self, batch: LogBatch) -> None:
        self.attempts += 1
        if self.fail_at and self.attempts >= self.fail_at:
            raise nats.errors.TimeoutError
        self.batches.append(unpack(pack(batch), LogBatch))

    def lines(self) -> list[tuple[str, str]]:
        return [(b.stream, line) for b in self.batches for line in b.lines]


def test_lines_are_published_while_the_job_runs_and_the_rest_at_close() -> None:
    publisher = FakePublisher()

    async def scenario() -> None:
        live = LiveOutput(JOB, "wd-1", publisher)
        live.start()
        await asyncio.to_thread(live.write, STDOUT, b"first\n")
        await asyncio.sleep(liveoutput.EVERY * 3)
        assert publisher.lines() == [(STDOUT, "first")]  # before the job ends
        await asyncio.to_thread(live.write, STDERR, b"warn\nno newline")
        await asyncio.to_thread(live.write, STDOUT, b"last")
        await live.close()

    asyncio.run(scenario())
    assert publisher.lines() == [
        (STDOUT, "first"),
        (STDERR, "warn"),
        (STDOUT, "last"),
        (STDERR, "no newline"),
    ]
    for batch in publisher.batches:
        assert (batch.function, batch.call_id, batch.watchdog) == ("_job", "j-1", "wd-1")
        assert batch.started <= batch.finished <= time.time()


def test_a_burst_goes_out_without_waiting_for_the_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(liveoutput, "EVERY", 30.0)
    publisher = FakePublisher()

    async def scenario() -> None:
        live = LiveOutput(JOB, "wd-1", publisher)
        live.start()
        burst = b"".join(b"line %d\n" % i for i in range(1000))
        writer = threading.Thread(target=live.write, args=(STDOUT, burst))
        writer.start()
        writer.join()
        deadline = time.monotonic() + 5
        while len(publisher.lines()) < 1000:
            assert time.monotonic() < deadline, "the burst was not sent before the tick"
            await asyncio.sleep(0.01)
        await live.close()

    asyncio.run(scenario())
    assert [line for _, line in publisher.lines()] == [f"line {i}" for i in range(1000)]


def test_after_a_failed_publish_the_rest_is_dropped_not_waited_for() -> None:
    publisher = FakePublisher(fail_at=2)

    async def scenario() -> None:
        live = LiveOutput(JOB, "wd-1", publisher)
        live.start()
        live.write(STDOUT, b"one\n")
        await asyncio.sleep(liveoutput.EVERY * 3)
        live.write(STDERR, b"two\n")
        live.write(STDOUT, b"three\n")
        await asyncio.wait_for(live.close(), 5)

    asyncio.run(scenario())
    assert publisher.lines() == [(STDOUT, "one")]
    assert publisher.attempts == 2
