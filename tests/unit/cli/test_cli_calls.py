"""Unit tests of the CLI's async call commands (cli.invoke, cli.calls) against a fake gateway."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cli import main
from tests.fakehttp import Handler as QuietHandler
from tests.fakehttp import reply, serving

FINISHED = {"succeeded", "failed", "timed_out", "given_up", "cancelled"}


def record(call_id: str, **changes: Any) -> dict[str, Any]:
    """A call record as the gateway sends it; a finished call unless changed."""
    return {
        "callId": call_id,
        "function": "hello",
        "kind": "async",
        "state": "succeeded",
        "attempts": 1,
        "maxAttempts": 3,
        "exitCode": 0,
        "status": 200,
        "message": "",
        "createdAt": "2026-11-21T12:00:00.123Z",
        "startedAt": "2026-11-21T12:00:00.200Z",
        "finishedAt": "2026-11-21T12:00:00.610Z",
        "durationSeconds": 0.41,
        "output": "Hello, world!\n",
        "outputTruncated": False,
        "stderr": "",
        "watchdog": "vm",
        "callbackUrl": "http://127.0.0.1:9/done",
        "callback": {
            "state": "delivered",
            "attempts": 1,
            "status": 200,
            "error": "",
            "deliveredAt": "2026-11-21T12:00:00.700Z",
        },
    } | changes


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeGateway:
    """The gateway's async call routes, over records kept newest first."""

    url: str = ""
    functions: set[str] = field(default_factory=lambda: {"hello"})
    records: list[dict[str, Any]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    def find(self, call_id: str) -> dict[str, Any] | None:
        return next((r for r in self.records if r["callId"] == call_id), None)

    def queue(self, name: str, headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if name not in self.functions:
            return 404, f"function {name} not found\n", {}
        if not headers.get("X-Callback-Url", "http://").startswith("http"):
            return 400, "bad callback URL\n", {}
        call_id = headers.get("X-Call-Id") or f"call-{len(self.records) + 1}"
        self.records.insert(0, record(call_id, function=name, state="queued"))
        return 202, b"", {"X-Call-Id": call_id}

    def list(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        wanted = [r for r in self.records if r["function"] == query.get("function", r["function"])]
        return 200, wanted[: int(query.get("limit", "20"))], {}

    def get(self, call_id: str) -> tuple[int, Any, dict[str, str]]:
        found = self.find(call_id)
        return (200, found, {}) if found else (404, f"call {call_id} not found\n", {})

    def cancel(self, call_id: str) -> tuple[int, Any, dict[str, str]]:
        found = self.find(call_id)
        if found is None:
            return 404, f"call {call_id} not found\n", {}
        if found["state"] in FINISHED:
            return 409, f"call {call_id} already finished ({found['state']})\n", {}
        found["state"] = "cancelled"
        return 202, found, {}

    def retry(self, call_id: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        found = self.find(call_id)
        if found is None:
            return 404, f"call {call_id} not found\n", {}
        given = json.loads(body)
        if "bodyBase64" not in given and not found["request"]["bodyKept"]:
            return 409, f"the body of call {call_id} was not kept\n", {}
        sent = given.get("bodyBase64", found["request"]["body"])
        new = record(
            f"call-{len(self.records) + 1}",
            state="queued",
            retryOf=call_id,
            request=found["request"] | {"body": sent, "bodyKept": True},
        )
        self.records.insert(0, new)
        return 202, new, {"X-Call-Id": new["callId"]}

    def route(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        parts = [urllib.parse.unquote(p) for p in seen.path.strip("/").split("/")]
        if seen.method == "POST" and parts[0] == "async-function" and len(parts) == 2:
            return self.queue(parts[1], seen.headers)
        if parts[:2] != ["system", "calls"]:
            return 404, "no such route\n", {}
        if len(parts) == 2 and seen.method == "GET":
            return self.list(seen.query)
        if len(parts) == 3 and seen.method == "GET":
            return self.get(parts[2])
        if len(parts) == 3 and seen.method == "DELETE":
            return self.cancel(parts[2])
        if len(parts) == 4 and parts[3] == "retry" and seen.method == "POST":
            return self.retry(parts[2], seen.body)
        return 405, "method not allowed\n", {}


class Handler(QuietHandler):
    def handle_one(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        seen = Seen(
            self.command,
            url.path,
            dict(urllib.parse.parse_qsl(url.query)),
            dict(self.headers.items()),
            self.rfile.read(length),
        )
        self.server.fake.seen.append(seen)
        status, content, headers = self.server.fake.route(seen)
        reply(self, status, content, headers)

    do_GET = do_POST = do_DELETE = handle_one


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with serving(Handler, lambda url: FakeGateway(url=url)) as fake:
        yield fake


def faas(gateway: FakeGateway, *argv: str) -> int:
    return main([*argv, "-g", gateway.url])


def fields(text: str) -> dict[str, str]:
    """`key: value` lines as a dict, up to the first blank line."""
    lines = text.split("\n\n")[0].splitlines()
    return dict((k, v.strip()) for k, _, v in (line.partition(":") for line in lines))


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one line the CLI wrote on stderr, checking it wrote nothing on stdout."""
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    return err


# faas invoke --async


def test_invoke_async_sends_the_headers_and_prints_the_call_id(
    gateway: FakeGateway, stdin: Callable[[bytes], None], capsys: pytest.CaptureFixture[str]
) -> None:
    stdin(b'{"name": "world"}')
    argv = ["--callback", "http://cb:9/done", "--call-id", "c-42", "--idempotency-key", "k-1"]
    code = faas(gateway, "invoke", "hello", "--async", *argv, "-H", "X-Trace=t1")
    assert code == 0
    assert capsys.readouterr() == ("c-42\n", "")
    [seen] = gateway.seen
    assert (seen.method, seen.path, seen.body) == (
        "POST",
        "/async-function/hello",
        b'{"name": "world"}',
    )
    assert seen.headers["X-Callback-Url"] == "http://cb:9/done"
    assert seen.headers["X-Call-Id"] == "c-42"
    assert seen.headers["X-Idempotency-Key"] == "k-1"
    assert seen.headers["X-Trace"] == "t1"
    assert gateway.find("c-42") is not None


def test_invoke_async_sends_no_optional_headers_by_default(
    gateway: FakeGateway, stdin: Callable[[bytes], None], capsys: pytest.CaptureFixture[str]
) -> None:
    assert faas(gateway, "invoke", "hello", "--async", "--query", "x=1") == 0
    assert capsys.readouterr().out == "call-1\n"
    [seen] = gateway.seen
    assert seen.query == {"x": "1"}
    assert seen.body == b""
    assert not {"X-Callback-Url", "X-Call-Id", "X-Idempotency-Key"} & set(seen.headers)


def test_invoke_async_of_an_unknown_function_is_one_error_line(
    gateway: FakeGateway, stdin: Callable[[bytes], None], capsys: pytest.CaptureFixture[str]
) -> None:
    assert faas(gateway, "invoke", "nope", "--async") == 1
    assert error_line(capsys) == "faas: 404: function nope not found\n"


def test_invoke_async_with_a_bad_callback_is_one_error_line(
    gateway: FakeGateway, stdin: Callable[[bytes], None], capsys: pytest.CaptureFixture[str]
) -> None:
    assert faas(gateway, "invoke", "hello", "--async", "--callback", "ftp://x") == 1
    assert error_line(capsys) == "faas: 400: bad callback URL\n"


@pytest.mark.parametrize(
    "flag", [["--callback", "http://cb"], ["--call-id", "c"], ["--idempotency-key", "k"]]
)
def test_async_flags_need_async(
    gateway: FakeGateway,
    stdin: Callable[[bytes], None],
    capsys: pytest.CaptureFixture[str],
    flag: list[str],
) -> None:
    assert faas(gateway, "invoke", "hello", *flag) == 1
    assert error_line(capsys) == f"faas: {flag[0]} needs --async\n"
    assert gateway.seen == []


# faas calls


def test_calls_is_a_table_in_the_gateway_order(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.records = [
        record("c-b", state="queued", attempts=0, status=None, durationSeconds=None),
        record("c-c", function="other-function", state="failed", status=500),
        record("c-a", durationSeconds=12.3456),
    ]
    assert faas(gateway, "calls") == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == [
        "Call",
        "Function",
        "State",
        "Attempts",
        "Status",
        "Created",
        "Duration",
    ]
    assert [line.split() for line in lines[1:]] == [
        ["c-b", "hello", "queued", "0/3", "-", "2026-11-21T12:00:00.123Z", "-"],
        ["c-c", "other-function", "failed", "1/3", "500", "2026-11-21T12:00:00.123Z", "0.41s"],
        ["c-a", "hello", "succeeded", "1/3", "200", "2026-11-21T12:00:00.123Z", "12.35s"],
    ]
    assert err == ""
    assert gateway.seen[0].query == {"limit": "20"}


def test_calls_of_one_function_with_a_limit(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.records = [record(f"c-{i}", function="hello" if i % 2 else "x") for i in range(9)]
    assert faas(gateway, "calls", "hello", "--limit", "2") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["c-1", "c-3"]
    assert gateway.seen[0].query == {"function": "hello", "limit": "2"}


def test_calls_without_calls_is_the_header(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert faas(gateway, "calls") == 0
    assert capsys.readouterr().out == "Call  Function  State  Attempts  Status  Created  Duration\n"


@pytest.mark.parametrize("limit", ["0", "-1", "many"])
def test_calls_refuses_a_bad_limit(capsys: pytest.CaptureFixture[str], limit: str) -> None:
    assert main(["calls", "--limit", limit]) == 2
    assert "--limit" in capsys.readouterr().err


# faas call


def test_call_shows_the_record(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    gateway.records = [record("c-1")]
    assert faas(gateway, "call", "c-1") == 0
    out, err = capsys.readouterr()
    assert fields(out) == {
        "Call": "c-1",
        "Function": "hello",
        "Kind": "async",
        "State": "succeeded",
        "Attempts": "1/3",
        "Exit code": "0",
        "Status": "200",
        "Message": "-",
        "Created": "2026-11-21T12:00:00.123Z",
        "Started": "2026-11-21T12:00:00.200Z",
        "Finished": "2026-11-21T12:00:00.610Z",
        "Duration": "0.41s",
        "Watchdog": "vm",
        "Retry of": "-",
        "Request": "-",
        "Callback URL": "http://127.0.0.1:9/done",
        "Callback state": "delivered",
        "Callback attempts": "1",
        "Callback status": "200",
        "Callback error": "-",
    }
    assert "Hello, world!" not in out
    assert err == ""
    assert gateway.seen[0].path == "/system/calls/c-1"


def test_call_values_line_up(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    gateway.records = [record("c-1")]
    assert faas(gateway, "call", "c-1") == 0
    lines = capsys.readouterr().out.splitlines()
    starts = {len(line) - len(line.split(":", 1)[1].lstrip()) for line in lines}
    assert starts == {len("Callback attempts: ")}


def test_call_of_a_queued_call_shows_dashes(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = dict.fromkeys(["exitCode", "status", "startedAt", "finishedAt", "durationSeconds"])
    pending = {"state": "none", "attempts": 0, "status": None, "error": "", "deliveredAt": None}
    gateway.records = [
        record("c-1", state="queued", attempts=0, callbackUrl=None, callback=pending) | unknown
    ]
    assert faas(gateway, "call", "c-1") == 0
    shown = fields(capsys.readouterr().out)
    assert shown["State"] == "queued"
    assert shown["Attempts"] == "0/3"
    for name in ("Exit code", "Status", "Started", "Finished", "Duration", "Callback URL"):
        assert shown[name] == "-", name
    assert (shown["Callback state"], shown["Callback status"]) == ("none", "-")


def test_call_with_output_prints_it_after_a_blank_line(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.records = [record("c-1", output="line one\nline two\n")]
    assert faas(gateway, "call", "c-1", "--output") == 0
    out, err = capsys.readouterr()
    head, blank, output = out.partition("\n\n")
    assert blank
    assert fields(head)["Call"] == "c-1"
    assert output == "line one\nline two\n"
    assert err == ""


def test_call_with_truncated_output_says_so_on_stderr(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.records = [record("c-1", output="abc", outputTruncated=True)]
    assert faas(gateway, "call", "c-1", "--output") == 0
    out, err = capsys.readouterr()
    assert out.endswith("\n\nabc")
    assert "truncated" in err


def test_call_shows_stderr_indented(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.records = [record("c-1", state="failed", exitCode=2, stderr="oops\nat line 3\n")]
    assert faas(gateway, "call", "c-1", "--output") == 0
    out = capsys.readouterr().out
    assert "\nStderr:\n    oops\n    at line 3\n\nHello, world!\n" in out
    assert fields(out)["Exit code"] == "2"


def test_call_without_stderr_has_no_stderr_block(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.records = [record("c-1")]
    assert faas(gateway, "call", "c-1") == 0
    assert "Stderr" not in capsys.readouterr().out


def test_call_of_an_unknown_call_is_one_error_line(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert faas(gateway, "call", "nope") == 1
    assert error_line(capsys) == "faas: 404: call nope not found\n"


def test_call_id_is_quoted_in_the_path(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.records = [record("a/b?c")]
    assert faas(gateway, "call", "a/b?c") == 0
    assert gateway.seen[0].path == "/system/calls/a%2Fb%3Fc"
    assert fields(capsys.readouterr().out)["Call"] == "a/b?c"


# faas cancel


def test_cancel(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    gateway.records = [record("c-1", state="running")]
    assert faas(gateway, "cancel", "c-1") == 0
    assert capsys.readouterr() == ("cancelled c-1\n", "")
    assert (gateway.seen[0].method, gateway.seen[0].path) == ("DELETE", "/system/calls/c-1")
    assert gateway.records[0]["state"] == "cancelled"


def test_cancel_of_a_finished_call_is_one_error_line(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.records = [record("c-1")]
    assert faas(gateway, "cancel", "c-1") == 1
    assert error_line(capsys) == "faas: 409: call c-1 already finished (succeeded)\n"
    assert gateway.records[0]["state"] == "succeeded"


def test_cancel_of_an_unknown_call_is_one_error_line(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert faas(gateway, "cancel", "nope") == 1
    assert error_line(capsys) == "faas: 404: call nope not found\n"


# faas retry

REQUEST = {
    "method": "PUT",
    "path": "/items",
    "query": "a=1",
    "headers": [["content-type", "text/plain"]],
    "body": base64.b64encode(b"first").decode(),
    "bodyBytes": 5,
    "bodyKept": True,
}


def test_retry_sends_no_body_for_the_same_and_prints_the_new_call_id(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.records = [record("c-1", state="failed", request=REQUEST)]
    assert faas(gateway, "retry", "c-1") == 0
    assert capsys.readouterr() == ("call-2\n", "")
    [seen] = gateway.seen
    assert (seen.method, seen.path, json.loads(seen.body)) == (
        "POST",
        "/system/calls/c-1/retry",
        {},
    )
    assert gateway.find("call-2") is not None


@pytest.mark.parametrize("how", ["--body", "--body-file"])
def test_retry_with_an_edited_body_sends_its_bytes(
    gateway: FakeGateway,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    how: str,
) -> None:
    gateway.records = [record("c-1", request=REQUEST)]
    (given := tmp_path / "body").write_bytes("héllo".encode())
    value = "héllo" if how == "--body" else str(given)
    assert faas(gateway, "retry", "c-1", how, value) == 0
    assert capsys.readouterr().out == "call-2\n"
    sent = json.loads(gateway.seen[0].body)
    assert base64.b64decode(sent["bodyBase64"]) == "héllo".encode()


def test_retry_with_both_bodies_is_refused(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (given := tmp_path / "body").write_bytes(b"x")
    assert faas(gateway, "retry", "c-1", "--body", "x", "--body-file", str(given)) == 2
    assert "exclude each other" in capsys.readouterr().err
    assert gateway.seen == []


def test_retry_of_a_call_whose_body_was_not_kept_is_one_error_line(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.records = [record("c-1", request=REQUEST | {"body": "", "bodyKept": False})]
    assert faas(gateway, "retry", "c-1") == 1
    assert error_line(capsys) == "faas: 409: the body of call c-1 was not kept\n"


def test_call_shows_its_request_and_the_call_it_retries(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.records = [record("c-2", retryOf="c-1", request=REQUEST | {"bodyKept": False})]
    assert faas(gateway, "call", "c-2") == 0
    shown = fields(capsys.readouterr().out)
    assert (shown["Retry of"], shown["Request"]) == ("c-1", "PUT /items?a=1, 5 bytes, not kept")
