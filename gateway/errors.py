"""The gateway's errors and the one place that maps them to HTTP answers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from faas.errors import Error, SpecError
from faas.records import CallNotFound
from faas.secretstore import SecretError, SecretExists, SecretNotFound


class FunctionNotFound(Error, LookupError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"function {name!r} not found")


class BodyTooLarge(Error):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"request body is larger than the limit of {limit} bytes")


class NoWatchdog(Error):
    def __init__(self) -> None:
        super().__init__("no watchdog is connected: start one with `faas watchdog --nats URL`")


class BusUnavailable(Error):
    def __init__(self, reason: object) -> None:
        super().__init__(f"the message bus (NATS) is unavailable: {reason}")


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


_STATUS: dict[type[Error], int] = {
    SpecError: 400,
    BadRequest: 400,
    FunctionNotFound: 404,
    CallNotFound: 404,
    SecretNotFound: 404,
    Conflict: 409,
    SecretExists: 409,
    BodyTooLarge: 413,
    NoWatchdog: 503,
    BusUnavailable: 503,
    SecretsOff: 503,
    SecretError: 500,
}


def status_for(exc: Exception) -> int:
    """The HTTP status a request ending with this error is answered with."""
    return next((s for t, s in _STATUS.items() if isinstance(exc, t)), 500)


async def error_response(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"{exc}\n", status_code=status_for(exc))


HANDLERS = {cls: error_response for cls in _STATUS}
