"""A call in a few fields: what a listing filters and shows, read cheaply from a stored record."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from faas import rfc3339
from faas.errors import Error
from faas.records import CallState

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The fields a summary needs come first in the JSON `CallRecord.dumps` writes, up to the
# output; then the watchdog, after output and stderr, and retryOf, just before the short
# attempt log at the end. JSON escapes every quote inside a string, so these markers cannot
# occur in a value: the first watchdog after the output and the last retryOf are the fields.
_OUTPUT = b', "output": '
_WATCHDOG = b', "watchdog": '
_RETRY_OF = b', "retryOf": '
_VALUE_ROOM = 512  # bytes after a marker that hold its value (a name or a call id)
_DECODER = json.JSONDecoder()


class BadRecord(Error, ValueError):
    """A stored record a summary cannot be read from."""


@dataclass(slots=True)
class CallSummary:
    """One call, as the call index keeps it; `order` sorts calls by creation, then call id."""

    order: str  # `<created, microseconds, 17 digits>.<call id>`: the key without its function
    function: str
    kind: str
    state: CallState
    exit_code: int | None = None
    status: int | None = None
    started: float | None = None  # POSIX seconds
    finished: float | None = None
    duration: float | None = None
    watchdog: str = ""
    retry_of: str | None = None
    shelf: int = field(default=0, compare=False)  # which of the record store's shelves
    revision: int = field(default=0, compare=False)  # of the record in its bucket

    @property
    def call_id(self) -> str:
        return self.order[18:]

    @property
    def created_micros(self) -> int:
        return int(self.order[:17])

    @property
    def created(self) -> float:
        """POSIX seconds."""
        return self.created_micros / 1_000_000

    @property
    def key(self) -> str:
        """The record's key in its bucket."""
        return f"{self.function}.{self.order}"

    def to_json(self) -> dict[str, Any]:
        """The summary under the names a CallRecord has in `/system/calls`."""
        return {
            "callId": self.call_id,
            "function": self.function,
            "kind": self.kind,
            "state": str(self.state),
            "exitCode": self.exit_code,
            "status": self.status,
            "createdAt": rfc3339.stamp(EPOCH + timedelta(microseconds=self.created_micros)),
            "startedAt": _stamp(self.started),
            "finishedAt": _stamp(self.finished),
            "durationSeconds": self.duration,
            "watchdog": self.watchdog,
            "retryOf": self.retry_of,
        }


def order_of(key: str) -> tuple[str, str]:
    """The function and the order of a record's key; BadRecord if it is none."""
    function, dot, order = key.partition(".")
    if not dot or len(order) < 19 or order[17] != "." or not order[:17].isdigit():
        raise BadRecord(f"not a record's key: {key!r}")
    return function, order


def summarize(key: str, raw: bytes, shelf: int = 0, revision: int = 0) -> CallSummary:
    """The summary of a stored record, decoding only the fields it needs when it can."""
    function, order = order_of(key)
    data = _fields(raw)
    try:
        return CallSummary(
            order=order,
            function=sys.intern(function),  # names many summaries share are held once
            kind=sys.intern(str(data.get("kind") or "async")),
            state=_STATES[data["state"]],
            exit_code=_number(data.get("exitCode"), int),
            status=_number(data.get("status"), int),
            started=_seconds(data.get("startedAt")),
            finished=_seconds(data.get("finishedAt")),
            duration=_number(data.get("durationSeconds"), float),
            watchdog=sys.intern(str(data.get("watchdog") or "")),
            retry_of=_optional_text(data.get("retryOf")),
            shelf=shelf,
            revision=revision,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRecord(f"record {key}: {exc!r}") from None


_STATES = {state.value: state for state in CallState}


def _fields(raw: bytes) -> dict[str, Any]:
    """The record's JSON, read up to its output and for two fields after it when laid out
    as `CallRecord.dumps` writes it; else read whole."""
    cut = raw.find(_OUTPUT)
    try:
        if cut > 0:
            data = _DECODER.raw_decode(raw[:cut].decode() + "}")[0]
            watchdog = _value_after(raw, raw.find(_WATCHDOG, cut), _WATCHDOG)
            retry_of = _value_after(raw, raw.rfind(_RETRY_OF, cut), _RETRY_OF)
            if isinstance(data, dict) and watchdog is not _MISSING and retry_of is not _MISSING:
                data["watchdog"], data["retryOf"] = watchdog, retry_of
                return data
        data = json.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError too
        raise BadRecord(f"not a record: {exc}") from None
    if not isinstance(data, dict):
        raise BadRecord("not a record: not a JSON object")
    return data


_MISSING = object()


def _value_after(raw: bytes, at: int, marker: bytes) -> Any:
    """The JSON value after the `marker` found at `at` (null or a string); _MISSING when
    there is none or it is not read so."""
    if at < 0:
        return _MISSING
    begin = at + len(marker)
    if raw.startswith(b"null", begin):
        return None
    end = raw.find(b'"', begin + 1)
    if raw[begin : begin + 1] != b'"' or end < 0 or raw.find(b"\\", begin, end) >= 0:
        text = raw[begin : begin + _VALUE_ROOM].decode("ascii", errors="replace")
        try:
            return _DECODER.raw_decode(text)[0]
        except ValueError:
            return _MISSING
    return raw[begin + 1 : end].decode()


def _number(value: Any, kind: type[int] | type[float]) -> Any:
    if value is None or type(value) is kind:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    return kind(value)


def _optional_text(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"not a string: {value!r}")
    return value or None


def _seconds(stamp: Any) -> float | None:
    return None if stamp is None else rfc3339.parse(stamp).timestamp()


def _stamp(seconds: float | None) -> str | None:
    return None if seconds is None else rfc3339.stamp(seconds)
