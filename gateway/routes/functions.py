"""The functions API under `/system/`, with OpenFaaS's JSON shapes."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from faas import layout
from faas.errors import SpecError
from faas.spec import NAMESPACE, FunctionSpec, check_replicas, split_namespace
from gateway import forms
from gateway.errors import BadRequest
from gateway.routes.common import json_body, services
from gateway.state import Gateway


def _status(gw: Gateway, spec: FunctionSpec) -> dict[str, Any]:
    available = 1 if gw.presence.live() else 0
    return spec.status(gw.counters.total(spec.name), available)


async def list_functions(request: Request) -> Response:
    gw = services(request)
    return JSONResponse([_status(gw, spec) for spec in gw.registry.all()])


async def get_function(request: Request) -> Response:
    gw = services(request)
    spec = gw.registry.get(split_namespace(request.path_params["name"]))
    return JSONResponse(_status(gw, spec))


async def _deployment(request: Request) -> Any:
    """A deploy body: JSON whatever its label (`curl -d` calls JSON a form), else form fields
    when it says so (the Airflow provider sends those)."""
    if forms.is_form(request.headers.get("content-type", "")):
        raw = await request.body()
        try:
            return json.loads(raw)
        except ValueError:
            return forms.deployment(raw)
    return await json_body(request)


async def _spec(request: Request) -> FunctionSpec:
    spec = FunctionSpec.from_deployment(await _deployment(request))
    await _check_secrets(services(request), spec)
    return spec


async def _check_secrets(gw: Gateway, spec: FunctionSpec) -> None:
    """Refuse a function naming a secret that is not stored (or when secrets are off)."""
    if not spec.secrets:
        return
    if gw.secrets is None:
        raise SpecError(
            f"function {spec.name!r} names secrets, but secrets are off: this gateway has no "
            "secrets key (start it with --secrets-key FILE or FAAS_SECRETS_KEY_FILE)"
        )
    missing = await gw.secrets.missing(spec.secrets)
    if missing:
        raise SpecError(f"secret {missing[0]!r} does not exist")


async def deploy_function(request: Request) -> Response:
    gw = services(request)
    spec = await _spec(request)
    await layout.cap_function(gw.js, spec.name, spec.max_concurrency, gw.settings.lease)
    await gw.registry.deploy(spec)
    return Response(status_code=202)


async def update_function(request: Request) -> Response:
    gw = services(request)
    spec = await _spec(request)
    gw.registry.get(spec.name)
    await layout.cap_function(gw.js, spec.name, spec.max_concurrency, gw.settings.lease)
    await gw.registry.update(spec)
    return Response(status_code=202)


async def delete_function(request: Request) -> Response:
    body = await json_body(request)
    name = body.get("functionName") if isinstance(body, dict) else None
    if not name or not isinstance(name, str):
        raise BadRequest("missing 'functionName'")
    gw = services(request)
    name = split_namespace(name)
    await gw.registry.remove(name)
    await gw.counters.forget(name)
    await gw.scheduler.forget(name)
    await layout.cap_function(gw.js, name, None)
    return Response(status_code=200)


async def list_namespaces(request: Request) -> Response:
    return JSONResponse([NAMESPACE])


async def scale_function(request: Request) -> Response:
    """Store the replicas asked for; with a fresh container per call they limit nothing."""
    name = split_namespace(request.path_params["name"])
    replicas = _replicas(await json_body(request), name)
    await services(request).registry.scale(name, replicas)
    return Response(status_code=202)


def _replicas(body: Any, name: str) -> int:
    """The replicas of an OpenFaaS ScaleServiceRequest for the function `name`."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object: serviceName, namespace, replicas")
    service = body.get("serviceName") or name
    if not isinstance(service, str) or split_namespace(service) != name:
        raise BadRequest(f"serviceName {service!r} is not the function in the path, {name!r}")
    namespace = body.get("namespace") or NAMESPACE
    if namespace != NAMESPACE:
        raise BadRequest(f"unknown namespace {namespace!r}: the only namespace is {NAMESPACE}")
    return check_replicas(body.get("replicas"))
