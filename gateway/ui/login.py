"""The login page, and logging out: a session cookie instead of a Basic-auth prompt."""

from __future__ import annotations

import asyncio
import hmac

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gateway.ui.guard import CSRF_FIELD, current, with_cookie
from gateway.ui.render import TEMPLATES
from gateway.ui.visit import Visit

HOME = "/ui/"
FAILED_WAIT = 0.5  # seconds before a wrong password is answered: slows guessing


async def login_page(request: Request) -> Response:
    issuer, session = await current(request)
    if issuer.logged_in(session):
        return RedirectResponse(_next(request.query_params.get("next")), status_code=303)
    session = session or issuer.new()
    return with_cookie(
        _form(session.csrf, request.query_params.get("next", "")), issuer, session, request
    )


async def log_in(request: Request) -> Response:
    issuer, session = await current(request)
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if (
        session is None
        or not isinstance(given, str)
        or not hmac.compare_digest(given.encode(), session.csrf.encode())
    ):
        fresh = issuer.new()
        answer = _form(fresh.csrf, "", "Your login form expired: log in again.", status=403)
        return with_cookie(answer, issuer, fresh, request)
    user, password = str(form.get("username", "")), str(form.get("password", ""))
    target = str(form.get("next", ""))
    if not issuer.check(user, password):
        await asyncio.sleep(FAILED_WAIT)
        return _form(session.csrf, target, "Wrong user name or password.", user, status=401)
    return with_cookie(
        RedirectResponse(_next(target), status_code=303), issuer, issuer.new(user), request
    )


async def log_out(request: Request, visit: Visit) -> Response:
    issuer, _ = await current(request)
    answer = RedirectResponse("/ui/login", status_code=303)
    return with_cookie(answer, issuer, issuer.new(), request)


def _next(target: str | None) -> str:
    """Where to go after logging in: a dashboard page only, never another site."""
    if target and target.startswith("/ui/") and not target.startswith("//"):
        return target
    return HOME


def _form(
    csrf: str, target: str, error: str = "", username: str = "", status: int = 200
) -> HTMLResponse:
    html = TEMPLATES.get_template("login.html").render(
        csrf=csrf, next=target, error=error, username=username
    )
    return HTMLResponse(html, status, headers={"Cache-Control": "no-store"})
