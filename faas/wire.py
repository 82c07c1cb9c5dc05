"""Records the gateway and the watchdogs exchange over NATS, packed with msgpack.

Every record is a dataclass; `pack` writes it with its type tag and the wire version, and
`unpack` checks both and raises WireError on anything it cannot read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import msgpack

from faas.errors import WireError

VERSION = 1
TEMPFAIL = 75  # EX_TEMPFAIL: a function asks to be tried again later


class CallKind(StrEnum):
    """How a call came: answered while its caller waits, queued, or a one-shot job."""

    SYNC = "sync"
    ASYNC = "async"
    JOB = "job"  # an image run once, no function deployed (faas.jobspec)


class Outcome(StrEnum):
    """How a call ended; each maps to the status a synchronous caller gets."""

    OK = "ok"
    FAILED = "failed"  # the function exited non-zero
    TIMEOUT = "timeout"  # killed at its timeout
    TOO_LARGE = "too_large"  # its output went past the limit
    OUT_OF_MEMORY = "out_of_memory"  # killed by its memory limit
    ERROR = "error"  # the platform could not run it (image missing, Docker down)
    EXPIRED = "expired"  # no capacity freed before its deadline
    UNAVAILABLE = "unavailable"  # no watchdog was left to take it

    @property
    def http_status(self) -> int:
        return _STATUS[self]


_STATUS = {
    Outcome.OK: 200,
    Outcome.FAILED: 500,
    Outcome.TIMEOUT: 504,
    Outcome.TOO_LARGE: 502,
    Outcome.OUT_OF_MEMORY: 500,
    Outcome.ERROR: 502,
    Outcome.EXPIRED: 504,
    Outcome.UNAVAILABLE: 503,
}


@dataclass
class RunSpec:
    """What a watchdog needs to run a function's container, resolved by the gateway."""

    image: str
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    memory: int = 0
    cpus: float = 0.0
    pids: int = 0
    read_only: bool = False
    network: str = "bridge"
    timeout: float = 30.0
    content_type: str = "text/plain"
    max_output: int = 0
    secrets: list[str] = field(default_factory=list)  # names; the watchdog reads values
    revision: int = 0  # of the function's spec: a new one makes watchdogs look the image up again


@dataclass
class CallRequest:
    """One invocation, queued for any watchdog with free capacity."""

    call_id: str
    function: str
    run: RunSpec
    method: str = "POST"
    path: str = "/"
    query: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    reply_to: str = ""
    start_by: float = 0.0  # wall-clock seconds; not started by then, it is dropped
    take_by: float = 0.0  # an offer (sync): not taken by then, it is not; 0 from the queue
    kind: CallKind = CallKind.SYNC
    created_at: str = ""  # when the gateway accepted it; part of its record's key
    callback_url: str = ""
    max_attempts: int = 1
    retry_codes: list[int] = field(default_factory=list)
    retry_min_wait: float = 1.0
    retry_max_wait: float = 30.0


@dataclass
class CallStarted:
    """Sent to the caller when a watchdog takes the call."""

    call_id: str
    watchdog: str


@dataclass
class CallBusy:
    """A watchdog's answer to a sync call offered to it that it does not take (no free
    capacity, stopping, or the offer came too late); the gateway queues the call instead."""

    call_id: str
    watchdog: str


@dataclass
class CallResult:
    """The end of a call."""

    call_id: str
    outcome: Outcome
    exit_code: int | None = None
    body: bytes = b""
    stderr: bytes = b""
    content_type: str = ""
    duration: float = 0.0
    watchdog: str = ""
    message: str = ""
    start_seconds: float = 0.0  # container create to started; 0 when it never started
    # Its container, for the call's attempt log; wall-clock seconds, 0.0 for what did not
    # happen. A container made ahead of its call was created before the call was taken.
    image_id: str = ""  # the exact image it ran
    created_at: float = 0.0
    started_at: float = 0.0  # its process started
    exited_at: float = 0.0
    peak_memory: int | None = None  # bytes, as its cgroup counted; None: not read
    cpu_seconds: float | None = None

    def failure_text(self) -> bytes:
        """What a caller gets when the call did not succeed: the reason, then stderr."""
        text = self.message.encode() + b"\n"
        if self.stderr:
            text += b"stderr:\n" + self.stderr
        return text

    @property
    def status(self) -> int:
        """The HTTP status a caller gets; exit code 75 (EX_TEMPFAIL) means 'try later': 429."""
        if self.outcome is Outcome.FAILED and self.exit_code == TEMPFAIL:
            return 429
        return self.outcome.http_status


