"""The gateway's errors and the one place that maps them to HTTP answers."""

from __future__ import annotations

import nats.errors
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from faas.errors import Error, SpecError
from faas.images import ImageNotStored
from faas.records import CallNotFound
from faas.secretstore import SecretError, SecretExists, SecretNotFound


class FunctionNotFound(Error, LookupError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"function {name!r} not found")


class NotScheduled(Error, LookupError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"function {name!r} is not scheduled (no annotation topic: cron-function)")


class BodyTooLarge(Error):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"request body is larger than the limit of {limit} bytes")


class NoWatchdog(Error):
    def __init__(self) -> None:
        super().__init__("no watchdog is connected: start one with `faas watchdog --nats URL`")


class SecretsOff(Error):
    def __init__(self) -> None:
        super().__init__(
            "secrets are off: this gateway has no secrets key "
            "(start it with --secrets-key FILE or FAAS_SECRETS_KEY_FILE)"
        )


class BadRequest(Error, ValueError):
    """A request the gateway cannot read."""


class Conflict(Error):
    """The request does not fit the current state (e.g. cancelling a finished call)."""


_STATUS: dict[type[Exception], int] = {
    SpecError: 400,
    BadRequest: 400,
    FunctionNotFound: 404,
    NotScheduled: 404,
    CallNotFound: 404,
    SecretNotFound: 404,
    ImageNotStored: 404,
    Conflict: 409,
    SecretExists: 409,
    BodyTooLarge: 413,
    NoWatchdog: 503,
    nats.errors.Error: 503,  # JetStream's errors too: the bus cannot take or give it now
    SecretsOff: 503,
    SecretError: 500,
}


def status_for(exc: Exception) -> int:
    """The HTTP status a request ending with this error is answered with."""
    return next((s for t, s in _STATUS.items() if isinstance(exc, t)), 500)


def error_text(exc: Exception) -> str:
    """What the answer says: the error's own message, or why NATS let the request down."""
    if isinstance(exc, nats.errors.Error):
        return f"the message bus (NATS) is unavailable: {str(exc) or type(exc).__name__}"
    return str(exc)


async def error_response(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"{error_text(exc)}\n", status_code=status_for(exc))


HANDLERS = {cls: error_response for cls in _STATUS}
