"""Names on the NATS bus and the JetStream streams, consumers and buckets behind them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue

from faas.errors import Error

log = logging.getLogger(__name__)

SYNC_STREAM = "FAAS_SYNC"
SYNC_CONSUMER = "watchdogs"
OFFER_GROUP = "watchdogs"
ASYNC_STREAM = "FAAS_ASYNC"
ASYNC_CONSUMER = "watchdogs"  # every function without a concurrency cap
CAPPED_PREFIX = "cap-"  # then the function's name: one consumer per capped function
CALLBACK_STREAM = "FAAS_CALLBACKS"
CALLBACK_SUBJECT = "faas.callback"
CALLBACK_CONSUMER = "deliverers"
FUNCTIONS_BUCKET = "faas_functions"
COUNTERS_BUCKET = "faas_counters"
CALLS_BUCKET = "faas_calls"
CALL_INDEX_BUCKET = "faas_call_index"  # call id -> record key
SYNC_CALLS_BUCKET = "faas_sync_calls"  # sync calls' records: in memory, the oldest go first
SYNC_CALL_INDEX_BUCKET = "faas_sync_call_index"
SYNC_RECORDS_BYTES = 256 * 2**20  # each of the two, at most
IDEMPOTENCY_BUCKET = "faas_idempotency"
SECRETS_BUCKET = "faas_secrets"  # values encrypted by faas.secretstore
SCHEDULES_BUCKET = "faas_schedules"  # function -> its last tick and scheduled call
CANCEL_PREFIX = "faas.cancel"
ASYNC_LEASE = 30.0  # an async call taken and not renewed for this long goes to another watchdog
CALLBACK_ACK_WAIT = 60.0
HEARTBEAT_SUBJECT = "faas.watchdog.heartbeat"
PING_SUBJECT = "faas.watchdog.ping"
ENVELOPE_ROOM = 64 * 1024  # room in a message for a call's envelope beside its body
FIRST_CONNECT_WAIT = 15.0  # then a process that cannot reach NATS gives up with a clear error
SYNC_ACK_WAIT = 10.0  # a taken call is acked at once; this only covers a crash before that
LOGS_STREAM = "FAAS_LOGS"
LOGS_MAX_AGE = 24 * 3600.0
LOGS_MAX_BYTES = 2**30


def sync_subject(function: str) -> str:
    """The queue of sync calls no watchdog took when offered."""
    return f"faas.sync.{function}"


def offer_subject(function: str) -> str:
    """Sync calls offered straight to one watchdog (core NATS, a queue group)."""
    return f"faas.offer.{function}"


def async_subject(function: str, capped: bool = False) -> str:
    """Capped functions' calls go where only their own consumer, of limited width, reads."""
    return f"faas.async.{'cap' if capped else 'run'}.{function}"


def logs_subject(function: str) -> str:
    return f"faas.logs.{function}"


def capped_consumer(function: str) -> str:
    return f"{CAPPED_PREFIX}{function}"


def cancel_subject(call_id: str) -> str:
    return f"{CANCEL_PREFIX}.{call_id}"


def reply_prefix(gateway_id: str) -> str:
    return f"_FAAS.reply.{gateway_id}"


async def connect(url: str, name: str, **options: Any) -> Client:
    """Connect, then reconnect forever if the server goes away."""
    made: list[Client] = []

    async def disconnected() -> None:
        if made and (made[0].is_closed or made[0].is_draining):
            return  # our own close
        log.warning("NATS: disconnected, reconnecting")

    connecting = nats.connect(
        url,
        name=name,
        connect_timeout=2,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        error_cb=_log_error,
        disconnected_cb=disconnected,
        reconnected_cb=_log_reconnected,
        **options,
    )
    try:
        made.append(await asyncio.wait_for(connecting, FIRST_CONNECT_WAIT))
    except (nats.errors.NoServersError, OSError, TimeoutError) as exc:
        reason = str(exc) or f"no connection within {FIRST_CONNECT_WAIT:g}s"
        raise Error(f"cannot connect to NATS at {url}: {reason}") from exc
    return made[0]


async def close(nc: Client) -> None:
    """Drain the connection (deliver what is pending), or just close it if NATS is gone."""
    try:
        await nc.drain()
    except (nats.errors.Error, TimeoutError) as exc:
        log.warning("NATS: closing without draining: %s", exc or type(exc).__name__)
        await nc.close()


