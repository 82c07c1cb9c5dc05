"""The platform's JetStream streams, consumers and key-value buckets, made in one place.

Each part makes what is missing when it starts (idempotent). Given `replicas`, every stream
and bucket is kept on that many servers of a cluster, and ones kept on fewer grow to it;
without, new ones get one copy and existing ones keep theirs, so a part started without the
setting never shrinks what a cluster keeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    KeyValueConfig,
    ObjectStoreConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamInfo,
)
from nats.js.errors import APIError, NotFoundError
from nats.js.kv import KeyValue

from faas import bus, failover
from faas.errors import Error
from faas.settings import (
    DEFAULT_DEDUP_WINDOW,
    DEFAULT_LEASE,
    DEFAULT_RETENTION,
    GatewaySettings,
    WatchdogSettings,
)

T = TypeVar("T")
log = logging.getLogger(__name__)

# JetStream's answers when it cannot place that many copies: not clustered, no suitable
# peers, insufficient resources
_PLACEMENT_ERRORS = {10074, 10005, 10023}
LEADER_WAIT = 30.0
READY_WAIT = 60.0


@dataclass(frozen=True)
class Layout:
    max_msg_size: int
    dedup_window: float = DEFAULT_DEDUP_WINDOW
    retention: float = DEFAULT_RETENTION  # of call records
    lease: float = DEFAULT_LEASE
    replicas: int | None = None  # copies of each stream and bucket; None: as they are, or 1

    @classmethod
    def of(cls, s: GatewaySettings | WatchdogSettings, max_msg_size: int) -> Layout:
        """What a gateway's or watchdog's settings ask of the streams and buckets."""
        return cls(max_msg_size, s.dedup_window, s.retention, s.lease, s.nats_replicas)


async def ensure(js: JetStreamContext, layout: Layout) -> None:
    """Make or update every stream, shared consumer and bucket of the platform; while
    JetStream does not answer (a cluster just started elects its leaders), try again."""

    def noted(exc: Exception) -> None:
        log.warning("JetStream is not ready (%s): trying again", _reason(exc))

    try:
        await failover.outlast(lambda: _ensure(js, layout), READY_WAIT, 0.5, noted)
    except failover.TRANSIENT as exc:
        raise Error(f"JetStream did not answer within {READY_WAIT:g}s: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


async def restore(js: JetStreamContext, layout: Layout) -> None:
    """After a reconnection: make again what a server that restarted alone lost, its streams
    and buckets in memory (queued sync calls, sync calls' records), told by the sync queue's
    absence. A cluster keeps them on the servers left: nothing to do then."""
    try:  # patient: a server just started may not answer for JetStream yet
        await failover.outlast(lambda: js.stream_info(bus.SYNC_STREAM), READY_WAIT, 0.5)
        return
    except NotFoundError:
        log.warning("the in-memory streams and buckets are gone (NATS restarted): making them")
    await ensure(js, layout)
    log.info("streams and buckets made again")


async def restore_for(settings: GatewaySettings | WatchdogSettings, nc: Client) -> None:
    """`restore` for a part with these settings: its `bus.connect(reconnected=...)`."""
    await restore(nc.jetstream(), Layout.of(settings, nc.max_payload))


async def _ensure(js: JetStreamContext, layout: Layout) -> None:
    """Sync calls live in memory (a caller waits on each); async calls and callbacks on disk."""
    n, window = layout.replicas, layout.dedup_window
    queues = [
        (bus.SYNC_STREAM, "faas.sync.*", StorageType.MEMORY, 3600.0, 0.0),
        (bus.ASYNC_STREAM, "faas.async.>", StorageType.FILE, None, window),
        (bus.CALLBACK_STREAM, bus.CALLBACK_SUBJECT, StorageType.FILE, None, window),
    ]
    for name, subject, storage, max_age, dedup in queues:
        config = StreamConfig(
            name=name,
            subjects=[subject],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=storage,
            max_msg_size=layout.max_msg_size,
            max_age=max_age,
            duplicate_window=dedup,
        )
        await _stream(js, config, n)
    await _consumer(js, bus.SYNC_STREAM, bus.SYNC_CONSUMER, bus.SYNC_ACK_WAIT)
    await _consumer(js, bus.ASYNC_STREAM, bus.ASYNC_CONSUMER, layout.lease, "faas.async.run.*")
    await _consumer(js, bus.CALLBACK_STREAM, bus.CALLBACK_CONSUMER, bus.CALLBACK_ACK_WAIT)
    await _stream(js, logs_stream(layout.max_msg_size), n)
    for name in (
        bus.FUNCTIONS_BUCKET,
        bus.COUNTERS_BUCKET,
        bus.SECRETS_BUCKET,
        bus.IMAGE_TAGS_BUCKET,
    ):
        await bucket(js, name, replicas=n)
    await bucket(js, bus.SCHEDULES_BUCKET, replicas=n)
    await bucket(js, bus.IDEMPOTENCY_BUCKET, window, n)
    for name in (bus.CALLS_BUCKET, bus.CALL_INDEX_BUCKET):
        await bucket(js, name, layout.retention, n)
    for name in (bus.SYNC_CALLS_BUCKET, bus.SYNC_CALL_INDEX_BUCKET):
        await memory_bucket(js, name, layout.retention, bus.SYNC_RECORDS_BYTES, n)
    await object_store(js, bus.IMAGES_BUCKET, n)


def logs_stream(max_msg_size: int) -> StreamConfig:
    """Functions' stderr, a day of it at most 1 GiB: the oldest lines go first."""
    return StreamConfig(
        name=bus.LOGS_STREAM,
        subjects=[bus.logs_subject("*")],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=bus.LOGS_MAX_AGE,
        max_bytes=bus.LOGS_MAX_BYTES,
        discard=DiscardPolicy.OLD,
        max_msg_size=max_msg_size,
    )


async def _stream(js: JetStreamContext, config: StreamConfig, replicas: int | None) -> None:
    name = str(config.name)
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        config.num_replicas = replicas or 1
        await _placed(js.add_stream(config), f"stream {name}", config.num_replicas)
        return
    config.num_replicas = replicas or info.config.num_replicas or 1
    await _placed(js.update_stream(config), f"stream {name}", config.num_replicas)
    if config.num_replicas != info.config.num_replicas:
        await _led(js, name)


async def _led(js: JetStreamContext, stream: str) -> None:
    """Once a stream given more copies has a leader again: it answers nothing until then."""
    deadline = asyncio.get_running_loop().time() + LEADER_WAIT
    while asyncio.get_running_loop().time() < deadline:
        with contextlib.suppress(nats.errors.TimeoutError, NotFoundError):
            info = await js.stream_info(stream)
            if info.cluster is None or info.cluster.leader:
                return
        await asyncio.sleep(0.1)
    raise Error(f"stream {stream} has no leader {LEADER_WAIT:g}s after getting more copies")


async def _placed(making: Awaitable[T], what: str, replicas: int) -> T:
    """`making`, with JetStream's refusal to keep that many copies told as our error."""
    try:
        return await making
    except APIError as exc:
        if exc.err_code not in _PLACEMENT_ERRORS:
            raise
        raise Error(
            f"NATS cannot keep {what} on {replicas} server(s): {exc.description}; "
            "--nats-replicas (FAAS_NATS_REPLICAS) can be at most the cluster's JetStream servers"
        ) from None


async def _consumer(
    js: JetStreamContext,
    stream: str,
    durable: str,
    ack_wait: float,
    subject: str | None = None,
    width: int = -1,
) -> None:
    """A shared pull consumer, as many copies as its stream; `width` caps the messages out
    at once (-1: no cap)."""
    await js.add_consumer(
        stream,
        ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ack_wait,
            max_deliver=-1,
            max_waiting=4096,
            max_ack_pending=width,
            filter_subject=subject,
        ),
    )


