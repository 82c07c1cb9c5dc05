"""Unit tests of gateway.ui.session: signed cookies, their expiry, and the password check."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from faas.basicauth import BasicAuth
from gateway.ui import session as sessions_module
from gateway.ui.session import MAX_AGE, Session, Sessions

KEY = b"k" * 32
AUTH = BasicAuth("admin", "s3cret")


def test_a_session_reads_back_as_issued() -> None:
    issuer = Sessions(KEY, AUTH)
    made = issuer.new("admin")
    assert issuer.loads(issuer.dumps(made)) == made
    assert issuer.logged_in(made)


def test_a_visitor_session_is_not_logged_in() -> None:
    issuer = Sessions(KEY, AUTH)
    visitor = issuer.loads(issuer.dumps(issuer.new()))
    assert visitor is not None and visitor.user is None
    assert not issuer.logged_in(visitor)
    assert not issuer.logged_in(None)


def test_an_open_gateway_lets_everyone_in() -> None:
    issuer = Sessions(KEY, None)
    assert issuer.open and issuer.logged_in(None) and issuer.check("anyone", "anything")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),  # the signature
        lambda c: c.replace(".", "x.", 1),  # the payload
        lambda c: c.split(".")[0],  # no signature
        lambda c: "",
        lambda c: "not base64!.also not",
    ],
    ids=["signature", "payload", "unsigned", "empty", "garbage"],
)
def test_a_tampered_cookie_is_no_session(tamper: object) -> None:
    issuer = Sessions(KEY, AUTH)
    cookie = issuer.dumps(issuer.new("admin"))
    assert callable(tamper)
    assert issuer.loads(tamper(cookie)) is None


def test_a_cookie_forged_with_another_key_is_no_session() -> None:
    forged = Sessions(b"x" * 32, AUTH).dumps(Session("t", 0, "admin"))
    assert Sessions(KEY, AUTH).loads(forged) is None


def test_a_session_past_its_age_is_no_session(monkeypatch: pytest.MonkeyPatch) -> None:
    issuer = Sessions(KEY, AUTH)
    made = issuer.new("admin")
    cookie = issuer.dumps(replace(made, issued=made.issued - MAX_AGE - 1))
    assert issuer.loads(cookie) is None
    future = issuer.dumps(replace(made, issued=made.issued + 3600))  # a clock from the future
    assert issuer.loads(future) is None


def test_a_new_password_ends_the_sessions_issued_before() -> None:
    cookie = Sessions(KEY, AUTH).dumps(Sessions(KEY, AUTH).new("admin"))
    assert Sessions(KEY, BasicAuth("admin", "other")).loads(cookie) is None


def test_the_cookie_tells_nothing_of_the_password() -> None:
    cookie = Sessions(KEY, AUTH).dumps(Sessions(KEY, AUTH).new("admin"))
    payload = cookie.split(".")[0]
    text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert "s3cret" not in text
    assert set(json.loads(text)) == {"u", "c", "t", "p"}


@pytest.mark.parametrize(
    ("user", "password", "ok"),
    [
        ("admin", "s3cret", True),
        ("admin", "wrong", False),
        ("root", "s3cret", False),
        ("", "", False),
    ],
)
def test_check(user: str, password: str, ok: bool) -> None:
    assert Sessions(KEY, AUTH).check(user, password) is ok


def test_each_session_has_its_own_csrf_token() -> None:
    issuer = Sessions(KEY, AUTH)
    assert issuer.new().csrf != issuer.new().csrf
    assert len(issuer.new().csrf) >= 24


def test_the_module_names_its_cookie() -> None:
    assert sessions_module.COOKIE == "faas_session"
