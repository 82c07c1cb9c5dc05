"""One-shot jobs: run an image once from a form, then follow it on its call's page."""

from __future__ import annotations

import shlex
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from faas.errors import Error
from faas.jobspec import JOB_FUNCTION, JobSpec
from gateway.callquery import CallQuery
from gateway.invocations import job_call
from gateway.ui.render import show
from gateway.ui.visit import Visit

RECENT = 20


async def jobs_page(request: Request, visit: Visit) -> Response:
    return await _page(request, visit, {}, "")


async def run(request: Request, visit: Visit) -> Response:
    """Queue the job as `POST /system/jobs` does; its page streams its output."""
    asked = {k: visit.field(k) for k in ("image", "command", "env", "timeout", "network", "memory")}
    try:
        job = JobSpec.from_json(_body(asked))
        call = job_call(uuid.uuid4().hex, job)
        await visit.gw.submissions.accept(call, capped=False)
    except (Error, ValueError) as exc:
        return await _page(request, visit, asked, str(exc), 400)
    return RedirectResponse(f"/ui/calls/{call.call_id}", status_code=303)


def _body(asked: dict[str, str]) -> dict[str, Any]:
    """The job as the API's JSON: the command split as a shell would, `K=V` lines as env."""
    body: dict[str, Any] = {"image": asked["image"].strip()}
    if asked["command"].strip():
        body["command"] = shlex.split(asked["command"])
    env = {}
    for line in asked["env"].splitlines():
        if line.strip():
            name, equals, value = line.strip().partition("=")
            if not equals:
                raise ValueError(f"environment line {line.strip()!r} is not NAME=value")
            env[name] = value
    if env:
        body["env"] = env
    for name in ("timeout", "network", "memory"):
        if asked[name].strip():
            body[name] = asked[name].strip()
    return body


async def _page(
    request: Request, visit: Visit, asked: dict[str, str], error: str, status: int = 200
) -> Response:
    page = await visit.gw.index.page(CallQuery(function=JOB_FUNCTION), RECENT)
    recent = await visit.gw.index.records(page.calls)
    return show(
        request, visit, "jobs.html", "Jobs", status, asked=asked, error=error, recent=recent
    )