async def cap_function(
    js: JetStreamContext, function: str, width: int | None, lease: float = DEFAULT_LEASE
) -> None:
    """Create, resize or drop the consumer that caps a function's concurrent async calls."""
    name = bus.capped_consumer(function)
    if width:
        with contextlib.suppress(NotFoundError):
            info = await js.consumer_info(bus.ASYNC_STREAM, name)
            if info.config.max_ack_pending == width:
                return
            await js.delete_consumer(bus.ASYNC_STREAM, name)
        subject = bus.async_subject(function, True)
        await _consumer(js, bus.ASYNC_STREAM, name, lease, subject, width)
    else:
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(bus.ASYNC_STREAM, name)


async def capped_functions(js: JetStreamContext) -> list[str]:
    """Names of the consumers of capped functions."""
    infos = await js.consumers_info(bus.ASYNC_STREAM)
    return sorted(i.name for i in infos if i.name.startswith(bus.CAPPED_PREFIX))


async def bucket(
    js: JetStreamContext, name: str, max_age: float | None = None, replicas: int | None = None
) -> KeyValue:
    """Open a key-value bucket (file storage, one revision), making it if missing."""
    config = KeyValueConfig(bucket=name, history=1, storage=StorageType.FILE, ttl=max_age)
    await _bucket(js, config, replicas)
    return await js.key_value(name)


async def memory_bucket(
    js: JetStreamContext, name: str, max_age: float, max_bytes: int, replicas: int | None = None
) -> KeyValue:
    """Open a key-value bucket kept in memory, making it if missing: no write waits for a
    disk, and once it holds `max_bytes` the oldest entries make room for new ones."""
    config = KeyValueConfig(
        bucket=name, history=1, storage=StorageType.MEMORY, ttl=max_age, max_bytes=max_bytes
    )
    info = await _bucket(js, config, replicas)
    if info.config.discard != DiscardPolicy.OLD:  # a bucket refuses new writes when full
        info.config.discard = DiscardPolicy.OLD
        await js.update_stream(info.config)
    return await js.key_value(name)


async def object_store(js: JetStreamContext, name: str, replicas: int | None = None) -> None:
    """Make an object store (file storage) if missing, else grow its copies to `replicas`."""
    stream, what = f"OBJ_{name}", f"object store {name}"
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        config = ObjectStoreConfig(storage=StorageType.FILE, replicas=replicas or 1)
        await _placed(js.create_object_store(name, config), what, config.replicas)
        return
    await _grow(js, info, replicas, what)


async def _bucket(js: JetStreamContext, config: KeyValueConfig, replicas: int | None) -> StreamInfo:
    """Make the bucket if missing, else grow its copies to `replicas`; its stream's info."""
    stream, what = f"KV_{config.bucket}", f"bucket {config.bucket}"
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        config.replicas = replicas or 1
        await _placed(js.create_key_value(config), what, config.replicas)
        return await js.stream_info(stream)
    await _grow(js, info, replicas, what)
    return info


async def _grow(js: JetStreamContext, info: StreamInfo, replicas: int | None, what: str) -> None:
    """Give an existing stream `replicas` copies, if it has another number."""
    if replicas and info.config.num_replicas != replicas:
        info.config.num_replicas = replicas
        await _placed(js.update_stream(info.config), what, replicas)
        await _led(js, str(info.config.name))
