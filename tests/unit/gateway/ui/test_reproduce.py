"""Unit tests of gateway.ui.reproduce: the commands that run a call again."""

from __future__ import annotations

import base64
import shlex

from faas.records import AttemptRecord, CallRecord, RequestRecord
from gateway.ui.reproduce import curl, docker_run, faas_run


def request(body: bytes = b"it's me", kept: bool = True, **extra: object) -> RequestRecord:
    return RequestRecord(
        method="PUT",
        path="/a/b",
        query="x=1",
        headers=[["Host", "gw"], ["Content-Type", "text/plain"], ["X-Trace", "t 1"]],
        body=base64.b64encode(body).decode() if kept else "",
        bodyBytes=len(body),
        bodyKept=kept,
        **extra,
    )


def test_curl_sends_the_same_request_to_the_same_function() -> None:
    record = CallRecord("c", "hello", kind="sync", request=request())
    words = shlex.split(curl(record, "http://gw:8080/") or "")
    assert words[:4] == ["curl", "-sS", "-X", "PUT"]
    assert words[-1] == "http://gw:8080/function/hello/a/b?x=1"
    assert words[4:6] == ["-H", "Content-Type: text/plain"]
    assert words[6:8] == ["-H", "X-Trace: t 1"]
    assert "Host: gw" not in words  # curl sets its own
    assert words[words.index("--data-binary") + 1] == "it's me"


def test_curl_of_an_async_call_goes_to_async_function_with_its_callback() -> None:
    record = CallRecord("c", "hello", kind="async", request=request(), callbackUrl="http://cb/x")
    words = shlex.split(curl(record, "http://gw") or "")
    assert words[-1].startswith("http://gw/async-function/hello/a/b")
    assert "X-Callback-Url: http://cb/x" in words


def test_curl_without_a_kept_body_sends_none_and_none_without_a_request() -> None:
    record = CallRecord("c", "hello", request=request(b"x" * 10, kept=False))
    assert "--data-binary" not in shlex.split(curl(record, "http://gw") or "")
    assert curl(CallRecord("c", "hello"), "http://gw") is None


def test_docker_run_uses_the_exact_image_and_the_classic_watchdog_variables() -> None:
    ran = AttemptRecord(1, image="faas/hello:latest", imageId="sha256:abc")
    record = CallRecord("c", "hello", request=request(), attemptLog=[ran])
    command = docker_run(record) or ""
    pipe, _, run = command.partition(" | ")
    assert shlex.split(pipe) == ["printf", "%s", "it's me"]
    words = shlex.split(run)
    assert words[:4] == ["docker", "run", "-i", "--rm"] and words[-1] == "sha256:abc"
    for variable in (
        "Http_Content_Type=text/plain",
        "Http_X_Trace=t 1",
        "Http_Method=PUT",
        "Http_Path=/a/b",
        "Http_Query=x=1",
    ):
        assert variable in words
    assert faas_run(record) == "faas run sha256:abc"


def test_no_image_no_command() -> None:
    assert docker_run(CallRecord("c", "hello")) is None
    assert faas_run(CallRecord("c", "hello")) is None
