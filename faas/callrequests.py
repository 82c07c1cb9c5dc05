"""A call's request as its record keeps it: enough to retry it and to reproduce it, without
the caller's credentials or the headers that steer the gateway rather than the function."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

from faas.records import MAX_TEXT, RequestRecord
from faas.wire import CallKind, CallRequest

CREDENTIALS = frozenset({"authorization", "proxy-authorization", "cookie"})
# Each names one call: sent again with a copy of its request, it would find the first call.
CONTROLS = frozenset({"x-call-id", "x-idempotency-key"})
LEFT_OUT = CREDENTIALS | CONTROLS


def request_record(call: CallRequest) -> RequestRecord:
    """The call's method, path, query and headers (less LEFT_OUT), and its body if it fits
    in MAX_TEXT bytes; X-Callback-Url stays, so that a copy is called back too."""
    kept = len(call.body) <= MAX_TEXT
    return RequestRecord(
        method=call.method,
        path=call.path,
        query=call.query,
        headers=kept_headers(call.headers),
        body=base64.b64encode(call.body).decode() if kept else "",
        bodyBytes=len(call.body),
        bodyKept=kept,
    )


def recorded_request(call: CallRequest) -> RequestRecord | None:
    """What a new record keeps of the call's request; None for a job, which has none."""
    return None if call.kind == CallKind.JOB else request_record(call)


def kept_headers(headers: Iterable[tuple[str, str]]) -> list[list[str]]:
    return [[name, value] for name, value in headers if name.lower() not in LEFT_OUT]


def request_body(request: RequestRecord) -> bytes | None:
    """The body on record; None when it was not kept, or is not base64 (written by hand)."""
    if not request.bodyKept:
        return None
    try:
        return base64.b64decode(request.body, validate=True)
    except (binascii.Error, ValueError):
        return None
