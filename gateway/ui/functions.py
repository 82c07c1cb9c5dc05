"""The functions: each one's settings, its URL and a curl line, and a form to invoke it."""

from __future__ import annotations

import shlex
import uuid
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from faas.errors import Error
from faas.spec import FunctionSpec
from faas.wire import CallResult, Outcome
from gateway.errors import BadRequest, status_for
from gateway.invocations import make_call, run_sync, submit
from gateway.ui.render import show
from gateway.ui.visit import Visit

METHODS = ("POST", "GET", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Invocation:
    """What the invoke form asks for."""

    method: str = "POST"
    path: str = "/"
    query: str = ""
    headers: str = ""  # "Name: value" lines
    body: str = ""
    mode: str = "sync"
    callback: str = ""

    @classmethod
    def from_visit(cls, visit: Visit) -> Invocation:
        method = visit.field("method", "POST").upper()
        if method not in METHODS:
            raise BadRequest(f"method must be one of {', '.join(METHODS)}")
        path = visit.field("path", "/") or "/"
        return cls(
            method=method,
            path=path if path.startswith("/") else "/" + path,
            query=visit.field("query").lstrip("?"),
            headers=visit.field("headers"),
            body=visit.field("body"),
            mode="async" if visit.field("mode") == "async" else "sync",
            callback=visit.field("callback").strip(),
        )

    def header_pairs(self) -> list[tuple[str, str]]:
        pairs = []
        for number, line in enumerate(self.headers.splitlines(), 1):
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            if not colon or not name.strip() or " " in name.strip():
                raise BadRequest(f"header line {number} is not 'Name: value': {line!r}")
            pairs.append((name.strip().lower(), value.strip()))  # hop-by-hop ones dropped later
        return pairs


@dataclass(frozen=True)
class Answer:
    """What the form shows after a call: its status, headers and body, and its id."""

    status: int
    headers: list[tuple[str, str]]
    body: str
    call_id: str
    error: str = ""


def url_of(request: Request, spec: FunctionSpec) -> str:
    return str(request.base_url).rstrip("/") + f"/function/{spec.name}"


def curl_line(request: Request, spec: FunctionSpec) -> str:
    return f"curl -sS -d 'hello' {shlex.quote(url_of(request, spec))}"


def facts(spec: FunctionSpec) -> list[tuple[str, str]]:
    """The settings a user looks for, in words."""
    rows = [
        ("Image", spec.image),
        ("Process", spec.env_process or spec.env_vars.get("fprocess", "") or "the image's own"),
        ("Timeout", f"{spec.timeout:g} s"),
        ("Memory", f"{spec.memory // 2**20} MiB" if spec.memory else "no limit"),
        ("CPUs", f"{spec.cpus:g}" if spec.cpus else "no limit"),
        ("Processes (pids)", str(spec.pids)),
        ("Network", spec.network),
        ("Root filesystem", "read-only" if spec.read_only_root_filesystem else "writable"),
        ("Concurrency cap", str(spec.max_concurrency) if spec.max_concurrency else "none"),
        ("Retries", f"{spec.retry.attempts} attempt(s)"),
        ("Secrets", ", ".join(spec.secrets) or "none"),
    ]
    if spec.schedule:
        rows.append(("Schedule", f"{spec.schedule.expression} ({spec.schedule.timezone})"))
    return rows


async def list_page(request: Request, visit: Visit) -> Response:
    gw = visit.gw
    rows = [(spec, gw.counters.total(spec.name)) for spec in gw.registry.all()]
    return show(request, visit, "functions.html", "Functions", functions=rows)


async def detail_page(request: Request, visit: Visit) -> Response:
    spec = visit.gw.registry.get(request.path_params["name"])
    return _detail(request, visit, spec, Invocation(), None)


async def invoke(request: Request, visit: Visit) -> Response:
    """Run the form's call as `/function/` or `/async-function/` would, and show its answer."""
    gw = visit.gw
    spec = gw.registry.get(request.path_params["name"])
    try:
        asked = Invocation.from_visit(visit)
    except BadRequest as exc:
        return _detail(request, visit, spec, Invocation(), Answer(400, [], "", "", str(exc)))
    try:
        body = asked.body.encode()
        if len(body) > gw.max_body:
            raise BadRequest(f"the body is larger than the limit of {gw.max_body} bytes")
        call = make_call(
            gw,
            spec,
            uuid.uuid4().hex,
            asked.method,
            asked.path,
            asked.query,
            asked.header_pairs(),
            body,
        )
        if asked.mode == "async":
            call_id = await submit(gw, spec, call, asked.callback)
            answer = Answer(202, [("X-Call-Id", call_id)], "", call_id)
        else:
            answer = _answer(await run_sync(gw, call))
    except Error as exc:
        answer = Answer(status_for(exc), [], "", "", str(exc))
    return _detail(request, visit, spec, asked, answer)


def _answer(result: CallResult) -> Answer:
    headers = [("X-Call-Id", result.call_id), ("X-Duration-Seconds", f"{result.duration:.6f}")]
    if result.exit_code is not None:
        headers.append(("X-Exit-Code", str(result.exit_code)))
    body = result.body if result.outcome is Outcome.OK else result.failure_text()
    return Answer(result.status, headers, body.decode(errors="replace"), result.call_id)


def _detail(
    request: Request, visit: Visit, spec: FunctionSpec, asked: Invocation, answer: Answer | None
) -> Response:
    return show(
        request,
        visit,
        "function.html",
        "Functions",
        spec=spec,
        facts=facts(spec),
        url=url_of(request, spec),
        curl=curl_line(request, spec),
        asked=asked,
        answer=answer,
        methods=METHODS,
    )
