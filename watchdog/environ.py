"""The OpenFaaS classic-watchdog environment of a call."""

from __future__ import annotations

import re

from faas.wire import CallKind, CallRequest

_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_]")


def header_variable(header: str) -> str:
    """`X-Request-Id` -> `Http_X_Request_Id`, as OpenFaaS's classic watchdog names them."""
    words = _NOT_IN_NAME.sub("_", header).split("_")
    return "Http_" + "_".join(w[:1].upper() + w[1:].lower() for w in words)


def call_environment(call: CallRequest) -> dict[str, str]:
    """Function environment first, then the request's Http_* variables (a job has no request)."""
    return dict(call.run.env) | request_variables(call)


def request_variables(call: CallRequest) -> dict[str, str]:
    """The request's Http_* variables: every header, then the method, path, query and type."""
    if call.kind == CallKind.JOB:
        return {}
    env = {header_variable(name): value for name, value in call.headers}
    content_type = next((v for k, v in call.headers if k.lower() == "content-type"), "")
    env.update(
        Http_Method=call.method,
        Http_Path=call.path,
        Http_Query=call.query,
        Http_Content_Type=content_type,
    )
    return env
