"""Pull from several JetStream consumers at once, one message per consumer at a time."""

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
    """Keeps one lingering pull per source and hands over whatever arrives, by priority.

    A pull that has not answered is left running for the next round rather than cancelled,
    so no message is ever caught by a request nobody waits for.
    """

    def __init__(
        self, sources: list[Source], pause: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        self.sources = sorted(sources, key=lambda s: s.priority)
        self.pause = pause  # after a failed pull, before the next one
        self.pending: dict[str, asyncio.Task[list[Msg]]] = {}
        self.dropped: list[tuple[Source, asyncio.Task[list[Msg]]]] = []

    def set_sources(self, sources: list[Source]) -> list[Source]:
        """Change the sources; return those dropped with no pull out, to unsubscribe now.

        A dropped source whose pull is still out is closed by `stale()` once it answers.
        """
        names = {s.name for s in sources}
        idle = []
        for source in self.sources:
            if source.name in names:
                continue
            if source.name in self.pending:
                self.dropped.append((source, self.pending.pop(source.name)))
            else:
                idle.append(source)
        self.sources = sorted(sources, key=lambda s: s.priority)
        return idle

    async def stale(self) -> list[tuple[Source, Msg]]:
        """Messages caught by pulls of dropped sources, to hand back; closes those sources."""
        done = [(source, task) for source, task in self.dropped if task.done()]
        self.dropped = [(source, task) for source, task in self.dropped if not task.done()]
        for source, _ in done:
            await source.sub.unsubscribe()
        return [(source, msg) for source, task in done for msg in _result(task)]

    async def take(self) -> list[tuple[Source, Msg]]:
        """Wait until at least one source answers (or its pull expires)."""
        for source in self.sources:
            if source.name not in self.pending:
                self.pending[source.name] = asyncio.create_task(_fetch(source, self.pause))
        await asyncio.wait(self.pending.values(), return_when=asyncio.FIRST_COMPLETED)
        return self._collect(done_only=True)

    async def close(self) -> list[tuple[Source, Msg]]:
        """Wait for the pulls still out; return what they caught, to be handed back."""
        tasks = [*self.pending.values(), *(task for _, task in self.dropped)]
        if tasks:
            await asyncio.wait(tasks)
        return self._collect(done_only=False) + await self.stale()

    def _collect(self, done_only: bool) -> list[tuple[Source, Msg]]:
        got: list[tuple[Source, Msg]] = []
        for source in self.sources:
            task = self.pending.get(source.name)
            if task is not None and (task.done() or not done_only):
                del self.pending[source.name]
                got += [(source, msg) for msg in _result(task)]
        return got


async def _fetch(source: Source, pause: Callable[[float], Awaitable[None]]) -> list[Msg]:
    """One message, or none once the pull expires; after an error, none a while later."""
    try:
        return await source.sub.fetch(1, timeout=FETCH_WAIT)
    except (TimeoutError, NatsTimeoutError):
        return []
    except nats.errors.Error as exc:  # waits, so a persistent error never makes a busy loop
        log.warning("cannot pull %s calls: %s", source.name, exc)
        await pause(FETCH_WAIT)
        return []


def _result(task: asyncio.Task[list[Msg]]) -> list[Msg]:
    """A finished pull's messages; none if it failed (its subscription was closed)."""
    return [] if task.cancelled() or task.exception() else task.result()
