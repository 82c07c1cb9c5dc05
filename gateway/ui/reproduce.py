"""Commands that run a call again by hand: curl through the gateway, `docker run` of the
exact image the attempt ran, `faas run` of it on the cluster."""

from __future__ import annotations

import base64
import shlex

from faas.records import CallRecord, RequestRecord
from watchdog.environ import header_variable

SKIP_HEADERS = {"host", "content-length", "user-agent", "accept", "accept-encoding"}


def body_of(request: RequestRecord) -> bytes:
    return base64.b64decode(request.body) if request.body else b""


def curl(record: CallRecord, gateway: str) -> str | None:
    """The curl command that sends the call again; None when its request was not kept."""
    request = record.request
    if request is None:
        return None
    route = "async-function" if record.kind == "async" else "function"
    path = request.path if request.path != "/" else ""
    url = f"{gateway.rstrip('/')}/{route}/{record.function}{path}"
    if request.query:
        url += f"?{request.query}"
    words = ["curl", "-sS", "-X", request.method]
    for name, value in request.headers:
        if name.lower() not in SKIP_HEADERS:
            words += ["-H", f"{name}: {value}"]
    if record.kind == "async" and record.callbackUrl:
        words += ["-H", f"X-Callback-Url: {record.callbackUrl}"]
    body = _text(request)
    if body:
        words += ["--data-binary", body]
    words.append(url)
    return shlex.join(words)


def docker_run(record: CallRecord) -> str | None:
    """`docker run` of the image the last attempt ran, with the call's body and Http_* variables."""
    attempt = record.attemptLog[-1] if record.attemptLog else None
    if attempt is None or not (attempt.imageId or attempt.image):
        return None
    words = ["docker", "run", "-i", "--rm"]
    request = record.request
    if request is not None:
        for name, value in request.headers:
            if name.lower() not in SKIP_HEADERS:
                words += ["-e", f"{header_variable(name)}={value}"]
        words += ["-e", f"Http_Method={request.method}", "-e", f"Http_Path={request.path}"]
        if request.query:
            words += ["-e", f"Http_Query={request.query}"]
    words.append(attempt.imageId or attempt.image)
    command = shlex.join(words)
    body = _text(request) if request is not None else ""
    return f"printf %s {shlex.quote(body)} | {command}" if body else command


def faas_run(record: CallRecord) -> str | None:
    """`faas run` of the exact image: the function's container once more, as a one-shot job."""
    attempt = record.attemptLog[-1] if record.attemptLog else None
    if attempt is None or not (attempt.imageId or attempt.image):
        return None
    return shlex.join(["faas", "run", attempt.imageId or attempt.image])


def _text(request: RequestRecord | None) -> str:
    if request is None or not request.bodyKept:
        return ""
    return body_of(request).decode(errors="replace")
