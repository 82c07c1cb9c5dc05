"""Pages from Jinja2 templates, with the filters they share; a live region's fragment alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from faas import rfc3339
from gateway.ui.visit import Visit

NONE = "\u2013"  # an en dash: no value
NAV = [
    ("/ui/", "Overview"),
    ("/ui/functions", "Functions"),
    ("/ui/calls", "Calls"),
    ("/ui/schedules", "Schedules"),
    ("/ui/jobs", "Jobs"),
    ("/ui/logs", "Logs"),
]


def duration(seconds: float | None) -> str:
    if seconds is None:
        return NONE
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def size(n: int | None) -> str:
    if n is None:
        return NONE
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def when(stamp: str | None) -> str:
    """A record's time as the reader's clock would say it, to the second (UTC)."""
    if not stamp:
        return NONE
    return rfc3339.parse(stamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def pretty_json(text: str) -> str | None:
    """The text as indented JSON, or None when it is not JSON."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return None


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(duration=duration, size=size, when=when, pretty_json=pretty_json)
    env.globals["now"] = lambda: datetime.now(UTC)
    return env


TEMPLATES = _environment()


def wants_fragment(request: Request) -> bool:
    return request.headers.get("x-fragment") == "1"


def show(
    request: Request,
    visit: Visit,
    template: str,
    section: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page, or (asked by a live region) only its fragment template `_<template>`."""
    values = {
        "status": status_code,
        "request": request,
        "csrf": visit.session.csrf,
        "user": visit.session.user,
        "nav": NAV,
        "section": section,
        "notice": request.query_params.get("notice", ""),
        **context,
    }
    chosen = TEMPLATES.get_template(template)
    if wants_fragment(request) and status_code == 200:
        chosen = TEMPLATES.get_template(f"_{template}")
    html = chosen.render(values)
    return HTMLResponse(html, status_code, headers={"Cache-Control": "no-store"})
