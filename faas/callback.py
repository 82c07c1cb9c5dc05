"""POST a call's result to its callback URL, with aiohttp: a quarter to a tenth of httpx's CPU
per POST here (callbacks were the largest cost of an async call on its watchdog)."""

from __future__ import annotations

import io
import logging
import socket
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp

from faas.errors import SpecError

log = logging.getLogger(__name__)

SCHEMES = ("http", "https")
MAX_REDIRECTS = 5
TIMEOUT = 10.0  # seconds to connect, and between bytes of the answer
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Sent only to the host they were meant for, as Go's http.Client does on redirects.
_CREDENTIALS = ("Authorization", "Cookie", "Proxy-authorization")
LARGE_BODY = 256 * 1024  # bytes of a body sent in pieces, between which the loop serves others
MAX_ANSWER = 64 * 1024  # read of an answer's body, so its connection is kept; past it, closed


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
    client: Client,
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
    except TimeoutError:
        delivery = _failed("timed out")
    except (aiohttp.InvalidURL, ValueError) as exc:
        # a bad URL or header (SpecError too): sending again will not help
        delivery = Delivery(ok=False, status=None, error=f"cannot send: {exc}", retry=False)
    except (aiohttp.ClientError, OSError) as exc:
        delivery = _failed(_reason(exc))
    log.debug("callback %s: %s", url, delivery)
    return delivery


class Client:
    """A client for `post`, made in the event loop it is used in: `timeout` to connect, and
    between bytes of the answer. Proxies come from the environment (`http_proxy`,
    `https_proxy`, `all_proxy`, `no_proxy`), as curl and Go read them, once, not per POST."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
            auto_decompress=False,
            skip_auto_headers=("Accept-Encoding",),  # the answer's body is not kept
        )
        self.proxies = urllib.request.getproxies_environment()

    def proxy_for(self, url: str) -> str | None:
        parts = urlsplit(url)
        proxy = self.proxies.get(parts.scheme) or self.proxies.get("all")
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # untyped
        return None if not proxy or bypass(parts.netloc, self.proxies) else proxy

    async def close(self) -> None:
        await self.session.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def _send(
    client: Client, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, str | None]:
    """One POST: the answer's status and Location."""
    data = io.BytesIO(body) if len(body) > LARGE_BODY else body
    proxy = client.proxy_for(url)
    posting = client.session.post(
        url, data=data, headers=headers, allow_redirects=False, proxy=proxy
    )
    async with posting as answer:
        read = 0
        while read <= MAX_ANSWER and (chunk := await answer.content.readany()):
            read += len(chunk)
        return answer.status, answer.headers.get("Location")


async def _follow(client: Client, url: str, body: bytes, headers: dict[str, str]) -> Delivery:
    for _ in range(MAX_REDIRECTS + 1):
        status, location = await _send(client, url, body, headers)
        if not 300 <= status < 400:
            return _answered(status)
        target = urljoin(url, location) if location else ""
        if status not in (307, 308) or not _valid(target):
            return _answered(status, f"redirect to {location!r} not followed")
        if urlsplit(target).netloc != urlsplit(url).netloc:
            headers = {k: v for k, v in headers.items() if k.capitalize() not in _CREDENTIALS}
        url = target
    return _answered(status, "too many redirects")


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


def _reason(exc: BaseException) -> str:
    """What went wrong, from the OS error under aiohttp's, where there is one."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve host: {cause.strerror}"
        os_error = getattr(cause, "os_error", None)  # aiohttp's connector errors hold it
        cause = os_error if isinstance(os_error, OSError) else cause.__cause__ or cause.__context__
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection closed without an answer"
    if isinstance(exc, aiohttp.ClientResponseError | aiohttp.ClientPayloadError):
        return f"bad HTTP answer: {type(exc).__name__}"
    return str(exc) or type(exc).__name__
