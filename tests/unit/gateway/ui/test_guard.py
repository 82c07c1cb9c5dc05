"""Unit tests of gateway.ui.guard and gateway.ui.login: sessions, redirects, CSRF."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 to the httpx of our dev extras; the client works with either.
    warnings.filterwarnings(
        "ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning
    )
    from starlette.testclient import TestClient

from faas.basicauth import BasicAuth
from gateway.ui.guard import action, page
from gateway.ui.login import _next, log_in, login_page
from gateway.ui.session import COOKIE, Sessions
from gateway.ui.visit import Visit

AUTH = BasicAuth("admin", "s3cret")


async def hello(request: Request, visit: Visit) -> Response:
    return PlainTextResponse(f"hello {visit.session.user} {visit.field('x')}")


def client(auth: BasicAuth | None = AUTH) -> TestClient:
    app = Starlette(
        routes=[
            Route("/ui/login", login_page, methods=["GET"]),
            Route("/ui/login", log_in, methods=["POST"]),
            Route("/ui/page", page(hello)),
            Route("/ui/act", action(hello), methods=["POST"]),
        ]
    )
    app.state.gateway = SimpleNamespace()  # the views here use no service
    app.state.ui_sessions = Sessions(b"k" * 32, auth)
    return TestClient(app, follow_redirects=False)


def send_login(http: TestClient, password: str) -> httpx.Response:
    """Send the login form, with the CSRF token of the login page's session."""
    http.get("/ui/login")
    issuer: Sessions = http.app.state.ui_sessions  # type: ignore[attr-defined]
    visitor = issuer.loads(http.cookies[COOKIE])
    assert visitor is not None
    form = {"username": "admin", "password": password, "csrf": visitor.csrf}
    answer: httpx.Response = http.post("/ui/login", data=form)
    return answer


def logged_in(http: TestClient) -> str:
    """Log in; the session's CSRF token."""
    assert send_login(http, "s3cret").status_code == 303
    issuer: Sessions = http.app.state.ui_sessions  # type: ignore[attr-defined]
    session = issuer.loads(http.cookies[COOKIE])
    assert session is not None and session.user == "admin"
    return session.csrf


def test_a_page_without_a_session_redirects_to_the_login_with_where_it_was() -> None:
    answer = client().get("/ui/page?a=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login?next=/ui/page%3Fa%3D1"


def test_after_login_the_page_shows_and_the_cookie_is_httponly_and_lax() -> None:
    http = client()
    logged_in(http)
    assert http.get("/ui/page").text == "hello admin "


def test_login_sets_a_cookie_scoped_to_the_dashboard() -> None:
    http = client()
    answer = http.get("/ui/login")
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/ui" in cookie


def test_an_action_needs_its_sessions_csrf_token() -> None:
    http = client()
    token = logged_in(http)
    assert http.post("/ui/act", data={"x": "1"}).status_code == 403
    assert http.post("/ui/act", data={"x": "1", "csrf": "not-it"}).status_code == 403
    assert http.post("/ui/act", data={"x": "1", "csrf": token}).text == "hello admin 1"
    assert http.post("/ui/act", data={"x": "2"}, headers={"X-CSRF-Token": token}).text.endswith("2")


def test_an_action_without_a_session_is_refused() -> None:
    assert client().post("/ui/act", data={"csrf": "x"}).status_code == 403


def test_a_wrong_password_is_a_401_page_and_no_session() -> None:
    http = client()
    answer = send_login(http, "nope")
    assert answer.status_code == 401
    assert "Wrong user name or password." in answer.text
    assert "www-authenticate" not in answer.headers
    assert http.get("/ui/page").status_code == 303


def test_a_login_form_without_its_token_is_refused() -> None:
    http = client()
    answer = http.post("/ui/login", data={"username": "admin", "password": "s3cret"})
    assert answer.status_code == 403
    assert http.get("/ui/page").status_code == 303


def test_an_open_gateway_shows_pages_without_a_login_but_still_checks_csrf() -> None:
    http = client(None)
    shown = http.get("/ui/page")
    assert shown.text == "hello None "
    assert COOKIE in http.cookies  # a session only to carry the CSRF token
    assert http.post("/ui/act", data={}).status_code == 403


@pytest.mark.parametrize(
    ("target", "goes"),
    [
        ("/ui/calls?state=failed", "/ui/calls?state=failed"),
        ("", "/ui/"),
        (None, "/ui/"),
        ("https://evil.example/", "/ui/"),
        ("//evil.example/ui/", "/ui/"),
        ("/system/functions", "/ui/"),
    ],
)
def test_after_login_only_a_dashboard_page_is_a_destination(target: str | None, goes: str) -> None:
    assert _next(target) == goes
