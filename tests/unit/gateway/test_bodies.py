"""Unit tests of gateway.bodies.read_body, through a one-route Starlette app."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable, Iterator

import pytest
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Message

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 to the httpx of our dev extras; the client works with either.
    warnings.filterwarnings(
        "ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning
    )
    from starlette.testclient import TestClient

from gateway import bodies
from gateway.bodies import read_body
from gateway.errors import HANDLERS, BadRequest, BodyTooLarge

LIMIT = 10


async def length(request: Request) -> PlainTextResponse:
    body = await read_body(request, limit=LIMIT)
    return PlainTextResponse(str(len(body)))


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = Starlette(routes=[Route("/", length, methods=["POST"])], exception_handlers=HANDLERS)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def chunks(*parts: bytes) -> Iterator[bytes]:
    """A body sent chunked, without a Content-Length."""
    yield from parts


@pytest.mark.parametrize("body", [b"", b"a", b"0123456789"])
def test_a_body_up_to_the_limit_is_read(client: TestClient, body: bytes) -> None:
    reply = client.post("/", content=body)
    assert reply.status_code == 200
    assert reply.text == str(len(body))


def test_a_body_over_the_limit_is_refused_by_its_content_length(client: TestClient) -> None:
    reply = client.post("/", content=b"x" * (LIMIT + 1))
    assert reply.request.headers["content-length"] == str(LIMIT + 1)
    assert reply.status_code == 413
    assert reply.text == f"request body is larger than the limit of {LIMIT} bytes\n"


def test_a_chunked_body_up_to_the_limit_is_read(client: TestClient) -> None:
    reply = client.post("/", content=chunks(b"01234", b"", b"56789"))
    assert "content-length" not in reply.request.headers
    assert reply.status_code == 200
    assert reply.text == "10"


def test_a_chunked_body_over_the_limit_is_refused(client: TestClient) -> None:
    reply = client.post("/", content=chunks(b"012345", b"6789", b"!"))
    assert "content-length" not in reply.request.headers
    assert reply.status_code == 413
    assert f"limit of {LIMIT} bytes" in reply.text


def test_a_body_longer_than_its_content_length_is_refused(client: TestClient) -> None:
    reply = client.post("/", content=b"x" * 50, headers={"Content-Length": "5"})
    assert reply.status_code == 413


@pytest.mark.parametrize("declared", ["abc", "-1", "1.5", "0x10", "5, 5"])
def test_an_invalid_content_length_is_a_bad_request(client: TestClient, declared: str) -> None:
    reply = client.post("/", content=b"x", headers={"Content-Length": declared})
    assert reply.status_code == 400
    assert reply.text == f"invalid Content-Length {declared!r}\n"


def test_a_superscript_content_length_is_a_bad_request() -> None:
    # Straight to the ASGI request: the test client re-encodes header values as UTF-8.
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-length", b"\xb2")],
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"x", "more_body": False}

    with pytest.raises(BadRequest, match="invalid Content-Length"):
        asyncio.run(read_body(Request(scope, receive), limit=LIMIT))


def scope_of(*headers: tuple[bytes, bytes]) -> dict[str, object]:
    return {"type": "http", "method": "POST", "path": "/", "headers": list(headers)}


def sender(count: int, size: int) -> tuple[list[int], Callable[[], Awaitable[Message]]]:
    """An ASGI receive of `count` chunks of `size` bytes; the list counts those taken."""
    taken = [0]

    async def receive() -> Message:
        taken[0] += 1
        more = taken[0] < count
        return {"type": "http.request", "body": b"x" * size, "more_body": more}

    return taken, receive


@pytest.mark.parametrize("declared", [True, False])
def test_a_refused_body_is_read_to_its_end_before_the_answer(declared: bool) -> None:
    # urllib and requests send the whole body before they read: a close with unread data
    # would reset the connection and hide the 413.
    taken, receive = sender(50, LIMIT)
    length = [(b"content-length", b"%d" % (50 * LIMIT))] if declared else []
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_body(Request(scope_of(*length), receive), limit=LIMIT))
    assert taken == [50]


def test_a_refused_body_is_dropped_only_up_to_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bodies, "LINGER_BYTES", 5 * LIMIT)
    taken, receive = sender(50, LIMIT)
    length = (b"content-length", b"%d" % (50 * LIMIT))
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_body(Request(scope_of(length), receive), limit=LIMIT))
    assert taken == [6]


def test_a_client_waiting_for_100_continue_is_answered_at_once() -> None:
    taken, receive = sender(50, LIMIT)
    headers = [(b"content-length", b"%d" % (50 * LIMIT)), (b"expect", b"100-continue")]
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_body(Request(scope_of(*headers), receive), limit=LIMIT))
    assert taken == [0]
