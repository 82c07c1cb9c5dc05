"""Writes that race another writer's to the same key or message id, as gateways do.

In a cluster the stream's leader refuses such a write while the other one is in flight,
before that one can be read: a moment later the outcome is the usual one (the key is
taken; the message is a duplicate, dropped).
"""

from __future__ import annotations

import asyncio

from nats.js import JetStreamContext
from nats.js.errors import APIError, KeyNotFoundError
from nats.js.kv import KeyValue

TRIES, WAIT = 50, 0.02  # a write in flight is stored well within a second
IN_FLIGHT = 10158  # JetStream's "duplicate message id is in process"


async def create_first(kv: KeyValue, key: str, value: bytes) -> int:
    """Write the key's first value; its revision, or KeyWrongLastSequenceError when the key
    has one. Refused while another value is in flight, nats-py raises KeyNotFoundError."""
    for _ in range(TRIES - 1):
        try:
            return await kv.create(key, value)
        except KeyNotFoundError:
            await asyncio.sleep(WAIT)
    return await kv.create(key, value)


async def publish_once(js: JetStreamContext, subject: str, data: bytes, msg_id: str) -> None:
    """Publish under a message id; JetStream drops a copy of one stored in its window."""
    headers = {"Nats-Msg-Id": msg_id}
    for _ in range(TRIES - 1):
        try:
            await js.publish(subject, data, headers=headers)
            return
        except APIError as exc:
            if exc.err_code != IN_FLIGHT:
                raise
            await asyncio.sleep(WAIT)
    await js.publish(subject, data, headers=headers)
