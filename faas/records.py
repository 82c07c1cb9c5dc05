"""Call records: what happened to every call, kept in a NATS key-value bucket for a while."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from nats.aio.client import Client
from nats.js.errors import InvalidKeyError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from faas import bus, layout, rfc3339
from faas.errors import Error
from faas.inflight import create_first
from faas.kvreads import QuickReads, last_key

MAX_TEXT = 64 * 1024  # output and stderr kept in a record
STAMPED = re.compile(r"[0-9a-f]{16}t([0-9a-f]{14})")  # a call id with its record's time


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
    SKIPPED = "skipped"  # a scheduled tick not run: the previous run was still going

    @property
    def final(self) -> bool:
        return self not in (CallState.QUEUED, CallState.RUNNING)


class CallbackState(StrEnum):
    NONE = "none"
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def now() -> str:
    return rfc3339.stamp(datetime.now(UTC))


def clip(data: bytes) -> tuple[str, bool]:
    """Text of at most MAX_TEXT bytes, and whether it was cut."""
    return data[:MAX_TEXT].decode(errors="replace"), len(data) > MAX_TEXT


@dataclass
class CallbackAttempt:
    """One POST of a call's result to its callback URL."""

    at: str
    status: int | None = None  # None: no answer (connection refused, timeout)
    error: str = ""


@dataclass
class CallbackRecord:
    state: CallbackState = CallbackState.NONE
    attempts: int = 0
    status: int | None = None
    error: str = ""
    deliveredAt: str | None = None
    history: list[CallbackAttempt] = field(default_factory=list)


@dataclass
class RequestRecord:
    """What the call was asked, kept so that it can be retried and reproduced."""

    method: str = "POST"
    path: str = "/"
    query: str = ""
    headers: list[list[str]] = field(default_factory=list)  # credentials left out
    body: str = ""  # base64; empty when not kept
    bodyBytes: int = 0
    bodyKept: bool = True  # False: larger than MAX_TEXT, not kept