async def _log_error(exc: Exception) -> None:
    log.warning("NATS: %s", exc or type(exc).__name__)


async def _log_reconnected() -> None:
    log.info("NATS: reconnected")


async def ensure_streams(
    js: JetStreamContext, max_msg_size: int, dedup_window: float, lease: float = ASYNC_LEASE
) -> None:
    """Create or update the work queues and their shared pull consumers (idempotent).

    Sync calls live in memory (a caller waits on each); async calls and callbacks on disk.
    """
    queues = [
        (SYNC_STREAM, "faas.sync.*", StorageType.MEMORY, 3600.0, 0.0),
        (ASYNC_STREAM, "faas.async.>", StorageType.FILE, None, dedup_window),
        (CALLBACK_STREAM, CALLBACK_SUBJECT, StorageType.FILE, None, dedup_window),
    ]
    for name, subject, storage, max_age, window in queues:
        config = StreamConfig(
            name=name,
            subjects=[subject],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=storage,
            max_msg_size=max_msg_size,
            max_age=max_age,
            duplicate_window=window,
        )
        await _stream(js, config)
    await _consumer(js, SYNC_STREAM, SYNC_CONSUMER, SYNC_ACK_WAIT)
    await _consumer(js, ASYNC_STREAM, ASYNC_CONSUMER, lease, "faas.async.run.*")
    await _consumer(js, CALLBACK_STREAM, CALLBACK_CONSUMER, CALLBACK_ACK_WAIT)
    await _stream(js, logs_stream(max_msg_size))


def logs_stream(max_msg_size: int) -> StreamConfig:
    """Functions' stderr, a day of it at most 1 GiB: the oldest lines go first."""
    return StreamConfig(
        name=LOGS_STREAM,
        subjects=[logs_subject("*")],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=LOGS_MAX_AGE,
        max_bytes=LOGS_MAX_BYTES,
        discard=DiscardPolicy.OLD,
        max_msg_size=max_msg_size,
    )


async def _stream(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.stream_info(str(config.name))
        await js.update_stream(config)
    except NotFoundError:
        await js.add_stream(config)


async def _consumer(
    js: JetStreamContext,
    stream: str,
    durable: str,
    ack_wait: float,
    subject: str | None = None,
    width: int = -1,
) -> None:
    """A shared pull consumer; `width` caps the messages out at once (-1: no cap)."""
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
    js: JetStreamContext, function: str, width: int | None, lease: float = ASYNC_LEASE
) -> None:
    """Create, resize or drop the consumer that caps a function's concurrent async calls."""
    name = capped_consumer(function)
    if width:
        with contextlib.suppress(NotFoundError):
            info = await js.consumer_info(ASYNC_STREAM, name)
            if info.config.max_ack_pending == width:
                return
            await js.delete_consumer(ASYNC_STREAM, name)
        await _consumer(js, ASYNC_STREAM, name, lease, async_subject(function, True), width)
    else:
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(ASYNC_STREAM, name)


async def capped_functions(js: JetStreamContext) -> list[str]:
    """Names of the consumers of capped functions."""
    infos = await js.consumers_info(ASYNC_STREAM)
    return sorted(i.name for i in infos if i.name.startswith(CAPPED_PREFIX))


async def bucket(js: JetStreamContext, name: str, max_age: float | None = None) -> KeyValue:
    """Open a key-value bucket, creating it (file storage, one revision) if missing."""
    try:
        return await js.key_value(name)
    except NotFoundError:
        return await js.create_key_value(
            KeyValueConfig(bucket=name, history=1, storage=StorageType.FILE, ttl=max_age)
        )


async def memory_bucket(
    js: JetStreamContext, name: str, max_age: float, max_bytes: int
) -> KeyValue:
    """Open a key-value bucket kept in memory, creating it if missing: no write waits for a
    disk, and once it holds `max_bytes` the oldest entries make room for new ones."""
    try:
        return await js.key_value(name)
    except NotFoundError:
        pass
    config = KeyValueConfig(
        bucket=name, history=1, storage=StorageType.MEMORY, ttl=max_age, max_bytes=max_bytes
    )
    kv = await js.create_key_value(config)
    info = await js.stream_info(f"KV_{name}")
    info.config.discard = DiscardPolicy.OLD  # a key-value bucket refuses new writes when full
    await js.update_stream(info.config)
    return kv
