"""Schedules: each one's expression, zone, next fire times and past ticks; run now, pause,
resume. The scheduler's own methods do each, as `/system/schedules/...` does."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.ui.render import show
from gateway.ui.visit import Visit


async def schedules_page(request: Request, visit: Visit) -> Response:
    rows = [
        await visit.gw.scheduler.detail(spec.name) for spec, _ in visit.gw.scheduler.scheduled()
    ]
    return show(request, visit, "schedules.html", "Schedules", rows=rows)


async def pause(request: Request, visit: Visit) -> Response:
    name = request.path_params["name"]
    await visit.gw.scheduler.pause(name)
    return _back(f"{name} is paused: no tick fires until it is resumed.")


async def resume(request: Request, visit: Visit) -> Response:
    name = request.path_params["name"]
    await visit.gw.scheduler.resume(name)
    return _back(f"{name} is resumed.")


async def run_now(request: Request, visit: Visit) -> Response:
    record = await visit.gw.scheduler.run_now(request.path_params["name"])
    return RedirectResponse(f"/ui/calls/{record.callId}", status_code=303)


def _back(notice: str) -> Response:
    return RedirectResponse(f"/ui/schedules?{urlencode({'notice': notice})}", status_code=303)
