"""A local copy of a JetStream key-value bucket, kept current by a watcher."""

from __future__ import annotations

import asyncio
import logging

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

from faas import supervise

log = logging.getLogger(__name__)


class BucketCache:
    """Every key of a bucket in memory: reads cost nothing, writes go to NATS first."""

    def __init__(self, kv: KeyValue, name: str) -> None:
        self.kv = kv
        self.name = name
        self.values: dict[str, bytes] = {}
        self.revisions: dict[str, int] = {}  # the bucket's revision of each value
        self._task: asyncio.Task[None] | None = None
        self._watcher: KeyValue.KeyWatcher | None = None  # loaded, not yet followed

    async def start(self) -> None:
        """Load the bucket, then follow its changes in the background."""
        self._watcher = await self._load()
        self._task = supervise.start(f"watch of bucket {self.name}", self._follow)

    async def _load(self) -> KeyValue.KeyWatcher:
        """Every stored value, replacing what was held; the watcher then follows changes."""
        watcher = await self.kv.watchall()
        values: dict[str, bytes] = {}
        revisions: dict[str, int] = {}
        while True:
            entry = await watcher.updates(timeout=10)  # type: ignore[no-untyped-call]
            if entry is None:  # the end of what was stored before the watch began
                break
            if entry.operation not in (KV_DEL, KV_PURGE) and entry.value is not None:
                values[entry.key], revisions[entry.key] = entry.value, entry.revision or 0
        self.values, self.revisions = values, revisions
        return watcher

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _follow(self) -> None:
        """Apply the bucket's changes; run again after a failed watch, it loads it afresh."""
        watcher, self._watcher = self._watcher or await self._load(), None
        async for entry in watcher:
            if entry is not None:
                self._apply(entry)

    def _apply(self, entry: KeyValue.Entry) -> None:
        if entry.operation in (KV_DEL, KV_PURGE) or entry.value is None:
            self.values.pop(entry.key, None)
            self.revisions.pop(entry.key, None)
        else:
            self.values[entry.key] = entry.value
            self.revisions[entry.key] = entry.revision or 0

    async def stored(self, key: str) -> bytes | None:
        """The key's value in the bucket now: the copy lags while a watch recovers (seconds,
        after the loss of the server that held it)."""
        try:
            return (await self.kv.get(key)).value
        except KeyNotFoundError:  # deleted and purged keys included
            return None

    async def put(self, key: str, value: bytes) -> None:
        self.revisions[key] = await self.kv.put(key, value)
        self.values[key] = value

    async def delete(self, key: str) -> None:
        await self.kv.purge(key)
        self.values.pop(key, None)
        self.revisions.pop(key, None)
