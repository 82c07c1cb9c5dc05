"""Pull from several JetStream consumers at once, a message per pull."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import nats.errors
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext

log = logging.getLogger(__name__)

FETCH_WAIT = 1.0  # a pull request lingers this long; also bounds how fast shutdown is seen


@dataclass(frozen=True)
class Source:
    """A pull consumer; sources with a lower priority number are served first."""

    name: str
    sub: JetStreamContext.PullSubscription
    priority: int


class Taker:
    """Keeps lingering pulls on every source and hands over whatever arrives, by priority.

    Up to `width` pulls of one message each are out per source at once: one pull waits on
    the server while JetStream is busy writing, several keep a queue draining. A pull that
    has not answered is left running for the next round rather than cancelled, so no
    message is ever caught by a request nobody waits for.
    """

    def __init__(
        self, sources: list[Source], pause: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        self.sources = sorted(sources, key=lambda s: s.priority)
        self.pause = pause  # after a failed pull, before the next one
        self.pending: dict[str, list[asyncio.Task[list[Msg]]]] = {}
        self.dropped: list[tuple[Source, asyncio.Task[list[Msg]]]] = []

    def set_sources(self, sources: list[Source]) -> list[Source]:
        """Change the sources; return those dropped with no pull out, to unsubscribe now.

        A dropped source whose pulls are still out is closed by `stale()` once they answer.
        """
        names = {s.name for s in sources}
        idle = []
        for source in self.sources:
            if source.name in names:
                continue
            if self.pending.get(source.name):
                self.dropped += [(source, task) for task in self.pending.pop(source.name)]
            else:
                self.pending.pop(source.name, None)
                idle.append(source)
        self.sources = sorted(sources, key=lambda s: s.priority)
        return idle

    async def stale(self) -> list[tuple[Source, Msg]]:
        """Messages caught by pulls of dropped sources, to hand back; closes each source
        once none of its pulls is out."""
        done = [(source, task) for source, task in self.dropped if task.done()]
        self.dropped = [(source, task) for source, task in self.dropped if not task.done()]
        out = {source.name for source, _ in self.dropped}
        closed = {source.name: source for source, _ in done if source.name not in out}
        for source in closed.values():
            await source.sub.unsubscribe()
        return [(source, msg) for source, task in done for msg in _result(task)]

    async def take(self, width: int = 1) -> list[tuple[Source, Msg]]:
        """Wait until at least one pull answers (or expires), with up to `width` out per
        source."""
        for source in self.sources:
            pulls = self.pending.setdefault(source.name, [])
            while len(pulls) < width:
                pulls.append(asyncio.create_task(_fetch(source, self.pause)))
        tasks = [task for pulls in self.pending.values() for task in pulls]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return self._collect(done_only=True)

    async def close(self) -> list[tuple[Source, Msg]]:
        """Wait for the pulls still out; return what they caught, to be handed back."""
        tasks = [t for pulls in self.pending.values() for t in pulls]
        tasks += [task for _, task in self.dropped]
        if tasks:
            await asyncio.wait(tasks)
        return self._collect(done_only=False) + await self.stale()

    def _collect(self, done_only: bool) -> list[tuple[Source, Msg]]:
        got: list[tuple[Source, Msg]] = []
        for source in self.sources:
            pulls = self.pending.get(source.name, [])
            for task in [t for t in pulls if t.done() or not done_only]:
                pulls.remove(task)
                got += [(source, msg) for msg in _result(task)]
            if not pulls:
                self.pending.pop(source.name, None)
        return got


async def _fetch(source: Source, pause: Callable[[float], Awaitable[None]]) -> list[Msg]:
    """One message, or none once the pull expires; after an error, none a while later."""
    try:
        return await source.sub.fetch(1, timeout=FETCH_WAIT)
    except (TimeoutError, NatsTimeoutError):
        return []
    except nats.errors.Error as exc:  # waits, so a persistent error never makes a busy loop
        log.warning("cannot pull from %s: %s", source.name, exc)
        await pause(FETCH_WAIT)
        return []


def _result(task: asyncio.Task[list[Msg]]) -> list[Msg]:
    """A finished pull's messages; none if it failed (its subscription was closed)."""
    return [] if task.cancelled() or task.exception() else task.result()