@dataclass
class AttemptRecord:
    """One run of the call in its own container, on one watchdog."""

    attempt: int
    watchdog: str = ""
    image: str = ""  # as the function names it
    imageId: str = ""  # the exact image it ran
    takenAt: str | None = None  # the watchdog took the call
    containerCreatedAt: str | None = None  # may be before takenAt: created ahead of its call
    startedAt: str | None = None  # the function's process started
    exitedAt: str | None = None
    exitCode: int | None = None
    signal: int | None = None  # the signal that ended it, if one did
    outcome: str = ""  # faas.wire.Outcome
    status: int | None = None
    explanation: str = ""  # the exit in words: "killed at its 5s timeout", "ran out of memory"
    durationSeconds: float | None = None
    peakMemoryBytes: int | None = None
    cpuSeconds: float | None = None


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
    request: RequestRecord | None = None
    retryOf: str | None = None  # the call this one retries
    attemptLog: list[AttemptRecord] = field(default_factory=list)

    @property
    def unstarted(self) -> bool:
        """Queued and never taken by a watchdog."""
        return self.state is CallState.QUEUED and self.attempts == 0

    @property
    def key(self) -> str:
        return record_key(self.function, self.createdAt, self.callId)

    def to_json(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict's deep copy was a tenth of a sync call's watchdog CPU
        data = dict(vars(self))
        data["callback"] = {
            **vars(self.callback),
            "history": [dict(vars(a)) for a in self.callback.history],
        }
        if self.request is not None:
            headers = [list(h) for h in self.request.headers]
            data["request"] = {**vars(self.request), "headers": headers}
        data["attemptLog"] = [dict(vars(a)) for a in self.attemptLog]
        return data

    def dumps(self) -> bytes:
        return json.dumps(self.to_json()).encode()

    @classmethod
    def loads(cls, raw: bytes) -> CallRecord:
        data = _known(cls, json.loads(raw))
        data["state"] = CallState(data["state"])
        callback = _known(CallbackRecord, data.get("callback") or {})
        callback["state"] = CallbackState(callback.get("state", "none"))
        callback["history"] = [
            CallbackAttempt(**_known(CallbackAttempt, a)) for a in callback.get("history", [])
        ]
        data["callback"] = CallbackRecord(**callback)
        if data.get("request") is not None:
            data["request"] = RequestRecord(**_known(RequestRecord, data["request"]))
        data["attemptLog"] = [
            AttemptRecord(**_known(AttemptRecord, a)) for a in data.get("attemptLog", [])
        ]
        return cls(**data)


def _known(kind: type, data: dict[str, Any]) -> dict[str, Any]:
    """The fields `kind` has: a record written by a newer version loads, its extras dropped."""
    names = {f.name for f in fields(kind)}
    return {k: v for k, v in data.items() if k in names}


def record_key(function: str, created_at: str, call_id: str) -> str:
    """`<function>.<creation time in microseconds>.<call id>`: listings sort by key."""
    return f"{function}.{_micros(created_at):017d}.{call_id}"


def stamped_id(created_at: str) -> str:
    """A new call id that tells where its record is, but for the function: 64 random bits
    (first, so that ids shown cut short still differ), then the record's creation time as
    its key has it. Such a record needs no index entry (one durable write fewer per call):
    it is found by the one key of any function that ends with that time and id."""
    return f"{secrets.token_hex(8)}t{_micros(created_at):014x}"


def _micros(created_at: str) -> int:
    return int(rfc3339.parse(created_at).timestamp() * 1_000_000)


def _stamp_of(call_id: str) -> int | None:
    """The key's time a stamped call id carries; None for any other id."""
    found = STAMPED.fullmatch(call_id)
    return int(found[1], 16) if found else None


@dataclass(frozen=True)
class Held:
    """A record as last read or written, with its revision: the next update needs no read."""

    record: CallRecord
    revision: int


@dataclass(frozen=True)
class Shelf:
    """A bucket of records and the index of their call ids."""

    kv: KeyValue
    index: KeyValue
    bucket: str
    index_bucket: str = ""


class RecordStore:
    """Records under time-ordered keys, and an index from call id to key.

    The index is written first, with create (atomic): a call id is taken once, whichever
    gateway sees it first; repeats find the first call through it.

    Sync calls' records, which nothing depends on (a sync call runs at most once, its caller
    has its answer), go on a volatile shelf: kept in memory, written without waiting.
    """

    def __init__(
        self, nc: Client, kv: KeyValue, index: KeyValue, bucket: str, volatile: Shelf | None = None
    ) -> None:
        self.nc = nc
        self.kv = kv
        self.index = index
        self.bucket = bucket
        self.volatile = volatile
        self.shelves = [Shelf(kv, index, bucket), *([volatile] if volatile else [])]

    @classmethod
    async def open(cls, nc: Client, retention: float) -> RecordStore:
        js = nc.jetstream()
        size = bus.SYNC_RECORDS_BYTES
        for name in (bus.CALLS_BUCKET, bus.CALL_INDEX_BUCKET):
            await layout.bucket(js, name, retention)
        for name in (bus.SYNC_CALLS_BUCKET, bus.SYNC_CALL_INDEX_BUCKET):
            await layout.memory_bucket(js, name, retention, size)
        volatile = Shelf(
            QuickReads(nc, js, bus.SYNC_CALLS_BUCKET),
            QuickReads(nc, js, bus.SYNC_CALL_INDEX_BUCKET),
            bus.SYNC_CALLS_BUCKET,
            bus.SYNC_CALL_INDEX_BUCKET,
        )
        kv, index = QuickReads(nc, js, bus.CALLS_BUCKET), QuickReads(nc, js, bus.CALL_INDEX_BUCKET)
        return cls(nc, kv, index, bus.CALLS_BUCKET, volatile)

    async def create(self, record: CallRecord) -> tuple[CallRecord, bool]:
        """Store a new record; if its call id is taken, return that call's record and False."""
        if (key := await self._stamped_key(self.shelves[0], record.callId)) is not None:
            with contextlib.suppress(CallNotFound):  # an id made here, sent again
                return await self.get_key(key), False
        try:
            await create_first(self.index, record.callId, record.key.encode())
        except KeyWrongLastSequenceError:
            key = await self._find(record.callId)
            try:
                return await self.get_key(key), False
            except CallNotFound:  # its first submission stopped between index and record
                return await self._complete(replace(record, createdAt=_created_at(key)))
        await self.kv.put(record.key, record.dumps())
        return record, True

    async def _complete(self, record: CallRecord) -> tuple[CallRecord, bool]:
        """Write the record an index entry lacks, unless a racing writer just did."""
        try:
            await create_first(self.kv, record.key, record.dumps())
        except KeyWrongLastSequenceError:
            return await self.get_key(record.key), False
        return record, True

    async def put(self, record: CallRecord) -> Held:
        """Store a record, indexing its call id unless another call holds it (or its id
        tells its key)."""
        if not _self_found(record):
            with contextlib.suppress(KeyWrongLastSequenceError):
                await create_first(self.index, record.callId, record.key.encode())
        return Held(record, await self.kv.put(record.key, record.dumps()))

    async def create_if_absent(self, record: CallRecord) -> bool:
        """Store a new record unless its call id or key is already taken (a watchdog that
        took the call first wrote its own); never overwrites. True if this one was stored.
        A record whose id tells its key is one write: its key is taken once."""
        try:
            if not _self_found(record):
                await create_first(self.index, record.callId, record.key.encode())
            await create_first(self.kv, record.key, record.dumps())
        except KeyWrongLastSequenceError:
            return False
        return True

    async def put_volatile(self, record: CallRecord) -> None:
        """Store a sync call's record on the volatile shelf; nothing waits for the server."""
        shelf = self.volatile
        if shelf is None:
            await self.put(record)
            return
        await self.nc.publish(f"$KV.{shelf.bucket}.{record.key}", record.dumps())
        if not _self_found(record):
            await self.nc.publish(f"$KV.{shelf.index_bucket}.{record.callId}", record.key.encode())

    async def get_key(self, key: str) -> CallRecord:
        for shelf in self.shelves:
            with contextlib.suppress(CallNotFound):
                return await _get(shelf, key)
        raise CallNotFound(key.rsplit(".", 1)[-1])

    async def get(self, call_id: str) -> CallRecord:
        for shelf in self.shelves:
            with contextlib.suppress(CallNotFound):
                return await _get(shelf, await self._find_on(shelf, call_id))
        raise CallNotFound(call_id)

    async def _find(self, call_id: str) -> str:
        return await self._find_on(self.shelves[0], call_id)

    async def _find_on(self, shelf: Shelf, call_id: str) -> str:
        """The key of the call's record on the shelf: from its id if that tells it, else
        from the index."""
        if (key := await self._stamped_key(shelf, call_id)) is not None:
            return key
        return await _find(shelf, call_id)

    async def _stamped_key(self, shelf: Shelf, call_id: str) -> str | None:
        if (micros := _stamp_of(call_id)) is None:
            return None
        return await last_key(self.nc, shelf.bucket, f"*.{micros:017d}.{call_id}")

    async def update(self, key: str, change: Callable[[CallRecord], CallRecord]) -> CallRecord:
        """Apply `change` to the stored record, retrying on a concurrent write."""
        return (await self.revise(key, change)).record

    async def read(self, key: str) -> Held:
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            entry = None
        if entry is None or entry.value is None or entry.revision is None:
            raise CallNotFound(key.rsplit(".", 1)[-1])
        return Held(CallRecord.loads(entry.value), entry.revision)

    async def revise(
        self, key: str, change: Callable[[CallRecord], CallRecord], held: Held | None = None
    ) -> Held:
        """Apply `change` to the record, starting from `held` (one write if nobody else
        wrote since), else from a fresh read; retried on a concurrent write."""
        while True:
            held = held or await self.read(key)
            record = change(held.record)
            try:
                revision = await self.kv.update(key, record.dumps(), last=held.revision)
                return Held(record, revision)
            except KeyWrongLastSequenceError:
                held = None

    async def recent(self, function: str | None, limit: int) -> list[CallRecord]:
        """Newest first, by the time in the keys, from every shelf."""
        keys = [(key, shelf) for shelf in self.shelves for key in await self._keys(shelf, function)]
        keys.sort(key=lambda k: k[0].split(".")[1], reverse=True)
        records = []
        for key, shelf in keys[:limit]:
            with contextlib.suppress(CallNotFound):  # expired meanwhile
                records.append(await _get(shelf, key))
        return records

    async def _keys(self, shelf: Shelf, function: str | None) -> list[str]:
        """Every key of a function (or all), asked of the server page by page."""
        prefix = f"$KV.{shelf.bucket}."  # the subjects of the bucket's stream
        keys: list[str] = []
        while True:
            query = {"subjects_filter": f"{prefix}{function or '*'}.*.*", "offset": len(keys)}
            reply = await self.nc.request(
                f"$JS.API.STREAM.INFO.KV_{shelf.bucket}", json.dumps(query).encode(), timeout=10
            )
            info = json.loads(reply.data)
            page = (info.get("state") or {}).get("subjects") or {}
            keys += [subject[len(prefix) :] for subject in page]
            if not page or len(keys) >= info.get("total", 0):
                return keys


def _self_found(record: CallRecord) -> bool:
    """Whether the record's id tells its key (but for the function): no index entry needed."""
    return _stamp_of(record.callId) == _micros(record.createdAt)


def _created_at(key: str) -> str:
    micros = int(key.split(".")[1])
    return rfc3339.stamp(micros / 1_000_000)


async def _get(shelf: Shelf, key: str) -> CallRecord:
    try:
        entry = await shelf.kv.get(key)
    except (KeyNotFoundError, InvalidKeyError):
        raise CallNotFound(key.rsplit(".", 1)[-1]) from None
    if entry.value is None:
        raise CallNotFound(key.rsplit(".", 1)[-1])
    return CallRecord.loads(entry.value)


async def _find(shelf: Shelf, call_id: str) -> str:
    try:
        entry = await shelf.index.get(call_id)
    except (KeyNotFoundError, InvalidKeyError):  # a key no call could have: none there
        raise CallNotFound(call_id) from None
    if not entry.value:
        raise CallNotFound(call_id)
    return entry.value.decode()
