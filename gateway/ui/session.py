"""The dashboard's sessions: a signed cookie, a CSRF token in each, and the password check.

A session is the cookie's own content (user, CSRF token, issue time, a fingerprint of the
password), signed with HMAC-SHA256 under a key every gateway shares through NATS: any
gateway reads a session any other issued, and nothing is stored per session. Changing the
password changes the fingerprint, which ends every session issued before.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import KeyWrongLastSequenceError

from faas import bus, layout
from faas.basicauth import BasicAuth

COOKIE = "faas_session"
MAX_AGE = 12 * 3600  # seconds a login lasts
KEY_NAME = "session-key"


@dataclass(frozen=True)
class Session:
    csrf: str  # the token every form of this session carries
    issued: float
    user: str | None = None  # None: not logged in (a visitor of the login page)

    def fresh(self, now: float) -> bool:
        return 0 <= now - self.issued < MAX_AGE


class Sessions:
    """Issues and reads signed session cookies; `auth` None means the gateway is open."""

    def __init__(self, key: bytes, auth: BasicAuth | None) -> None:
        self.key = key
        self.auth = auth

    @property
    def open(self) -> bool:
        return self.auth is None

    def new(self, user: str | None = None) -> Session:
        return Session(secrets.token_urlsafe(24), time.time(), user)

    def dumps(self, session: Session) -> str:
        payload = {"u": session.user, "c": session.csrf, "t": session.issued, "p": self._print()}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{_b64(self._sign(body))}"

    def loads(self, cookie: str) -> Session | None:
        """The session a cookie holds, if signed here, fresh, and of the current password."""
        body, _, signature = cookie.partition(".")
        try:
            if not hmac.compare_digest(_unb64(signature), self._sign(body)):
                return None
            data = json.loads(_unb64(body))
            session = Session(str(data["c"]), float(data["t"]), data["u"])
            issued_under = data["p"]
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        if not session.fresh(time.time()) or issued_under != self._print():
            return None
        return session

    def check(self, user: str, password: str) -> bool:
        """Whether these are the gateway's credentials (both compared in constant time)."""
        if self.auth is None:
            return True
        user_ok = hmac.compare_digest(user.encode(), self.auth.user.encode())
        password_ok = hmac.compare_digest(password.encode(), self.auth.password.encode())
        return user_ok & password_ok

    def logged_in(self, session: Session | None) -> bool:
        if self.auth is None:
            return True
        return session is not None and session.user == self.auth.user

    def _sign(self, body: str) -> bytes:
        return hmac.new(self.key, body.encode(), hashlib.sha256).digest()

    def _print(self) -> str:
        """Which credentials the session was issued under, telling nothing of them."""
        if self.auth is None:
            return ""
        given = f"{self.auth.user}\0{self.auth.password}".encode()
        return _b64(hmac.new(self.key, given, hashlib.sha256).digest()[:12])


async def shared_key(js: JetStreamContext) -> bytes:
    """The signing key all gateways share: made by the first, read by the rest."""
    kv = await layout.bucket(js, bus.UI_BUCKET)
    with contextlib.suppress(KeyWrongLastSequenceError):
        await kv.create(KEY_NAME, secrets.token_bytes(32))
    entry = await kv.get(KEY_NAME)
    assert entry.value, "the session key is stored empty"
    return entry.value


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
