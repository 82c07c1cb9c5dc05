"""The dashboard at `/ui/`: server-rendered pages over the gateway's own services.

Each module is one part (functions, calls, schedules, jobs, logs, the overview); `guard`
decides who sees a page and checks every form's CSRF token; `render` turns templates into
pages. Assets are served from `static/`: no CDN, no build step.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.ui import calls, functions, jobs, login, logs, overview, schedules
from gateway.ui.guard import action, page

STATIC = Path(__file__).parent / "static"


def routes() -> list[BaseRoute]:
    pages = [
        Route("/", page(overview.overview_page)),
        Route("/functions", page(functions.list_page)),
        Route("/functions/{name}", page(functions.detail_page)),
        Route("/calls", page(calls.list_page)),
        Route("/calls/{call_id}", page(calls.detail_page)),
        Route("/calls/{call_id}/output", page(calls.output)),
        Route("/schedules", page(schedules.schedules_page)),
        Route("/jobs", page(jobs.jobs_page)),
        Route("/logs", page(logs.logs_page)),
        Route("/logs/stream", page(logs.stream)),
    ]
    actions = [
        Route("/logout", action(login.log_out), methods=["POST"]),
        Route("/functions/{name}/invoke", action(functions.invoke), methods=["POST"]),
        Route("/calls/{call_id}/cancel", action(calls.cancel), methods=["POST"]),
        Route("/calls/{call_id}/retry", action(calls.retry), methods=["POST"]),
        Route("/schedules/{name}/pause", action(schedules.pause), methods=["POST"]),
        Route("/schedules/{name}/resume", action(schedules.resume), methods=["POST"]),
        Route("/schedules/{name}/run", action(schedules.run_now), methods=["POST"]),
        Route("/jobs", action(jobs.run), methods=["POST"]),
    ]
    return [
        Route("/ui", lambda request: RedirectResponse("/ui/", status_code=308)),
        Mount(
            "/ui",
            routes=[
                Route("/login", login.login_page, methods=["GET"]),
                Route("/login", login.log_in, methods=["POST"]),
                Mount("/static", StaticFiles(directory=STATIC), name="static"),
                *pages,
                *actions,
            ],
        ),
    ]
