"""Who may see the dashboard: a session to see a page, and its CSRF token to change anything.

Pages without a session redirect to the login page (never a Basic-auth prompt). Every POST
goes through `action`, which refuses a form whose CSRF token is not its session's: no
handler can forget the check.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from faas.errors import Error
from gateway.errors import status_for
from gateway.state import Gateway
from gateway.ui.render import show
from gateway.ui.session import COOKIE, MAX_AGE, Session, Sessions, shared_key
from gateway.ui.visit import Visit

LOGIN = "/ui/login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


View = Callable[[Request, Visit], Awaitable[Response]]


def services(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


async def sessions(request: Request) -> Sessions:
    """The gateway's session issuer, made on the dashboard's first request."""
    made: Sessions | None = getattr(request.app.state, "ui_sessions", None)
    if made is None:
        gw = services(request)
        made = Sessions(await shared_key(gw.js), gw.settings.basic_auth())
        request.app.state.ui_sessions = made
    return made


async def current(request: Request) -> tuple[Sessions, Session | None]:
    issuer = await sessions(request)
    cookie = request.cookies.get(COOKIE)
    return issuer, issuer.loads(cookie) if cookie else None


def page(view: View) -> Callable[[Request], Awaitable[Response]]:
    """A page: shown to a logged-in session, else a redirect to the login page."""

    async def endpoint(request: Request) -> Response:
        issuer, session = await current(request)
        if not issuer.logged_in(session):
            return to_login(request)
        if session is None:  # an open gateway: a session only to carry the CSRF token
            session = issuer.new()
            return with_cookie(
                await view(request, Visit(services(request), session)), issuer, session, request
            )
        return await view(request, Visit(services(request), session))

    return endpoint


def action(view: View) -> Callable[[Request], Awaitable[Response]]:
    """A form's target: it needs a logged-in session and that session's CSRF token."""

    async def endpoint(request: Request) -> Response:
        issuer, session = await current(request)
        form = await request.form()
        if session is None or not _token_ok(request, form, session):
            return PlainTextResponse(
                "refused: the form's CSRF token is missing or not this session's; "
                "reload the page and send it again\n",
                status_code=403,
            )
        if not issuer.logged_in(session):
            return to_login(request)
        return await _shown(view, request, Visit(services(request), session, form))

    return endpoint


async def _shown(view: View, request: Request, visit: Visit) -> Response:
    """The view's page; an error it ends with as a page saying so, with the API's status."""
    try:
        return await view(request, visit)
    except Error as exc:
        return show(request, visit, "missing.html", "", status_for(exc), what=str(exc))


def _token_ok(request: Request, form: FormData, session: Session) -> bool:
    given = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    return isinstance(given, str) and hmac.compare_digest(given.encode(), session.csrf.encode())


def to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{LOGIN}?next={quote(target)}", status_code=303)


def with_cookie(
    response: Response, issuer: Sessions, session: Session, request: Request
) -> Response:
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(
        COOKIE,
        issuer.dumps(session),
        max_age=MAX_AGE,
        path="/ui",
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    return response
