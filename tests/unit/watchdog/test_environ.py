"""Unit tests of watchdog.environ: the classic-watchdog environment of a call."""

from __future__ import annotations

import re

import pytest

from faas.wire import CallRequest, RunSpec
from watchdog.environ import call_environment, header_variable


def call(
    headers: list[tuple[str, str]] | None = None,
    env: dict[str, str] | None = None,
    method: str = "POST",
    path: str = "/",
    query: str = "",
) -> CallRequest:
    """A call of function `fn` with the given request parts and function environment."""
    return CallRequest(
        call_id="c1",
        function="fn",
        run=RunSpec(image="fn", env=dict(env or {})),
        method=method,
        path=path,
        query=query,
        headers=list(headers or []),
    )


# header_variable


@pytest.mark.parametrize(
    ("header", "variable"),
    [
        ("X-Request-Id", "Http_X_Request_Id"),
        ("content-type", "Http_Content_Type"),
        ("CONTENT-TYPE", "Http_Content_Type"),
        ("x-rEQUEST-iD", "Http_X_Request_Id"),
        ("Accept", "Http_Accept"),
        ("accept-encoding", "Http_Accept_Encoding"),
        ("x_forwarded_for", "Http_X_Forwarded_For"),
        ("X-Forwarded_For", "Http_X_Forwarded_For"),
        ("x.custom", "Http_X_Custom"),
        ("X-Api-V2", "Http_X_Api_V2"),
        ("x-9lives", "Http_X_9lives"),
        ("X--Double", "Http_X__Double"),
    ],
)
def test_header_variable(header: str, variable: str) -> None:
    assert header_variable(header) == variable


def test_header_variable_is_a_valid_environment_name() -> None:
    assert re.fullmatch(r"Http_[A-Za-z0-9_]+", header_variable("x-ünïcode header=1"))


# call_environment


def test_call_environment_keeps_the_function_environment() -> None:
    env = call_environment(call(env={"exec_timeout": "10s", "greeting": "hi"}))
    assert env["exec_timeout"] == "10s"
    assert env["greeting"] == "hi"


def test_call_environment_sets_the_request_variables() -> None:
    request = call(
        headers=[("Content-Type", "application/json"), ("X-Request-Id", "r1")],
        method="PUT",
        path="/a/b",
        query="x=1&y=2",
    )
    env = call_environment(request)
    assert env["Http_Method"] == "PUT"
    assert env["Http_Path"] == "/a/b"
    assert env["Http_Query"] == "x=1&y=2"
    assert env["Http_Content_Type"] == "application/json"
    assert env["Http_X_Request_Id"] == "r1"


def test_call_environment_has_exactly_the_function_and_request_variables() -> None:
    env = call_environment(call(headers=[("Accept", "*/*")], env={"a": "1"}))
    assert env == {
        "a": "1",
        "Http_Accept": "*/*",
        "Http_Method": "POST",
        "Http_Path": "/",
        "Http_Query": "",
        "Http_Content_Type": "",
    }


def test_call_environment_finds_content_type_in_any_case() -> None:
    env = call_environment(call(headers=[("content-type", "text/csv")]))
    assert env["Http_Content_Type"] == "text/csv"


def test_call_environment_request_variables_override_the_function_environment() -> None:
    request = call(
        headers=[("X-Token", "from-request"), ("Content-Type", "text/plain")],
        env={
            "Http_X_Token": "from-function",
            "Http_Method": "from-function",
            "Http_Path": "from-function",
            "Http_Query": "from-function",
            "Http_Content_Type": "from-function",
        },
        method="GET",
        path="/p",
        query="q=1",
    )
    env = call_environment(request)
    assert env["Http_X_Token"] == "from-request"
    assert env["Http_Method"] == "GET"
    assert env["Http_Path"] == "/p"
    assert env["Http_Query"] == "q=1"
    assert env["Http_Content_Type"] == "text/plain"


def test_call_environment_headers_cannot_replace_the_request_line() -> None:
    request = call(
        headers=[("Method", "DELETE"), ("Path", "/etc"), ("Query", "evil")],
        method="GET",
        path="/p",
        query="q=1",
    )
    env = call_environment(request)
    assert (env["Http_Method"], env["Http_Path"], env["Http_Query"]) == ("GET", "/p", "q=1")


def test_call_environment_without_a_content_type_sets_it_empty() -> None:
    request = call(env={"Http_Content_Type": "from-function"})
    assert call_environment(request)["Http_Content_Type"] == ""


def test_call_environment_leaves_the_call_alone() -> None:
    request = call(headers=[("X-A", "1")], env={"a": "1"})
    call_environment(request)
    assert request.run.env == {"a": "1"}
