"""`POST /system/calls/{call_id}/retry`: a new call with the request of one on record.

The body says what to send instead of the first call's body: `{"body": text}` (sent as
UTF-8) or `{"bodyBase64": ...}`; no body, or `{}`, sends the first call's.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.bodies import read_body
from gateway.errors import BadRequest, BodyTooLarge
from gateway.routes.common import services

FIELDS = ("body", "bodyBase64")
WRAPPING = 2  # base64 makes a body a third longer; JSON's escapes may make text longer still


async def retry_call(request: Request) -> Response:
    """202 with the retry's record once it is recorded and queued, as an async call is."""
    gw, call_id = services(request), request.path_params["call_id"]
    try:
        raw = await read_body(request, WRAPPING * gw.max_body + 1024)
    except BodyTooLarge:
        raise BodyTooLarge(gw.max_body) from None  # the limit of the body it wraps
    body = retry_body(_parse(raw)) if raw.strip() else None
    await gw.submissions.settled(call_id)
    record = await gw.submissions.retry(await gw.records.get(call_id), body)
    return JSONResponse(record.to_json(), status_code=202, headers={"X-Call-Id": record.callId})


def retry_body(data: Any) -> bytes | None:
    """The body a retry is to send; None for the first call's. BadRequest saying why not."""
    if not isinstance(data, Mapping):
        raise BadRequest('the body must be a JSON object: {"body": "..."} or {"bodyBase64": "..."}')
    unknown = sorted(str(k) for k in data if k not in FIELDS)
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}: the fields are body and bodyBase64")
    if "body" in data and "bodyBase64" in data:
        raise BadRequest("give body or bodyBase64, not both")
    if "body" in data:
        return _text(data["body"])
    if "bodyBase64" in data:
        return _base64(data["bodyBase64"])
    return None


def _text(value: Any) -> bytes:
    if not isinstance(value, str):
        raise BadRequest("'body' must be a string (sent as UTF-8)")
    try:
        return value.encode()
    except UnicodeEncodeError:  # a lone surrogate, which JSON can write
        raise BadRequest("'body' is not valid Unicode: send it as bodyBase64") from None


def _base64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise BadRequest("'bodyBase64' must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("'bodyBase64' is not valid base64") from None


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # also bad UTF-8, too many digits, too deep
        raise BadRequest(f"the body is not JSON: {exc}") from None
