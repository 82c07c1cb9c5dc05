"""The calls: a filtered list that follows new calls, and each call's page: its waterfall,
attempts, output, and what can be done with it (cancel, retry, reproduce)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from faas.errors import Error
from faas.records import CallNotFound, CallRecord, CallState
from gateway.callquery import CallQuery, cursor
from gateway.errors import BadRequest
from gateway.ui import reproduce
from gateway.ui.render import show
from gateway.ui.timeline import waterfall
from gateway.ui.visit import Visit

PAGE = 50
STATES = [s.value for s in CallState]


@dataclass(frozen=True)
class CallFilter:
    """The calls list's filter as the form shows it; it lives in the URL, so a view can be
    bookmarked. The API's own `CallQuery` reads it."""

    function: str = ""
    state: str = ""
    exit_code: str = ""
    since: str = ""  # as the form's datetime-local field gives it (UTC), or RFC 3339
    until: str = ""
    before: str = ""  # the cursor of this page

    @classmethod
    def from_query(cls, params: QueryParams) -> CallFilter:
        return cls(
            *(params.get(name, "").strip() for name in ("function", "state", "exitCode")),
            *(params.get(name, "").strip() for name in ("since", "until", "before")),
        )

    def params(self, **changes: str) -> dict[str, str]:
        values = {
            "function": self.function,
            "state": self.state,
            "exitCode": self.exit_code,
            "since": self.since,
            "until": self.until,
            "before": self.before,
        } | changes
        return {k: v for k, v in values.items() if v}

    def query(self, **changes: str) -> str:
        return urlencode(self.params(**changes))

    def api_params(self) -> QueryParams:
        """The filter as `GET /system/calls` takes it: times in RFC 3339."""
        given = self.params()
        for name in ("since", "until"):
            if name in given:
                given[name] = _rfc3339(given[name])
        return QueryParams(given)


def _rfc3339(stamp: str) -> str:
    """A `datetime-local` value (`2024-05-01T10:00`, read as UTC) as RFC 3339."""
    if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", stamp):
        return stamp + ":00Z"
    if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", stamp):
        return stamp + "Z"
    return stamp


async def list_page(request: Request, visit: Visit) -> Response:
    wanted = request.query_params.get("id", "").strip()
    if wanted:
        return RedirectResponse(f"/ui/calls/{quote(wanted)}", status_code=303)
    chosen = CallFilter.from_query(request.query_params)
    error = ""
    try:
        records, cursor = await calls_of(visit, chosen)
    except BadRequest as exc:
        error = str(exc)
        records, cursor = await calls_of(visit, CallFilter())
    return show(
        request,
        visit,
        "calls.html",
        "Calls",
        calls=records,
        chosen=chosen,
        next_page=chosen.query(before=cursor) if cursor else "",
        error=error,
        states=STATES,
        functions=visit.gw.registry.names(),
        live_url=f"/ui/calls?{chosen.query()}",
    )


async def calls_of(visit: Visit, chosen: CallFilter) -> tuple[list[CallRecord], str]:
    """A page of calls, newest first, from the API's call index; the next page's cursor
    ("" on the last page)."""
    params = chosen.api_params()
    query, before = CallQuery.from_params(params), cursor(params)
    page = await visit.gw.index.page(query, PAGE, before)
    return await visit.gw.index.records(page.calls), page.next or ""


async def _record(visit: Visit, call_id: str) -> CallRecord:
    await visit.gw.submissions.settled(call_id)
    return await visit.gw.records.get(call_id)


async def detail_page(request: Request, visit: Visit) -> Response:
    call_id = request.path_params["call_id"]
    try:
        record = await _record(visit, call_id)
    except CallNotFound as exc:
        return show(request, visit, "missing.html", "Calls", 404, what=str(exc))
    gateway = str(request.base_url)
    retried = request.query_params.get("retried", "")
    return show(
        request,
        visit,
        "call.html",
        "Calls",
        record=record,
        flow=waterfall(record),
        curl=reproduce.curl(record, gateway),
        docker_run=reproduce.docker_run(record),
        faas_run=reproduce.faas_run(record),
        body=reproduce.body_of(record.request).decode(errors="replace") if record.request else "",
        retried=retried,
    )


async def output(request: Request, visit: Visit) -> Response:
    """The output (or stderr) kept on the record, as a file."""
    record = await _record(visit, request.path_params["call_id"])
    which = "stderr" if request.query_params.get("stream") == "stderr" else "output"
    text = record.stderr if which == "stderr" else record.output
    name = f"{record.callId}.{which}.txt"
    return PlainTextResponse(
        text, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


async def cancel(request: Request, visit: Visit) -> Response:
    record = await _record(visit, request.path_params["call_id"])
    done = await visit.gw.submissions.cancel(record, "cancelled")
    notice = (
        "Cancelled."
        if done.state is CallState.CANCELLED and not record.state.final
        else f"It had already finished ({record.state})."
    )
    return RedirectResponse(f"/ui/calls/{record.callId}?{urlencode({'notice': notice})}", 303)


async def retry(request: Request, visit: Visit) -> Response:
    """A new call with the same request, or the body edited in the form, linked to this one."""
    record = await _record(visit, request.path_params["call_id"])
    body = visit.field("body").encode() if visit.field("edit") == "1" else None
    try:
        new = await visit.gw.submissions.retry(record, body)
    except Error as exc:
        query = urlencode({"notice": f"Not retried: {exc}"})
        return RedirectResponse(f"/ui/calls/{record.callId}?{query}", 303)
    return RedirectResponse(f"/ui/calls/{new.callId}?retried={record.callId}", 303)
