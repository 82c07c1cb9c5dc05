"""A call's stderr, published as log lines to the FAAS_LOGS stream once the call ends."""

from __future__ import annotations

import logging
import time

import nats.errors
from nats.aio.client import Client

from faas import bus
from faas.wire import CallRequest, CallResult, LogBatch, pack

log = logging.getLogger(__name__)


def batch(call: CallRequest, result: CallResult, watchdog: str) -> LogBatch | None:
    """The call's stderr as lines; None when it wrote nothing."""
    lines = result.stderr.decode(errors="replace").splitlines()
    if not lines:
        return None
    finished = time.time()
    started = finished - result.duration
    return LogBatch(call.function, call.call_id, watchdog, started, finished, lines, "stderr")


async def publish(nc: Client, call: CallRequest, result: CallResult, watchdog: str) -> None:
    """Core publish: the stream stores it, and the call does not wait for the ack."""
    found = batch(call, result, watchdog)
    if found is None:
        return
    try:
        await nc.publish(bus.logs_subject(call.function), pack(found))
    except nats.errors.Error as exc:
        log.warning("call %s (%s): logs not published: %s", call.call_id, call.function, exc)
