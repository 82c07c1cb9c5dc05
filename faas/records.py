"""Call records: what happened to every call, kept in a NATS key-value bucket for a while."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from faas.errors import Error

MAX_TEXT = 64 * 1024  # output and stderr kept in a record


class CallNotFound(Error, LookupError):
    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        super().__init__(f"call {call_id!r} not found")


class CallState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    GIVEN_UP = "given_up"  # retried up to the policy's limit, still failing
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self not in (CallState.QUEUED, CallState.RUNNING)


class CallbackState(StrEnum):
    NONE = "none"
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clip(data: bytes) -> tuple[str, bool]:
    """Text of at most MAX_TEXT bytes, and whether it was cut."""
    return data[:MAX_TEXT].decode(errors="replace"), len(data) > MAX_TEXT


@dataclass
class CallbackRecord:
    state: CallbackState = CallbackState.NONE
    attempts: int = 0
    status: int | None = None
    error: str = ""
    deliveredAt: str | None = None


@dataclass
class CallRecord:
    """One call; field names are the JSON names of `/system/calls`."""

    callId: str
    function: str
    kind: str = "async"
    state: CallState = CallState.QUEUED
    attempts: int = 0
    maxAttempts: int = 1
    exitCode: int | None = None
    status: int | None = None
    message: str = ""
    createdAt: str = field(default_factory=now)
    startedAt: str | None = None
    finishedAt: str | None = None
    durationSeconds: float | None = None
    output: str = ""
    outputTruncated: bool = False
    stderr: str = ""
    watchdog: str = ""
    callbackUrl: str | None = None
    callback: CallbackRecord = field(default_factory=CallbackRecord)

    @property
    def key(self) -> str:
        return record_key(self.function, self.callId)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def dumps(self) -> bytes:
        return json.dumps(self.to_json()).encode()

    @classmethod
    def loads(cls, raw: bytes) -> CallRecord:
        data = json.loads(raw)
        data["state"] = CallState(data["state"])
        callback = data.get("callback") or {}
        callback["state"] = CallbackState(callback.get("state", "none"))
        data["callback"] = CallbackRecord(**callback)
        return cls(**data)


def record_key(function: str, call_id: str) -> str:
    return f"{function}.{call_id}"


class RecordStore:
    """Records keyed `<function>.<call id>`, so a function's calls list by key prefix."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def create(self, record: CallRecord) -> CallRecord | None:
        """Store a new record; if the call id is taken, return the record there instead."""
        try:
            await self.kv.create(record.key, record.dumps())
        except KeyWrongLastSequenceError:
            return await self.get_key(record.key)
        return None

    async def put(self, record: CallRecord) -> None:
        await self.kv.put(record.key, record.dumps())

    async def get_key(self, key: str) -> CallRecord:
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            raise CallNotFound(key.split(".", 1)[-1]) from None
        if entry.value is None:
            raise CallNotFound(key.split(".", 1)[-1])
        return CallRecord.loads(entry.value)

    async def get(self, call_id: str) -> CallRecord:
        return await self.get_key(await self._find(call_id))

    async def _find(self, call_id: str) -> str:
        keys = await self._keys(f"*.{call_id}")
        if not keys:
            raise CallNotFound(call_id)
        return keys[0]

    async def _keys(self, pattern: str) -> list[str]:
        """Keys matching a subject pattern, filtered by the server, in order of last write."""
        watcher = await self.kv.watch(pattern, ignore_deletes=True, meta_only=True)
        keys = []
        try:
            while (entry := await watcher.updates(timeout=10)) is not None:  # type: ignore[no-untyped-call]
                keys.append(entry.key)
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
        return keys

    async def update(
        self, function: str, call_id: str, change: Callable[[CallRecord], CallRecord]
    ) -> CallRecord:
        """Apply `change` to the stored record, retrying on a concurrent write."""
        key = record_key(function, call_id)
        while True:
            try:
                entry = await self.kv.get(key)
            except KeyNotFoundError:
                entry = None
            if entry is None or entry.value is None:
                raise CallNotFound(call_id)
            record = change(CallRecord.loads(entry.value))
            try:
                await self.kv.update(key, record.dumps(), last=entry.revision)
                return record
            except KeyWrongLastSequenceError:
                continue

    async def recent(self, function: str | None, limit: int) -> list[CallRecord]:
        """Newest first."""
        keys = await self._keys(f"{function}.*" if function else ">")
        records = []
        for key in keys[-limit * 4 :]:  # keys come in order of last write: a call's end
            try:
                records.append(await self.get_key(key))
            except CallNotFound:
                continue  # expired meanwhile
        records.sort(key=lambda r: r.createdAt, reverse=True)
        return records[:limit]
