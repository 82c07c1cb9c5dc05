"""Names on the NATS bus and the JetStream streams, consumers and buckets behind them."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
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
FUNCTIONS_BUCKET = "faas_functions"
COUNTERS_BUCKET = "faas_counters"
HEARTBEAT_SUBJECT = "faas.watchdog.heartbeat"
PING_SUBJECT = "faas.watchdog.ping"
ENVELOPE_ROOM = 64 * 1024  # room in a message for a call's envelope beside its body
FIRST_CONNECT_WAIT = 15.0  # then a process that cannot reach NATS gives up with a clear error
SYNC_ACK_WAIT = 10.0  # a taken call is acked at once; this only covers a crash before that


def sync_subject(function: str) -> str:
    return f"faas.sync.{function}"


def reply_prefix(gateway_id: str) -> str:
    return f"_FAAS.reply.{gateway_id}"


async def connect(url: str, name: str, **options: Any) -> Client:
    """Connect, then reconnect forever if the server goes away."""
    connecting = nats.connect(
        url,
        name=name,
        connect_timeout=2,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        error_cb=_log_error,
        disconnected_cb=_log_disconnected,
        reconnected_cb=_log_reconnected,
        **options,
    )
    try:
        return await asyncio.wait_for(connecting, FIRST_CONNECT_WAIT)
    except (nats.errors.NoServersError, OSError, TimeoutError) as exc:
        reason = str(exc) or f"no connection within {FIRST_CONNECT_WAIT:g}s"
        raise Error(f"cannot connect to NATS at {url}: {reason}") from exc


async def close(nc: Client) -> None:
    """Drain the connection (deliver what is pending), or just close it if NATS is gone."""
    try:
        await nc.drain()
    except (nats.errors.Error, TimeoutError) as exc:
        log.warning("NATS: closing without draining: %s", exc or type(exc).__name__)
        await nc.close()


async def _log_error(exc: Exception) -> None:
    log.warning("NATS: %s", exc or type(exc).__name__)


async def _log_disconnected() -> None:
    log.warning("NATS: disconnected, reconnecting")


async def _log_reconnected() -> None:
    log.info("NATS: reconnected")


async def ensure_streams(js: JetStreamContext, max_msg_size: int) -> None:
    """Create or update the sync call queue and its shared pull consumer (idempotent)."""
    config = StreamConfig(
        name=SYNC_STREAM,
        subjects=["faas.sync.*"],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.MEMORY,
        max_msg_size=max_msg_size,
        max_age=3600.0,
    )
    try:
        await js.stream_info(SYNC_STREAM)
        await js.update_stream(config)
    except NotFoundError:
        await js.add_stream(config)
    await js.add_consumer(
        SYNC_STREAM,
        ConsumerConfig(
            durable_name=SYNC_CONSUMER,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=SYNC_ACK_WAIT,
            max_waiting=4096,
        ),
    )


async def bucket(js: JetStreamContext, name: str) -> KeyValue:
    """Open a key-value bucket, creating it (file storage, one revision) if missing."""
    try:
        return await js.key_value(name)
    except NotFoundError:
        return await js.create_key_value(
            KeyValueConfig(bucket=name, history=1, storage=StorageType.FILE)
        )
