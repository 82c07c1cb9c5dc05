"""POST a call's result to its callback URL. Blocking: call from a thread."""

from __future__ import annotations

import http.client
import logging
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import IO
from urllib.parse import urlsplit

from faas.errors import SpecError

log = logging.getLogger(__name__)

SCHEMES = ("http", "https")
MAX_REDIRECTS = 5
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Sent only to the host they were meant for, as Go's http.Client does on redirects.
_CREDENTIALS = ("Authorization", "Cookie", "Proxy-authorization")


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


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float = 10.0) -> Delivery:
    """POST `body` to `url`; never raises for a network problem, but says what it was."""
    try:
        check_url(url)
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
        if not request.has_header("Content-type"):
            # urllib would otherwise claim application/x-www-form-urlencoded
            request.add_header("Content-Type", DEFAULT_CONTENT_TYPE)
        with _opener().open(request, timeout=timeout) as response:
            delivery = _answered(response.status)
    except urllib.error.HTTPError as exc:
        delivery = _answered(exc.code, _redirect_note(exc))
        _close(exc)
    except urllib.error.URLError as exc:
        delivery = _failed(exc.reason)
    except (OSError, http.client.HTTPException) as exc:
        delivery = _failed(exc)
    except ValueError as exc:  # a bad URL or header (SpecError too): sending again will not help
        delivery = Delivery(ok=False, status=None, error=f"cannot send: {exc}", retry=False)
    log.debug("callback %s: %s", url, delivery)
    return delivery


def _opener() -> urllib.request.OpenerDirector:
    """An opener for http(s) only, unlike urlopen's, which also speaks ftp, file and data."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        _Redirects(),
    ):
        opener.add_handler(handler)
    return opener


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow 307 and 308 to http(s), posting the same body; refuse every other redirect."""

    max_redirections = MAX_REDIRECTS

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        # 301, 302 and 303 turn a POST into a GET: the result would be lost, yet reported sent
        if code not in (307, 308) or not _valid(newurl):
            return None
        kept = dict(req.headers)  # not Host and Content-length, which urllib sets for `new`
        if urlsplit(newurl).netloc != urlsplit(req.full_url).netloc:
            kept = {k: v for k, v in kept.items() if k.capitalize() not in _CREDENTIALS}
        return urllib.request.Request(newurl, data=req.data, headers=kept, method="POST")


def _close(exc: urllib.error.HTTPError) -> None:
    """Close the answer an HTTPError holds, so its socket is not left to the collector."""
    if exc.fp is not None:
        exc.close()


def _redirect_note(exc: urllib.error.HTTPError) -> str:
    """Why a redirect answer ended the delivery."""
    if exc.msg.startswith(_Redirects.inf_msg):
        return "too many redirects"
    return f"redirect to {exc.headers.get('Location')!r} not followed"


def _answered(status: int, redirect_note: str = "") -> Delivery:
    """The delivery for an HTTP answer."""
    if 200 <= status < 300:
        return Delivery(ok=True, status=status, error="", retry=False)
    error = f"HTTP {status}: {redirect_note}" if 300 <= status < 400 else f"HTTP {status}"
    retry = status in (408, 429) or 500 <= status < 600
    return Delivery(ok=False, status=status, error=error, retry=retry)


def _failed(reason: BaseException | str) -> Delivery:
    """The delivery for a request that got no HTTP answer."""
    if isinstance(reason, str):  # urllib's own refusals, such as an unknown URL type
        return Delivery(ok=False, status=None, error=reason, retry=False)
    return Delivery(ok=False, status=None, error=_reason(reason), retry=True)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "connection closed without an answer"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host: {exc.strerror}"
    if isinstance(exc, http.client.HTTPException):
        return f"bad HTTP answer: {type(exc).__name__}"
    return str(exc) or type(exc).__name__
