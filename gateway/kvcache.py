"""A local copy of a JetStream key-value bucket, kept current by a watcher.

A watch is a consumer on one server. Lose that server and nats.py notices only after two
missed heartbeats (10 s or more), then retries as long again when the cluster has no leader
yet; meanwhile the copy goes stale: a function deployed is not found, one removed still
answers. So an idle watch is checked against the bucket every CHECK_EVERY seconds, and a
change the bucket had at one check that has not come by the next loads the bucket afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats.errors
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

from faas import supervise

log = logging.getLogger(__name__)

CHECK_EVERY = 2.0  # seconds without a change before the watch is checked


class BucketCache:
    """Every key of a bucket in memory: reads cost nothing, writes go to NATS first."""

    def __init__(self, kv: KeyValue, name: str) -> None:
        self.kv = kv
        self.name = name
        self.values: dict[str, bytes] = {}
        self.revisions: dict[str, int] = {}  # the bucket's revision of each value
        self.seen = 0  # the bucket's last sequence this copy holds (changes applied, or loaded)
        self._due = 0  # the bucket's last sequence at the last check: due by the next
        self._task: asyncio.Task[None] | None = None
        self._watcher: KeyValue.KeyWatcher | None = None  # loaded, not yet followed

    async def start(self) -> None:
        """Load the bucket, then follow its changes in the background."""
        self._watcher = await self._load()
        self._task = supervise.start(f"watch of bucket {self.name}", self._follow)

    async def _load(self) -> KeyValue.KeyWatcher:
        """Every stored value, replacing what was held; the watcher then follows changes."""
        before = await self._last_sequence()
        watcher = await self.kv.watchall()
        values: dict[str, bytes] = {}
        revisions: dict[str, int] = {}
        seen = before
        try:
            while True:
                entry = await watcher.updates(timeout=10)  # type: ignore[no-untyped-call]
                if entry is None:  # the end of what was stored before the watch began
                    break
                seen = max(seen, entry.revision or 0)
                if entry.operation not in (KV_DEL, KV_PURGE) and entry.value is not None:
                    values[entry.key], revisions[entry.key] = entry.value, entry.revision or 0
        except BaseException:
            await _stop(watcher)
            raise
        self.values, self.revisions, self.seen, self._due = values, revisions, seen, 0
        return watcher

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._watcher is not None:  # loaded, never followed
            await _stop(self._watcher)

    async def _follow(self) -> None:
        """Apply the bucket's changes; run again after a failed watch, it loads it afresh."""
        watcher, self._watcher = self._watcher or await self._load(), None
        try:
            while True:
                try:
                    entry = await watcher.updates(timeout=CHECK_EVERY)  # type: ignore[no-untyped-call]
                except nats.errors.TimeoutError:
                    if await self._checked_missed():
                        log.warning("watch of bucket %s missed a change: loading it", self.name)
                        await _stop(watcher)
                        watcher = await self._load()
                    continue
                if entry is KeyValue.KeyWatcher.STOP_ITER:
                    return
                if entry is not None:
                    self._apply(entry)
        finally:
            await _stop(watcher)

    async def _checked_missed(self) -> bool:
        """Whether a change the bucket had at the last check has still not come; False
        when the bucket cannot say now (no leader yet): the watch may well be fine."""
        try:
            last = await self._last_sequence()
        except nats.errors.Error as exc:
            log.debug("watch of bucket %s not checked: %s", self.name, exc)
            return False
        due, self._due = self._due, last
        return self.seen < due

    async def _last_sequence(self) -> int:
        return int((await self.kv.status()).stream_info.state.last_seq)

    def _apply(self, entry: KeyValue.Entry) -> None:
        self.seen = max(self.seen, entry.revision or 0)
        if entry.operation in (KV_DEL, KV_PURGE) or entry.value is None:
            self.values.pop(entry.key, None)
            self.revisions.pop(entry.key, None)
        else:
            self.values[entry.key] = entry.value
            self.revisions[entry.key] = entry.revision or 0

    async def stored(self, key: str) -> bytes | None:
        """The key's value in the bucket now: the copy lags while a watch recovers."""
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


async def _stop(watcher: KeyValue.KeyWatcher) -> None:
    """Unsubscribe a watch; on a connection that is gone there is nothing to undo."""
    with contextlib.suppress(nats.errors.Error):
        await watcher.stop()  # type: ignore[no-untyped-call]
