"""Functions' stderr from the FAAS_LOGS stream, as OpenFaaS's NDJSON LogEntry: what
`/system/logs` and the dashboard's log tails send."""

from __future__ import annotations

import collections
import json
import logging
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from starlette.requests import Request

from faas import bus, rfc3339
from faas.errors import WireError
from faas.jobspec import JOB_FUNCTION
from faas.records import CallNotFound, RecordStore
from faas.spec import NAMESPACE, check_name, split_namespace
from faas.wire import LogBatch, unpack
from gateway.errors import BadRequest
from gateway.state import Gateway

log = logging.getLogger(__name__)

NDJSON = "application/x-ndjson"
POLL = 1.0  # seconds between looks for a client gone while following
STORED_WAIT = 5.0  # a stored message announced and not delivered within this ends the answer
CHUNK = 1000  # stored lines sent in one piece
CLOCK_MARGIN = timedelta(minutes=5)  # how far the gateways' and NATS's clocks may differ


@dataclass(frozen=True)
class LogQuery:
    name: str
    tail: int = 0  # the last N lines only; 0 or less: all
    since: datetime | None = None
    follow: bool = False
    instance: str = ""  # one call's lines only (its call id); "": every call's

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> LogQuery:
        """Read the query string; raise BadRequest (400) on what it cannot use."""
        name = params.get("name")
        if not name:
            raise BadRequest("missing 'name': the function whose logs to show")
        namespace = params.get("namespace") or NAMESPACE
        if namespace != NAMESPACE:
            raise BadRequest(f"unknown namespace {namespace!r}: the only namespace is {NAMESPACE}")
        return cls(
            _name(split_namespace(name)),
            _tail(params.get("tail", "")),
            _since(params.get("since", "")),
            _follow(params.get("follow", "")),
            params.get("instance", ""),
        )

    def wants(self, batch: LogBatch) -> bool:
        """Whether the batch is the instance's and from `since` on (the server may start early)."""
        if self.instance and batch.call_id != self.instance:
            return False
        if self.since is None:
            return True
        # compare the time as it is shown (rounded to a microsecond): a line's own time counts
        return datetime.fromtimestamp(batch.finished, UTC) >= self.since


def _name(name: str) -> str:
    """A function's name, or `_job`: jobs run under that name and are not in the registry."""
    return name if name == JOB_FUNCTION else check_name(name)


def _tail(raw: str) -> int:
    try:
        return int(raw) if raw else 0
    except ValueError:
        raise BadRequest(f"tail must be a whole number, not {raw!r}") from None


def _since(raw: str) -> datetime | None:
    if not raw:
        return None
    try:
        return rfc3339.parse(raw)
    except ValueError:
        raise BadRequest(f"since must be an RFC 3339 time, not {raw!r}") from None


def _follow(raw: str) -> bool:
    if raw.lower() not in ("", "0", "false", "1", "true"):
        raise BadRequest(f"follow must be true or false, not {raw!r}")
    return raw.lower() in ("1", "true")


def entries(batch: LogBatch) -> Iterator[bytes]:
    """One NDJSON LogEntry per line of the batch."""
    common = {
        "name": batch.function,
        "namespace": NAMESPACE,
        "instance": batch.call_id,
        "timestamp": rfc3339.stamp(batch.finished),
    }
    # the fields a batch's lines share are written once: a job may send a million lines
    head = json.dumps(common)[:-1] + ', "text": '
    end = (f', "stream": {json.dumps(batch.stream)}' if batch.stream else "") + "}\n"
    for line in batch.lines:
        yield (head + json.dumps(line) + end).encode()


def last(lines: Iterable[bytes], tail: int) -> Iterable[bytes]:
    """The last `tail` lines; all of them when `tail` is 0 or less."""
    return collections.deque(lines, maxlen=tail) if tail > 0 else lines


async def log_stream(request: Request, gw: Gateway, query: LogQuery) -> AsyncIterator[bytes]:
    """The query's lines as NDJSON LogEntry chunks, until the client goes (when following)."""
    if query.name != JOB_FUNCTION:
        gw.registry.get(query.name)  # 404 when unknown
    start = await _start(gw.records, query)
    return _stream(request, gw.js, query, start)


async def _stream(
    request: Request, js: JetStreamContext, query: LogQuery, start: datetime | None
) -> AsyncIterator[bytes]:
    sub = await _subscribe(js, query.name, start)
    try:
        stored = [
            line async for batch in _stored(sub) if query.wants(batch) for line in entries(batch)
        ]
        for chunk in _chunks(list(last(stored, query.tail))):
            yield chunk
        while query.follow and not await request.is_disconnected():
            batch = await _next(sub)
            if batch and query.wants(batch):
                yield b"".join(entries(batch))
    finally:
        await sub.unsubscribe()


async def _start(records: RecordStore, query: LogQuery) -> datetime | None:
    """Where reading starts: at `since`; for one call, not before it was created, either.

    A call's lines are not before its creation: its record tells, and spares reading every
    other call's lines of the day (the margin covers clocks that differ).
    """
    if not query.instance:
        return query.since
    try:
        record = await records.get(query.instance)
    except CallNotFound:
        return query.since
    created = rfc3339.parse(record.createdAt) - CLOCK_MARGIN
    return max(created, query.since) if query.since else created


def _chunks(lines: list[bytes]) -> Iterator[bytes]:
    for first in range(0, len(lines), CHUNK):
        yield b"".join(lines[first : first + CHUNK])


async def _subscribe(
    js: JetStreamContext, name: str, start: datetime | None
) -> JetStreamContext.PushSubscription:
    """An ordered consumer of the function's lines, from `start` or from the first."""
    policy = DeliverPolicy.BY_START_TIME if start else DeliverPolicy.ALL
    return await js.subscribe(
        bus.logs_subject(name),
        stream=bus.LOGS_STREAM,
        ordered_consumer=True,
        deliver_policy=policy,
        config=ConsumerConfig(opt_start_time=start),
    )


async def _stored(sub: JetStreamContext.PushSubscription) -> AsyncIterator[LogBatch]:
    """The batches stored when the consumer was made, up to the last."""
    info = await sub.consumer_info()
    if not info.num_pending and not (info.delivered and info.delivered.consumer_seq):
        return
    while True:
        try:
            msg = await sub.next_msg(timeout=STORED_WAIT)
        except nats.errors.TimeoutError:
            return
        batch = _batch(msg)
        if batch:
            yield batch
        if not msg.metadata.num_pending:
            return


async def _next(sub: JetStreamContext.PushSubscription) -> LogBatch | None:
    """The next batch, or None after POLL seconds without one."""
    try:
        return _batch(await sub.next_msg(timeout=POLL))
    except nats.errors.TimeoutError:
        return None


def _batch(msg: Msg) -> LogBatch | None:
    try:
        return unpack(msg.data, LogBatch)
    except WireError as exc:
        log.warning("skipping a log message: %s", exc)
        return None
