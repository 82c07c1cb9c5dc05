"""Containers created ahead of their calls: `runc create` off the call's path, `runc start`
on it. Each is used by one call only and then deleted, like any other.

A container made ahead cannot know its call, so its first process is a shim (a static
busybox, bound read-only) that reads the call's `Http_*` variables from stdin up to a blank
line, exports them and execs the function, which then reads the untouched body. Functions
with secrets are never made ahead: their values may change before the call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

SHIM_PATH = "/.faas/busybox"
SHIM = 'while IFS= read -r line && [ -n "$line" ]; do export "$line"; done; exec "$@"'


def shim_args(args: list[str]) -> list[str]:
    """The process of a container made ahead: the shim, then the function's own command."""
    return [SHIM_PATH, "sh", "-c", SHIM, "faas-shim", *args]


def env_prefix(env: dict[str, str]) -> bytes | None:
    """The lines the shim reads before the body; None when a value cannot go in a line."""
    if any("\n" in v or "\0" in v or "\n" in k or "=" in k for k, v in env.items()):
        return None
    return "".join(f"{k}={v}\n" for k, v in env.items()).encode() + b"\n"


class Later(Exception):
    """Not now (its image is still being unpacked for a call): the next call asks again."""


@dataclass(frozen=True)
class Limits:
    per_key: int = 2  # containers made ahead for one function (one revision of its spec)
    total: int = 8  # for the whole watchdog
    memory: int = 256 * 2**20  # resident bytes of all of them (each ~10 MB: its runc init)
    idle: float = 60.0  # seconds one may wait for its call before it is removed


@dataclass
class Entry:
    """One container made ahead, waiting for its call."""

    key: str
    function: str
    container_id: str
    rss: int
    made_at: float


Maker = Callable[[str], Entry]  # key -> a container made for it (raises on failure)
Remover = Callable[[str], None]  # container id -> removed


class Pool:
    """Bounded containers made ahead, per key, made by one thread as calls ask for them."""

    def __init__(self, limits: Limits, make: Maker, remove: Remover) -> None:
        self.limits = limits
        self._make = make
        self._remove = remove
        self._ready: OrderedDict[str, Entry] = OrderedDict()  # container id -> entry
        self._wanted: dict[str, str] = {}  # key -> function, to be filled
        self._asked: dict[str, float] = {}  # key -> when a call last asked for one
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._fill, name="prestart", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(30)
        self.drain(lambda e: True)

    def take(self, key: str, function: str) -> Entry | None:
        """A container made for `key`, if one waits; either way, one more is wanted."""
        with self._lock:
            found = next((e for e in self._ready.values() if e.key == key), None)
            if found is not None:
                del self._ready[found.container_id]
            stale = [e for e in self._ready.values() if e.function == function and e.key != key]
            for entry in stale:
                del self._ready[entry.container_id]
            self._wanted = {k: f for k, f in self._wanted.items() if f != function}
            self._wanted[key] = function  # the newest spec of the function only
            self._asked[key] = time.monotonic()
            self._wake.notify()
        self._remove_all(stale)  # made for an older spec of the same function
        return found

    def drain(self, which: Callable[[Entry], bool]) -> int:
        """Remove the waiting containers `which` picks (a function updated or removed)."""
        with self._lock:
            gone = [e for e in self._ready.values() if which(e)]
            for entry in gone:
                del self._ready[entry.container_id]
            self._wanted = {k: f for k, f in self._wanted.items() if not any(
                e.key == k for e in gone)}  # fmt: skip
        self._remove_all(gone)
        return len(gone)

    def forget(self, function: str) -> int:
        """The function changed or went: remove what was made for it, make no more."""
        with self._lock:
            self._wanted = {k: f for k, f in self._wanted.items() if f != function}
        return self.drain(lambda e: e.function == function)

    def waiting(self) -> list[Entry]:
        with self._lock:
            return list(self._ready.values())

    def _fill(self) -> None:
        while True:
            with self._lock:
                expired, (key, evicted) = self._expired(), self._next()
                while not (expired or key or self._stopping):
                    self._wake.wait(self.limits.idle / 4)
                    expired, (key, evicted) = self._expired(), self._next()
                if self._stopping:
                    return
                function = self._wanted[key] if key else ""
            self._remove_all(expired + evicted)
            if key:
                self._make_one(key, function)

    def _make_one(self, key: str, function: str) -> None:
        try:
            entry = self._make(key)
        except Exception as exc:  # the next call runs without one; it asks again
            level = logging.DEBUG if isinstance(exc, Later) else logging.WARNING
            log.log(level, "cannot make a container ahead for %s: %s", function, exc)
            with self._lock:
                self._wanted.pop(key, None)
            return
        with self._lock:
            keep = not self._stopping and self._wanted.get(key) == function
            if keep:
                self._ready[entry.container_id] = entry
        if not keep:
            self._remove(entry.container_id)

    def _next(self) -> tuple[str | None, list[Entry]]:
        """The wanted key below its share that a call asked for last, and what to take out
        for it when the pool is full: the waiting container least recently asked for, if a
        call asked for it before this key (the lock is held)."""
        ready = list(self._ready.values())
        below = [k for k in self._wanted if sum(e.key == k for e in ready) < self.limits.per_key]
        if not below:
            return None, []
        key = max(below, key=lambda k: self._asked.get(k, 0.0))
        full = len(ready) >= self.limits.total or sum(e.rss for e in ready) >= self.limits.memory
        if not full:
            return key, []
        asked = self._asked.get(key, 0.0)
        older = [e for e in ready if self._asked.get(e.key, 0.0) < asked]
        if not older:
            return None, []
        victim = min(older, key=lambda e: (self._asked.get(e.key, 0.0), e.made_at))
        del self._ready[victim.container_id]
        return key, [victim]

    def _expired(self) -> list[Entry]:
        """Take out the containers that waited longer than `idle` (the lock is held)."""
        now = time.monotonic()
        old = [e for e in self._ready.values() if now - e.made_at > self.limits.idle]
        for entry in old:
            del self._ready[entry.container_id]
            self._wanted.pop(entry.key, None)
            self._asked.pop(entry.key, None)
        return old

    def _remove_all(self, entries: list[Entry]) -> None:
        for entry in entries:
            self._remove(entry.container_id)