@dataclass
class CallbackJob:
    """A finished async call's result, queued for delivery to its callback URL."""

    call_id: str
    function: str
    url: str
    status: int
    record_key: str = ""
    body: bytes = b""
    content_type: str = ""
    duration: float = 0.0
    exit_code: int | None = None


class WatchdogState(StrEnum):
    READY = "ready"  # taking calls
    DRAINING = "draining"  # stopping: finishes its running calls, takes no new ones
    GONE = "gone"


@dataclass
class Heartbeat:
    """A watchdog's presence and load, published every second."""

    watchdog: str
    capacity: int
    in_use: int
    state: WatchdogState = WatchdogState.READY


@dataclass
class LogBatch:
    """Lines of a call's output: a function's stderr once its call ends, a job's as they come."""

    function: str
    call_id: str
    watchdog: str
    started: float  # wall-clock seconds
    finished: float
    lines: list[str] = field(default_factory=list)
    stream: str = ""  # "stdout" or "stderr"; "" from a watchdog that did not say


Record = CallRequest | CallStarted | CallBusy | CallResult | Heartbeat | CallbackJob | LogBatch
R = TypeVar("R", CallRequest, CallStarted, CallBusy, CallResult, Heartbeat, CallbackJob, LogBatch)
_TYPES: dict[str, type[Any]] = {
    t.__name__: t
    for t in (CallRequest, CallStarted, CallBusy, CallResult, Heartbeat, CallbackJob, LogBatch)
}


def pack(record: Record) -> bytes:
    fields = dict(vars(record))  # shallow: asdict's deep copy would cost more than the rest
    if isinstance(record, CallRequest):
        fields["run"] = vars(record.run)
    return msgpack.packb({"v": VERSION, "t": type(record).__name__, "f": fields})  # type: ignore[no-any-return]


def unpack_any(data: bytes) -> Record:
    """Decode any record; raise WireError on bad data or an unknown version."""
    try:
        envelope = msgpack.unpackb(data)
        kind, version, fields = envelope["t"], envelope["v"], envelope["f"]
    except Exception as exc:
        raise WireError(f"undecodable message: {exc}") from exc
    if version != VERSION:
        raise WireError(f"wire version {version!r}, expected {VERSION}")
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise WireError(f"unknown record type {kind!r}")
    try:
        return _build(cls, fields)  # type: ignore[no-any-return]
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise WireError(f"bad {kind}: {exc}") from exc


def unpack(data: bytes, cls: type[R]) -> R:
    record = unpack_any(data)
    if not isinstance(record, cls):
        raise WireError(f"expected {cls.__name__}, got {type(record).__name__}")
    return record


def _build(cls: type[Any], fields: dict[str, Any]) -> Any:
    fields = _known(cls, fields)
    if cls is CallRequest:
        fields["run"] = RunSpec(**_known(RunSpec, fields["run"]))
        fields["headers"] = [(str(k), str(v)) for k, v in fields.get("headers", [])]
        fields["kind"] = CallKind(fields.get("kind", CallKind.SYNC))
    if cls is CallResult:
        fields["outcome"] = Outcome(fields["outcome"])
    if cls is Heartbeat:
        fields["state"] = WatchdogState(fields.get("state", "ready"))
    if cls is LogBatch:
        fields["lines"] = [str(line) for line in fields.get("lines", [])]
        fields["stream"] = str(fields.get("stream", ""))
    return cls(**fields)


def _known(cls: type[Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The fields this version knows: a newer peer may send more (same wire version)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in fields.items() if k in names}
