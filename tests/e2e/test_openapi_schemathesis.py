"""Schemathesis against a real gateway: every answer a documented status, type and shape."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from faas.basicauth import BasicAuth
from tests.e2e.functions import fn
from tests.e2e.parts import Gateway, Parts, wait_for_watchdog

AUTH = BasicAuth("admin", "e2e-Secret_123")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Each example of these starts a container: they are called once each, not fuzzed.
INVOCATIONS = ("/function/", "/async-function/")
# An answer that stays open (server-sent events) cannot be checked by a client that reads it
# whole: tests/e2e/test_calls_query.py reads /system/calls/events.
STREAM = "text/event-stream"
# The function answers invocations with any status (500 when it fails): the others hold there.
INVOCATION_CHECKS = CHECKS[1:]
FUZZ = settings(
    max_examples=20,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def test_the_gateway_answers_as_its_openapi_document_says(parts: Parts) -> None:
    gateway = platform(parts)
    schema = schemathesis.openapi.from_url(gateway.url + "/openapi.json", timeout=30)
    # an invalid operation is an Err, which has no ok(): it fails the test here
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    invocations = [op for op in operations if op.path.startswith(INVOCATIONS)]
    assert len(invocations) == 16  # 7 methods on two sync paths, POST on two async paths
    for operation in invocations:  # before the fuzzing, which may well remove `echo`
        invoke_once(operation, gateway)
    streams = [op for op in operations if streamed(op)]
    assert [op.path for op in streams] == ["/system/calls/events"]
    for operation in operations:
        if operation not in invocations and operation not in streams:
            fuzz(operation, GenerationMode.POSITIVE, gateway)
            if operation.path_parameters or operation.query or operation.body:
                fuzz(operation, GenerationMode.NEGATIVE, gateway)  # nothing to get wrong without


def platform(parts: Parts) -> Gateway:
    """NATS, a watchdog and a gateway that wants AUTH and keeps secrets, with `echo` deployed."""
    parts.secrets_key()
    nats = parts.nats()
    gateway = parts.gateway(nats, auth=AUTH)
    parts.watchdog(nats, 2)
    wait_for_watchdog(gateway)
    with gateway.client() as http:
        assert http.post("/system/functions", json=fn("echo", "cat")).status_code == 202
    return gateway


def streamed(operation: APIOperation[Any, Any, Any, Any]) -> bool:
    """Whether the operation answers success only as a stream that stays open."""
    ok = operation.definition.raw.get("responses", {}).get("200", {})
    return list(ok.get("content", {})) == [STREAM]


def invoke_once(operation: APIOperation[Any, Any, Any, Any], gateway: Gateway) -> None:
    body: dict[str, Any] = {}
    if operation.body:
        body = {"body": b"hello", "media_type": "application/octet-stream"}
    case = operation.Case(path_parameters={"name": "echo", "path": "sub/path"}, **body)
    reply = case.call_and_validate(base_url=gateway.url, checks=INVOCATION_CHECKS, timeout=60)
    assert reply.status_code in (200, 202), (operation.label, reply.status_code, reply.text)


def fuzz(
    operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, gateway: Gateway
) -> None:
    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case[Any]) -> None:
        # A short timeout: a generated `follow=true` of a real function's logs never ends.
        case.call_and_validate(
            base_url=gateway.url, checks=CHECKS, auth=(AUTH.user, AUTH.password), timeout=10
        )

    check()
