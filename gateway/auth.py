"""HTTP Basic auth on the management API and, when asked, on invocations, as OpenFaaS's gateway."""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from faas.basicauth import BasicAuth, parse_header

REALM = "Restricted"
MANAGEMENT = ("/system/",)
INVOCATION = ("/function/", "/async-function/")


class RequireBasicAuth:
    """Answers 401 to a request under a guarded path unless it carries the credentials."""

    def __init__(self, app: ASGIApp, auth: BasicAuth, invoke_auth: bool = False) -> None:
        self.app = app
        self.user = auth.user.encode()
        self.password = auth.password.encode()
        self.guarded = MANAGEMENT + (INVOCATION if invoke_auth else ())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._refused(scope):
            await _unauthorized()(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refused(self, scope: Scope) -> bool:
        return _route_path(scope).startswith(self.guarded) and not self._valid(scope)

    def _valid(self, scope: Scope) -> bool:
        given = parse_header(Headers(scope=scope).get("authorization", ""))
        if given is None:
            return False
        # Both compared, in constant time, so the answer's timing tells nothing of either.
        user_ok = hmac.compare_digest(given[0], self.user)
        password_ok = hmac.compare_digest(given[1], self.password)
        return user_ok & password_ok


def _route_path(scope: Scope) -> str:
    """The path the router matches (as Starlette's own `get_route_path`): without the root path."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        return path[len(root) :]
    return path


def _unauthorized() -> PlainTextResponse:
    return PlainTextResponse(
        "unauthorized: this gateway wants HTTP Basic credentials\n",
        status_code=401,
        headers={"WWW-Authenticate": f'Basic realm="{REALM}"'},
    )
