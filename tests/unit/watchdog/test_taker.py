"""Unit tests of watchdog.taker with fake pull subscriptions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import nats.errors
import pytest

from watchdog.taker import FETCH_WAIT, Source, Taker

SHORT = 0.05  # how long an idle fake pull lingers before it times out
LONG = 1.0  # a slow source's linger: longer than any step of a test before it answers


@dataclass(frozen=True)
class FakeMsg:
    data: bytes


class FakeSub:
    """A pull subscription: a fetch takes a queued message, or times out after `wait`.

    With `error` set, a fetch raises it after `wait` instead.
    """

    def __init__(self, wait: float = SHORT, error: Exception | None = None) -> None:
        self.wait = wait
        self.error = error
        self.queue: asyncio.Queue[FakeMsg] = asyncio.Queue()
        self.fetches: list[tuple[int, float]] = []
        self.cancelled = 0
        self.answered = asyncio.Event()  # set when a fetch has returned or raised
        self.unsubscribed = False

    def put(self, *data: bytes) -> list[FakeMsg]:
        msgs = [FakeMsg(d) for d in data]
        for msg in msgs:
            self.queue.put_nowait(msg)
        return msgs

    # the signature of nats-py's PullSubscription.fetch
    async def fetch(self, batch: int, timeout: float) -> list[FakeMsg]:  # noqa: ASYNC109
        self.fetches.append((batch, timeout))
        try:
            if self.error is not None:
                await asyncio.sleep(self.wait)
                raise self.error
            return [await asyncio.wait_for(self.queue.get(), self.wait)]
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        except TimeoutError:
            raise nats.errors.TimeoutError from None
        finally:
            self.answered.set()

    async def unsubscribe(self) -> None:
        self.unsubscribed = True


def source(name: str, priority: int, sub: FakeSub) -> Source:
    return Source(name, sub, priority)  # type: ignore[arg-type]


def run(body: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(body())


async def settle(sub: FakeSub) -> None:
    """Wait until a pull of `sub` has answered; its task is done by the time this returns."""
    await asyncio.wait_for(sub.answered.wait(), LONG * 4)


def taker_sub(sub: FakeSub) -> Any:
    """A fake as the taker types it, for identity checks."""
    return sub


def taker_msg(msg: FakeMsg) -> Any:
    return msg


def names(got: list[tuple[Source, Any]]) -> list[tuple[str, bytes]]:
    return [(s.name, m.data) for s, m in got]


def test_take_pulls_one_message_per_source_with_the_linger() -> None:
    async def body() -> None:
        sub = FakeSub()
        sub.put(b"m1")
        taker = Taker([source("sync", 0, sub)])
        assert names(await taker.take()) == [("sync", b"m1")]
        assert sub.fetches == [(1, FETCH_WAIT)]
        assert await taker.close() == []

    run(body)


def test_take_returns_both_answers_of_a_round_in_priority_order() -> None:
    async def body() -> None:
        sync, async_, capped = FakeSub(), FakeSub(), FakeSub()
        async_.put(b"a1")
        capped.put(b"c1")
        sync.put(b"s1")
        # listed lowest priority first: the taker orders them
        taker = Taker(
            [source("cap-f", 2, capped), source("async", 1, async_), source("sync", 0, sync)]
        )
        assert [s.name for s in taker.sources] == ["sync", "async", "cap-f"]
        got = await taker.take()
        assert names(got) == [("sync", b"s1"), ("async", b"a1"), ("cap-f", b"c1")]
        taken_from: list[object] = [s.sub for s, _ in got]
        assert taken_from == [sync, async_, capped]
        assert await taker.close() == []

    run(body)


def test_take_gives_nothing_when_every_pull_times_out() -> None:
    async def body() -> None:
        a, b = FakeSub(), FakeSub()
        taker = Taker([source("a", 0, a), source("b", 1, b)])
        assert await taker.take() == []
        assert await taker.close() == []
        assert (len(a.fetches), len(b.fetches)) == (1, 1)

    run(body)


def test_a_slow_pull_is_kept_for_the_next_round_not_cancelled() -> None:
    async def body() -> None:
        slow, fast = FakeSub(wait=LONG), FakeSub()
        fast.put(b"f1")
        taker = Taker([source("slow", 0, slow), source("fast", 1, fast)])
        assert names(await taker.take()) == [("fast", b"f1")]
        assert "slow" in taker.pending
        assert not taker.pending["slow"][0].done()
        slow.put(b"s1")
        # the first pull is still out and takes this message: no second pull is made
        assert names(await taker.take()) == [("slow", b"s1")]
        assert len(slow.fetches) == 1
        assert slow.cancelled == 0
        assert len(fast.fetches) == 2
        assert await taker.close() == []
        assert slow.cancelled == 0

    run(body)


def test_a_message_that_arrives_while_nobody_takes_is_not_lost() -> None:
    async def body() -> None:
        slow, fast = FakeSub(wait=LONG), FakeSub()
        fast.put(b"f1")
        taker = Taker([source("slow", 0, slow), source("fast", 1, fast)])
        await taker.take()
        slow.put(b"s1")
        await asyncio.sleep(SHORT)  # the pull catches it between two rounds
        assert names(await taker.take()) == [("slow", b"s1")]
        await taker.close()

    run(body)


def test_set_sources_returns_the_dropped_and_moves_their_pulls_to_stale() -> None:
    async def body() -> None:
        keep, gone = FakeSub(), FakeSub(wait=LONG)
        keep.put(b"k1")
        taker = Taker([source("keep", 0, keep), source("cap-f", 2, gone)])
        assert names(await taker.take()) == [("keep", b"k1")]
        idle = taker.set_sources([source("keep", 0, keep)])
        assert idle == []  # its pull is still out: stale() closes it later
        assert [s.name for s in taker.sources] == ["keep"]
        assert "cap-f" not in taker.pending
        assert await taker.stale() == []  # its pull has not answered yet
        assert not gone.unsubscribed
        (msg,) = gone.put(b"g1")
        await settle(gone)
        stale = await taker.stale()
        assert names(stale) == [("cap-f", b"g1")]
        assert stale[0][1] is taker_msg(msg)
        assert gone.unsubscribed
        assert await taker.stale() == []  # handed over once
        assert not taker.dropped
        assert gone.cancelled == 0
        assert len(gone.fetches) == 1  # no new pull on a dropped source
        assert await taker.close() == []

    run(body)


def test_a_dropped_source_that_caught_nothing_leaves_no_stale() -> None:
    async def body() -> None:
        keep, gone = FakeSub(), FakeSub(wait=SHORT * 2)
        keep.put(b"k1")
        taker = Taker([source("keep", 0, keep), source("gone", 1, gone)])
        await taker.take()
        taker.set_sources([source("keep", 0, keep)])
        await settle(gone)
        assert await taker.stale() == []
        assert not taker.dropped
        await taker.close()

    run(body)


def test_a_dropped_source_message_never_comes_from_take() -> None:
    async def body() -> None:
        keep, gone = FakeSub(), FakeSub(wait=LONG)
        keep.put(b"k1")
        taker = Taker([source("keep", 0, keep), source("gone", 1, gone)])
        await taker.take()
        taker.set_sources([source("keep", 0, keep)])
        gone.put(b"g1")
        keep.put(b"k2")
        assert names(await taker.take()) == [("keep", b"k2")]
        assert names(await taker.close()) == [("gone", b"g1")]

    run(body)


def test_set_sources_adds_a_source_and_keeps_the_pulls_of_the_others() -> None:
    async def body() -> None:
        first, slow, new = FakeSub(), FakeSub(wait=LONG), FakeSub()
        first.put(b"a1")
        taker = Taker([source("a", 0, first), source("slow", 1, slow)])
        await taker.take()
        pull = taker.pending["slow"]
        assert (
            taker.set_sources(
                [source("slow", 1, slow), source("a", 0, first), source("new", 2, new)]
            )
            == []
        )
        assert [s.name for s in taker.sources] == ["a", "slow", "new"]
        assert taker.pending["slow"] is pull
        new.put(b"n1")
        assert names(await taker.take()) == [("new", b"n1")]
        assert len(slow.fetches) == 1
        slow.put(b"s1")
        assert names(await taker.close()) == [("slow", b"s1")]

    run(body)


def test_close_returns_what_the_outstanding_pulls_caught() -> None:
    async def body() -> None:
        a, b, c = FakeSub(wait=LONG), FakeSub(wait=LONG), FakeSub()
        c.put(b"c1")
        taker = Taker([source("a", 0, a), source("b", 1, b), source("c", 2, c)])
        assert names(await taker.take()) == [("c", b"c1")]
        closing = asyncio.create_task(taker.close())
        await asyncio.sleep(SHORT)
        assert not closing.done()  # it waits for the pulls still out
        b.put(b"b1")
        a.put(b"a1")
        got = await closing
        assert sorted(names(got)) == [("a", b"a1"), ("b", b"b1")]
        assert taker.pending == {}
        assert (a.cancelled, b.cancelled, c.cancelled) == (0, 0, 0)

    run(body)


def test_close_returns_the_catch_of_dropped_pulls_too() -> None:
    async def body() -> None:
        keep, gone = FakeSub(wait=LONG), FakeSub(wait=LONG)
        first = FakeSub()
        first.put(b"x")
        taker = Taker([source("first", 0, first), source("keep", 1, keep), source("gone", 2, gone)])
        await taker.take()
        taker.set_sources([source("first", 0, first), source("keep", 1, keep)])
        gone.put(b"g1")
        keep.put(b"k1")
        got = await taker.close()
        assert sorted(names(got)) == [("gone", b"g1"), ("keep", b"k1")]
        assert not taker.dropped
        assert taker.pending == {}

    run(body)


def test_close_without_a_round_returns_nothing() -> None:
    async def body() -> None:
        taker = Taker([source("a", 0, FakeSub())])
        assert await taker.close() == []

    run(body)


async def no_pause(seconds: float) -> None:
    """No wait after a failed pull: the test is about what a round yields."""


def test_a_failed_pull_waits_before_the_next_so_errors_never_spin() -> None:
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    async def body() -> None:
        broken = FakeSub(wait=0, error=nats.errors.ConnectionClosedError())
        taker = Taker([source("broken", 0, broken)], pause=pause)
        for _ in range(3):
            assert await taker.take() == []
        assert pauses == [FETCH_WAIT] * 3
        assert len(broken.fetches) == 3

    run(body)


def test_a_failed_pull_yields_nothing_instead_of_raising() -> None:
    async def body() -> None:
        broken = FakeSub(wait=0, error=nats.errors.BadSubscriptionError())
        slow = FakeSub(wait=LONG)
        taker = Taker([source("broken", 0, broken), source("slow", 1, slow)], pause=no_pause)
        assert await taker.take() == []
        assert "broken" not in taker.pending
        slow.put(b"s1")
        assert names(await taker.take()) == [("slow", b"s1")]
        assert len(broken.fetches) == 2  # each round tries again
        assert await taker.close() == []

    run(body)


@pytest.mark.parametrize(
    "error",
    [RuntimeError("gone"), nats.errors.ConnectionClosedError(), TimeoutError()],
    ids=["runtime", "closed", "builtin-timeout"],
)
def test_a_pull_failing_at_close_yields_nothing(error: Exception) -> None:
    async def body() -> None:
        taker = Taker([source("a", 0, FakeSub(wait=0, error=error))])
        assert await taker.close() == []
        assert await taker.take() == []
        assert await taker.close() == []

    run(body)


def test_a_dropped_pull_that_failed_yields_no_stale() -> None:
    async def body() -> None:
        keep = FakeSub()
        keep.put(b"k1")
        broken = FakeSub(wait=SHORT * 2, error=RuntimeError("unsubscribed"))
        taker = Taker([source("keep", 0, keep), source("broken", 1, broken)])
        assert names(await taker.take()) == [("keep", b"k1")]
        taker.set_sources([source("keep", 0, keep)])
        await settle(broken)
        assert await taker.stale() == []
        assert not taker.dropped
        assert await taker.close() == []

    run(body)


def test_a_source_dropped_twice_keeps_both_dropped_pulls() -> None:
    async def body() -> None:
        base, flap = FakeSub(), FakeSub(wait=LONG)
        a, f = source("base", 0, base), source("cap-f", 2, flap)
        taker = Taker([a, f])
        base.put(b"x1")
        await taker.take()  # cap-f's first pull stays out
        taker.set_sources([a])
        taker.set_sources([a, f])  # back before that pull answered
        base.put(b"x2")
        await taker.take()  # cap-f gets a second pull
        taker.set_sources([a])  # dropped again
        flap.put(b"f1", b"f2")  # one message for each outstanding pull
        got = await taker.close()
        assert sorted(names(got)) == [("cap-f", b"f1"), ("cap-f", b"f2")]

    run(body)


def test_a_dropped_source_with_no_pull_out_is_returned_to_close_now() -> None:
    async def body() -> None:
        keep, gone = FakeSub(), FakeSub()
        taker = Taker([source("keep", 0, keep), source("gone", 1, gone)])
        idle = taker.set_sources([source("keep", 0, keep)])  # before any pull went out
        assert [s.name for s in idle] == ["gone"]
        assert not taker.dropped
        await taker.close()

    run(body)


def test_several_pulls_per_source_are_out_and_each_brings_one() -> None:
    async def body() -> None:
        sub = FakeSub(wait=1.0)
        taker = Taker([source("async", 1, sub)])
        first = asyncio.create_task(taker.take(3))
        await asyncio.sleep(0.01)
        assert len(sub.fetches) == 3  # three lingering pulls, each for one message
        sub.put(b"m1", b"m2")
        got = names(await first)
        while len(got) < 2:
            got += names(await taker.take(3))
        assert sorted(got) == [("async", b"m1"), ("async", b"m2")]
        assert len(sub.fetches) <= 5  # answered pulls are replaced, the waiting one kept
        for _, msg in await taker.close():
            raise AssertionError(f"nothing more was queued, got {msg}")

    run(body)
