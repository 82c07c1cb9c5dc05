"""Unit tests of faas.callback against a real HTTP server on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from faas import callback
from faas.callback import Delivery, check_url
from faas.errors import SpecError

HEADERS = {"Content-Type": "application/json", "X-Call-Id": "c-1", "X-Function-Status": "200"}


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0) -> Delivery:
    """One `callback.post` with a client of its own, as a test runs it."""

    async def send() -> Delivery:
        async with callback.Client(timeout) as client:
            return await callback.post(client, url, body, headers)

    return asyncio.run(send())


@dataclass
class Received:
    """One request the server got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    """The test server: where it listens and what it received."""

    url: str
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def only(self) -> Received:
        """The one request received."""
        assert len(self.received) == 1, self.received
        return self.received[0]


class Handler(BaseHTTPRequestHandler):
    """Answers `/<status>`, `/slow`, `/drop`, `/garbage`, `/large`, `/loop`,
    `/redirect/<status>?to=<url>`."""

    server: Any

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        state: Server = self.server.state
        state.received.append(Received("POST", self.path, dict(self.headers.items()), body))
        self.answer(state)

    def answer(self, state: Server) -> None:
        target = urlsplit(self.path)  # a proxy is sent the whole URL
        path, query = target.path, target.query
        if path == "/slow":
            state.release.wait(10)  # past the client's timeout; freed when the test ends
            self.close_connection = True
        elif path == "/drop":
            self.close_connection = True
        elif path == "/garbage":
            self.wfile.write(b"NOT HTTP AT ALL\r\n\r\n")
            self.close_connection = True
        elif path == "/large":  # more than a client reads of an answer
            self.send_response(200)
            self.send_header("Content-Length", str(8 * callback.MAX_ANSWER))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client stops reading
                self.wfile.write(b"x" * 8 * callback.MAX_ANSWER)
        elif path == "/loop":
            self.redirect(307, "/loop")
        elif path.startswith("/redirect/"):
            self.redirect(int(path.rsplit("/", 1)[1]), query.removeprefix("to="))
        else:
            self.reply(int(path.strip("/") or 200))

    def redirect(self, status: int, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def reply(self, status: int) -> None:
        body = b"" if status == 204 else b"answer"
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reach the test server directly even where the environment names a proxy."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def server() -> Iterator[Server]:
    """A ThreadingHTTPServer on 127.0.0.1 and a free port, shut down after the test."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Server(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: bound, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# answers


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_is_delivered(server: Server, status: int) -> None:
    delivery = post(f"{server.url}/{status}", b"out", HEADERS)
    assert delivery == Delivery(ok=True, status=status, error="", retry=False)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_4xx_are_not_retried(server: Server, status: int) -> None:
    delivery = post(f"{server.url}/{status}", b"out", HEADERS)
    assert delivery == Delivery(ok=False, status=status, error=f"HTTP {status}", retry=False)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_408_429_and_5xx_are_retried(server: Server, status: int) -> None:
    delivery = post(f"{server.url}/{status}", b"out", HEADERS)
    assert delivery == Delivery(ok=False, status=status, error=f"HTTP {status}", retry=True)


# what arrives


def test_body_and_headers_arrive_intact(server: Server) -> None:
    body = bytes(range(256)) * 4096 + b"\r\n\x00end"
    headers = {**HEADERS, "X-Duration-Seconds": "0.25", "Authorization": "Bearer t0ken"}
    assert post(f"{server.url}/200?call=c-1&x=%20", body, headers).ok
    got = server.only()
    assert (got.method, got.path, got.body) == ("POST", "/200?call=c-1&x=%20", body)
    assert got.headers["Content-Length"] == str(len(body))
    for name, value in headers.items():
        assert got.headers[name] == value


def test_an_empty_body_is_posted(server: Server) -> None:
    assert post(f"{server.url}/204", b"", {}).ok
    got = server.only()
    assert (got.method, got.body, got.headers["Content-Length"]) == ("POST", b"", "0")


def test_content_type_defaults_to_octet_stream(server: Server) -> None:
    post(f"{server.url}/200", b"out", {"X-Call-Id": "c-1"})
    assert server.only().headers["Content-Type"] == "application/octet-stream"


def test_header_names_are_matched_without_case(server: Server) -> None:
    post(f"{server.url}/200", b"{}", {"content-type": "application/json"})
    got = server.only()
    assert [v for k, v in got.headers.items() if k.lower() == "content-type"] == [
        "application/json"
    ]


# no answer


def test_connection_refused(closed_port: int) -> None:
    delivery = post(f"http://127.0.0.1:{closed_port}/", b"out", HEADERS)
    assert delivery == Delivery(ok=False, status=None, error="connection refused", retry=True)


def test_a_host_that_does_not_resolve() -> None:
    delivery = post("http://no-such-host.invalid/hook", b"out", HEADERS)
    assert (delivery.ok, delivery.status, delivery.retry) == (False, None, True)
    assert delivery.error.startswith("cannot resolve host: ")


def test_a_large_answer_is_not_read_whole(server: Server) -> None:
    delivery = post(f"{server.url}/large", b"out", HEADERS)
    assert delivery == Delivery(ok=True, status=200, error="", retry=False)


def test_a_proxy_from_the_environment_is_used_unless_no_proxy_says_otherwise(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", server.url)  # the test server stands in for a proxy
    monkeypatch.setenv("no_proxy", "direct.test")
    assert post("http://far.test/201", b"out", HEADERS).status == 201
    assert server.only().path == "http://far.test/201"  # the whole URL: sent to a proxy
    direct = post("http://direct.test/201", b"out", HEADERS)
    assert direct.status is None and direct.error.startswith("cannot resolve host: ")
    assert len(server.received) == 1


def test_timeout(server: Server) -> None:
    # the server answers after 10 s: "timed out" shows the client gave up at its timeout
    delivery = post(f"{server.url}/slow", b"out", HEADERS, timeout=0.2)
    assert delivery == Delivery(ok=False, status=None, error="timed out", retry=True)


def test_connection_closed_without_an_answer(server: Server) -> None:
    delivery = post(f"{server.url}/drop", b"out", HEADERS)
    assert (delivery.ok, delivery.status, delivery.retry) == (False, None, True)
    assert delivery.error == "connection closed without an answer"


def test_an_answer_that_is_not_http(server: Server) -> None:
    delivery = post(f"{server.url}/garbage", b"out", HEADERS)
    assert (delivery.ok, delivery.status, delivery.retry) == (False, None, True)
    assert delivery.error.startswith("bad HTTP answer")


# redirects


@pytest.mark.parametrize("status", [307, 308])
def test_307_and_308_are_followed_with_the_same_post(server: Server, status: int) -> None:
    url = f"{server.url}/redirect/{status}?to=/201"
    delivery = post(url, b"result", {**HEADERS, "Authorization": "Bearer t"})
    assert delivery == Delivery(ok=True, status=201, error="", retry=False)
    first, second = server.received
    assert first.path == f"/redirect/{status}?to=/201"
    assert (second.method, second.path, second.body) == ("POST", "/201", b"result")
    assert second.headers["Authorization"] == "Bearer t"
    assert second.headers["Content-Type"] == "application/json"


def test_credentials_are_not_sent_to_another_host(server: Server) -> None:
    other = server.url.replace("127.0.0.1", "localhost")
    url = f"{server.url}/redirect/307?to={other}/200"
    headers = {**HEADERS, "Authorization": "Bearer t", "Cookie": "a=b"}
    assert post(url, b"result", headers).ok
    second = server.received[1]
    assert second.headers["Host"] == other.removeprefix("http://")
    assert "Authorization" not in second.headers
    assert "Cookie" not in second.headers
    assert (second.body, second.headers["X-Call-Id"]) == (b"result", "c-1")


@pytest.mark.parametrize("status", [301, 302, 303])
def test_redirects_that_would_drop_the_body_are_not_followed(server: Server, status: int) -> None:
    delivery = post(f"{server.url}/redirect/{status}?to=/200", b"result", HEADERS)
    assert (delivery.ok, delivery.status, delivery.retry) == (False, status, False)
    assert delivery.error == f"HTTP {status}: redirect to '/200' not followed"
    assert len(server.received) == 1


@pytest.mark.parametrize(
    "target", ["ftp://127.0.0.1/x", "file:///etc/passwd", "data:,hello", "gopher://h/"]
)
def test_redirects_out_of_http_are_not_followed(server: Server, target: str) -> None:
    delivery = post(f"{server.url}/redirect/307?to={target}", b"result", HEADERS)
    assert (delivery.ok, delivery.status, delivery.retry) == (False, 307, False)
    assert target in delivery.error
    assert len(server.received) == 1


def test_a_redirect_loop_ends(server: Server) -> None:
    delivery = post(f"{server.url}/loop", b"result", HEADERS)
    assert delivery == Delivery(
        ok=False, status=307, error="HTTP 307: too many redirects", retry=False
    )
    assert 1 < len(server.received) <= 6


def test_a_redirect_chain_ends(server: Server) -> None:
    chain = "/redirect/307?to=/redirect/308?to=/redirect/307?to=/200"
    assert post(server.url + chain, b"result", HEADERS).ok
    assert [r.path for r in server.received][-1] == "/200"
    assert {r.body for r in server.received} == {b"result"}


# post never raises


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "", "not a url", "http://h:port/"]
)
def test_post_to_a_bad_url_says_so(url: str) -> None:
    delivery = post(url, b"out", HEADERS)
    assert (delivery.ok, delivery.status, delivery.retry) == (False, None, False)
    assert "X-Callback-Url must be an http(s) URL" in delivery.error


def test_post_with_a_bad_header_says_so(server: Server) -> None:
    delivery = post(f"{server.url}/200", b"out", {"X-Evil": "a\r\nX-Injected: 1"})
    assert (delivery.ok, delivery.status, delivery.retry) == (False, None, False)
    assert delivery.error.startswith("cannot send")
    assert server.received == []


# check_url


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "https://example.com/hook?call=1#frag",
        "HTTP://EXAMPLE.COM/",
        "http://127.0.0.1:8080/x",
        "http://[::1]:8080/",
        "https://user:pw@example.com/",
        "http://localhost",
    ],
)
def test_check_url_accepts_http_urls(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "garbage",
        "://nothing",
        "ftp://example.com/file",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "example.com/hook",
        "//example.com/hook",
        "http://",
        "http:///path",
        "https://:8080/",
        "http://example.com:99999/",
        "http://example.com:port/",
        "http://[::1/",
        " http://example.com",
        "http://example.com/a b",
        "http://example.com/\r\nX-Injected: 1",
    ],
)
def test_check_url_refuses_others(url: str) -> None:
    message = f"X-Callback-Url must be an http(s) URL: {url!r}"
    with pytest.raises(SpecError, match=re.escape(message)):
        check_url(url)


def test_check_url_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        check_url("ftp://x")
