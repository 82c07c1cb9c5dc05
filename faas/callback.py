"""POST a call's result to its callback URL, with httpx."""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from faas.errors import SpecError

log = logging.getLogger(__name__)

SCHEMES = ("http", "https")
MAX_REDIRECTS = 5
TIMEOUT = 10.0  # seconds to connect, and between bytes of the answer
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Sent only to the host they were meant for, as Go's http.Client does on redirects.
_CREDENTIALS = ("Authorization", "Cookie", "Proxy-authorization")
_ANSWER = "faas.answer"


@dataclass(frozen=True)
class Delivery:
    """How one attempt to deliver a callback ended."""

    ok: bool  # True for a 2xx answer
    status: int | None  # HTTP status, None on a connection error
    error: str  # "" when ok; else a short reason
    retry: bool  # worth retrying: connection errors, timeouts, 408, 429 and 5xx


def check_url(url: str) -> str:
    """Return `url` if it is an http(s) URL with a host, else raise SpecError."""
    if not _valid(url):
        raise SpecError(f"X-Callback-Url must be an http(s) URL: {url!r}")
    return url


def _valid(url: str) -> bool:
    if any(c.isspace() or not c.isprintable() for c in url):
        return False
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a port that is not a number from 0 to 65535
    except ValueError:
        return False
    return parts.scheme in SCHEMES and bool(parts.hostname)


async def post(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
) -> Delivery:
    """POST `body` to `url`; never raises for a network problem, but says what it was.

    307 and 308 are followed with the same POST, to http(s) only, credentials kept for their
    own host; other redirects would turn the POST into a GET, and are refused.
    """
    try:
        check_url(url)
        sent = dict(headers)
        if "content-type" not in {name.lower() for name in sent}:
            sent["Content-Type"] = DEFAULT_CONTENT_TYPE
        delivery = await _follow(client, url, body, sent)
    except httpx.TimeoutException:
        delivery = _failed("timed out")
    except (httpx.LocalProtocolError, httpx.InvalidURL, ValueError) as exc:
        # a bad URL or header (SpecError too): sending again will not help
        delivery = Delivery(ok=False, status=None, error=f"cannot send: {exc}", retry=False)
    except httpx.TransportError as exc:
        delivery = _failed(_reason(exc))
    log.debug("callback %s: %s", url, delivery)
    return delivery


def client(timeout: float = TIMEOUT) -> httpx.AsyncClient:
    """A client for `post`: it keeps each answer on its request, since httpx raises, without
    the answer, for a redirect whose Location is no URL it can parse."""
    return httpx.AsyncClient(timeout=timeout, event_hooks={"response": [_keep_answer]})


async def _keep_answer(answer: httpx.Response) -> None:
    answer.request.extensions[_ANSWER] = answer


async def _send(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    request = client.build_request("POST", url, content=body, headers=headers)
    try:
        return await client.send(request)
    except httpx.InvalidURL:
        answer = request.extensions.get(_ANSWER)
        if isinstance(answer, httpx.Response):
            return answer  # a redirect to no URL httpx can parse: not followed below
        raise


async def _follow(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> Delivery:
    for _ in range(MAX_REDIRECTS + 1):
        answer = await _send(client, url, body, headers)
        if not 300 <= answer.status_code < 400:
            return _answered(answer.status_code)
        location = answer.headers.get("location")
        target = urljoin(url, location) if location else ""
        if answer.status_code not in (307, 308) or not _valid(target):
            return _answered(answer.status_code, f"redirect to {location!r} not followed")
        if urlsplit(target).netloc != urlsplit(url).netloc:
            headers = {k: v for k, v in headers.items() if k.capitalize() not in _CREDENTIALS}
        url = target
    return _answered(answer.status_code, "too many redirects")


def _answered(status: int, redirect_note: str = "") -> Delivery:
    """The delivery for an HTTP answer."""
    if 200 <= status < 300:
        return Delivery(ok=True, status=status, error="", retry=False)
    error = f"HTTP {status}: {redirect_note}" if 300 <= status < 400 else f"HTTP {status}"
    retry = status in (408, 429) or 500 <= status < 600
    return Delivery(ok=False, status=status, error=error, retry=retry)


def _failed(reason: str) -> Delivery:
    """The delivery for a request that got no HTTP answer: worth another try."""
    return Delivery(ok=False, status=None, error=reason, retry=True)


def _reason(exc: httpx.TransportError) -> str:
    """What went wrong, from the OS error under httpx's, where there is one."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve host: {cause.strerror}"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.RemoteProtocolError):
        if "without sending" in str(exc):  # h11: the server closed before any answer
            return "connection closed without an answer"
        return f"bad HTTP answer: {type(exc).__name__}"
    return str(exc) or type(exc).__name__
