"""One bucket of call records followed: the last value of every key, then each change, handed
on as raw bytes with its revision (the stream sequence), so that whoever follows decodes only
what it needs; and a wait until every write stored so far has been handed on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from nats.js.errors import APIError
from nats.js.kv import KV_DEL, KV_MARKER_REASON, KV_OP, KV_PURGE

from faas import rfc3339

log = logging.getLogger(__name__)

Apply = Callable[[str, bytes | None, int], None]  # key, value (None: deleted), revision
PATIENCE = 5.0  # seconds a wait for writes may see no progress before it gives up
INFO_WAIT = 10.0
_GONE = {KV_DEL, KV_PURGE}
_REMOVED = {"MaxAge", "Purge", "Remove"}  # nats-server 2.11+: markers of keys it removed


@dataclass(frozen=True)
class BucketState:
    """What a bucket's stream holds: sequences, and the time of its first message."""

    messages: int
    first_seq: int
    last_seq: int
    first_micros: int  # the first message's time, in microseconds since the epoch
    created: str = ""  # when the stream was made: another time is another stream


class BucketRemade(Exception):
    """The bucket followed was made anew (a lone server's restart loses one in memory):
    its watch sees none of the new one's writes, and is to be started again."""


class ShelfWatch:
    """An ordered consumer of one bucket, from the last value of each key on."""

    def __init__(self, nc: Client, bucket: str, apply: Apply) -> None:
        self.nc = nc
        self.bucket = bucket
        self.apply = apply
        self.position = 0  # the stream sequence of the last write handed on
        self._prefix = f"$KV.{bucket}."
        self._sub: JetStreamContext.PushSubscription | None = None
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._created = ""  # the followed stream's creation time, from its first state

    async def start(self) -> None:
        self._sub = await self.nc.jetstream().subscribe(
            f"{self._prefix}>",
            stream=f"KV_{self.bucket}",
            cb=self._on_msg,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
            inactive_threshold=300.0,
        )

    async def stop(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):  # a connection already closed has no sub
                await sub.unsubscribe()
        for _, waiter in self._waiters:
            waiter.cancel()
        self._waiters.clear()

    async def _on_msg(self, msg: Msg) -> None:
        tokens = msg.reply.split(".")  # $JS.ACK.[domain.account.]stream.consumer.n.seq...
        revision = int(tokens[5 if len(tokens) == 9 else 7])
        headers = msg.header or {}
        gone = headers.get(KV_OP) in _GONE or headers.get(KV_MARKER_REASON) in _REMOVED
        self.apply(msg.subject[len(self._prefix) :], None if gone else msg.data, revision)
        self.position = revision
        if self._waiters:
            self._wake()

    def _wake(self) -> None:
        waiting = []
        for target, waiter in self._waiters:
            if target <= self.position:
                if not waiter.done():
                    waiter.set_result(None)
            elif not waiter.done():
                waiting.append((target, waiter))
        self._waiters = waiting

    async def caught_up(self, patience: float = PATIENCE) -> None:
        """Once every write the bucket held when this was called is handed on (read your
        writes); given up, and logged, after `patience` seconds without progress.
        BucketRemade if the bucket is not the one this watch began to follow."""
        state = self.same_bucket(await self.state())
        target = state.last_seq if state.messages else 0
        while self.position < target:
            before = self.position
            if await self._until(target, patience) or self.position > before:
                continue
            state = await self.state()
            if state.messages and state.last_seq > self.position:
                log.warning(
                    "records of %s: at %d of %d, no progress for %.0fs; answering from there",
                    self.bucket,
                    self.position,
                    target,
                    patience,
                )
            return

    def same_bucket(self, state: BucketState) -> BucketState:
        """The state, if it is of the bucket this watch began to follow; else BucketRemade."""
        self._created = self._created or state.created
        if state.created != self._created:
            raise BucketRemade(f"bucket {self.bucket} was made anew")
        return state

    async def _until(self, target: int, patience: float) -> bool:
        """Whether the write at `target` was handed on within `patience` seconds."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((target, waiter))
        try:
            async with asyncio.timeout(patience):
                await waiter
        except TimeoutError:
            return False
        return True

    async def state(self) -> BucketState:
        """The bucket's stream state, asked of the server."""
        reply = await self.nc.request(
            f"$JS.API.STREAM.INFO.KV_{self.bucket}", b"", timeout=INFO_WAIT
        )
        info = json.loads(reply.data)
        if "error" in info:
            APIError.from_error(info["error"])  # raises it
        state = info["state"]
        first = rfc3339.parse(state.get("first_ts") or "1970-01-01T00:00:00Z")
        return BucketState(
            state["messages"],
            state["first_seq"],
            state["last_seq"],
            int(first.timestamp() * 1_000_000) if state["messages"] else 0,
            str(info.get("created", "")),
        )
