"""Names on the NATS bus and the JetStream streams, consumers and buckets behind them."""

from __future__ import annotations

import logging
from typing import Any

import nats
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

log = logging.getLogger(__name__)

SYNC_STREAM = "FAAS_SYNC"
SYNC_CONSUMER = "watchdogs"
FUNCTIONS_BUCKET = "faas_functions"
COUNTERS_BUCKET = "faas_counters"
HEARTBEAT_SUBJECT = "faas.watchdog.heartbeat"
PING_SUBJECT = "faas.watchdog.ping"
ENVELOPE_ROOM = 64 * 1024  # room in a message for a call's envelope beside its body
SYNC_ACK_WAIT = 10.0  # a taken call is acked at once; this only covers a crash before that


def sync_subject(function: str) -> str:
    return f"faas.sync.{function}"


def reply_prefix(gateway_id: str) -> str:
    return f"_FAAS.reply.{gateway_id}"


async def connect(url: str, name: str, **options: Any) -> Client:
    """Connect, retrying the first connection for a few seconds."""
    return await nats.connect(
        url,
        name=name,
        connect_timeout=2,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        **options,
    )


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
