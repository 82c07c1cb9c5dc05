"""The served OpenAPI description against the routes the gateway really has."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import httpx
import pytest
from starlette.applications import Starlette

from faas.records import AttemptRecord, CallbackAttempt, CallbackRecord, CallRecord, RequestRecord
from gateway import openapi
from gateway.routes import routes
from gateway.schedulestatus import ScheduleDetail, ScheduleStatus, TickRun

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def served() -> set[tuple[str, str]]:
    """(METHOD, path) of every route, `{path:path}` written as OpenAPI's `{path}`."""
    found = set()
    for route in routes():
        path = re.sub(r"{(\w+):\w+}", r"{\1}", route.path)
        found |= {(method, path) for method in route.methods or ()}
    return found


def described() -> set[tuple[str, str]]:
    paths = openapi.document()["paths"]
    return {(m.upper(), path) for path, item in paths.items() for m in item if m in METHODS}


def test_every_route_is_described_and_nothing_else() -> None:
    # Starlette answers HEAD wherever it answers GET; the document need not say so.
    implicit = {("HEAD", path) for method, path in served() if method == "GET"}
    assert served() - implicit, "no routes found: the comparison below would prove nothing"
    assert described() - implicit == served() - implicit


def test_the_document_is_openapi_3_with_basic_auth_on_system_routes() -> None:
    doc = openapi.document()
    assert doc["openapi"].startswith("3.0.")
    assert doc["security"] == [{"basicAuth": []}]
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                open_ = operation.get("security") == []
                assert open_ != path.startswith("/system/"), (method, path)


def test_every_reference_resolves() -> None:
    doc = openapi.document()
    text = str(doc)
    for ref in set(re.findall(r"'\$ref': '#/([^']+)'", text)):
        node = doc
        for part in ref.split("/"):
            node = node[part]


def test_it_is_served_as_json() -> None:
    app = Starlette(routes=[r for r in routes() if r.path == "/openapi.json"])

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            return await client.get("/openapi.json")

    reply = asyncio.run(get())
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == openapi.document()


@pytest.mark.parametrize(
    ("kind", "schema"),
    [
        (CallRecord, "CallRecord"),
        (CallbackRecord, "CallbackRecord"),
        (CallbackAttempt, "CallbackAttempt"),
        (RequestRecord, "RequestRecord"),
        (AttemptRecord, "AttemptRecord"),
        (ScheduleStatus, "ScheduleStatus"),
        (TickRun, "TickRun"),
    ],
)
def test_every_field_of_a_record_is_described_and_required(kind: type, schema: str) -> None:
    described = openapi.document()["components"]["schemas"][schema]
    names = [f.name for f in dataclasses.fields(kind)]
    assert sorted(described["properties"]) == sorted(names)
    assert sorted(described["required"]) == sorted(names)


def test_a_schedule_s_detail_is_its_row_and_its_ticks() -> None:
    detail = openapi.document()["components"]["schemas"]["ScheduleDetail"]["allOf"]
    assert detail[0] == {"$ref": "#/components/schemas/ScheduleStatus"}
    extra = {f.name for f in dataclasses.fields(ScheduleDetail)} - {
        f.name for f in dataclasses.fields(ScheduleStatus)
    }
    assert set(detail[1]["properties"]) == set(detail[1]["required"]) == extra
