"""Names on the NATS bus, and connecting to it (faas.layout makes its streams and buckets)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client

from faas import failover
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
IMAGES_BUCKET = "faas_images"  # object store: image id -> its root filesystem (faas.images)
IMAGE_TAGS_BUCKET = "faas_image_tags"  # tag -> image id
UI_BUCKET = "faas_ui"  # the dashboard's session signing key
CANCEL_PREFIX = "faas.cancel"
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


def servers(url: str) -> list[str]:
    """The servers of a URL list, `nats://a:4222,nats://b:4222`: one of a cluster is enough
    to connect, and the client learns the rest from it."""
    found = [u.strip() for u in url.split(",") if u.strip()]
    if not found:
        raise Error("no NATS URL given")
    return found


async def connect(
    url: str,
    name: str,
    reconnected: Callable[[Client], Coroutine[Any, Any, None]] | None = None,
    **options: Any,
) -> Client:
    """Connect to any of the servers, then reconnect (to any) forever if one goes away;
    `reconnected` runs (as a task of its own) after each reconnection."""
    made: list[Client] = []
    after: set[asyncio.Task[None]] = set()

    async def disconnected() -> None:
        if made and (made[0].is_closed or made[0].is_draining):
            return  # our own close
        log.warning("NATS: disconnected, reconnecting")

    async def back() -> None:
        log.info("NATS: reconnected")
        if reconnected is not None and made:
            task = asyncio.create_task(_after_reconnecting(made[0], reconnected))
            after.add(task)
            task.add_done_callback(after.discard)

    connecting = nats.connect(
        servers(url),
        name=name,
        connect_timeout=2,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        error_cb=_log_error,
        disconnected_cb=disconnected,
        reconnected_cb=back,
        **options,
    )
    try:
        made.append(await asyncio.wait_for(connecting, FIRST_CONNECT_WAIT))
    except (nats.errors.NoServersError, OSError, TimeoutError) as exc:
        reason = str(exc) or f"no connection within {FIRST_CONNECT_WAIT:g}s"
        raise Error(f"cannot connect to NATS at {url}: {reason}") from exc
    await _jetstream_ready(made[0], url)
    return made[0]


async def _after_reconnecting(
    nc: Client, reconnected: Callable[[Client], Coroutine[Any, Any, None]]
) -> None:
    """Run `reconnected`; its failure is logged (unless the connection was closed meanwhile),
    and the next reconnection runs it again."""
    try:
        await reconnected(nc)
    except (Error, nats.errors.Error) as exc:
        if not (nc.is_closed or nc.is_draining):
            log.warning("NATS: after reconnecting: %s", exc or type(exc).__name__)
    except Exception:
        log.exception("NATS: after reconnecting")


async def _jetstream_ready(nc: Client, url: str) -> None:
    """Wait for JetStream to answer: a cluster just started elects its leader first."""
    try:
        await failover.outlast(nc.jetstream().account_info, FIRST_CONNECT_WAIT, 0.25)
    except failover.TRANSIENT:
        await nc.close()
        raise Error(f"JetStream at {url} is not available (is it on?)") from None


async def close(nc: Client) -> None:
    """Drain the connection (deliver what is pending), or just close it if NATS is gone."""
    try:
        await nc.drain()
    except (nats.errors.Error, TimeoutError) as exc:
        log.warning("NATS: closing without draining: %s", exc or type(exc).__name__)
        try:
            await nc.close()
        except RuntimeError as exc:  # uvloop: nats.py flushes what is pending to a dead socket
            log.warning("NATS: closed, what was pending is lost: %s", exc)


async def _log_error(exc: Exception) -> None:
    log.warning("NATS: %s", exc or type(exc).__name__)
