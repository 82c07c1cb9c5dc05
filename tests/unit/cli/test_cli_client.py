"""Unit tests of cli.client: requests, errors and streamed log lines, against a fake gateway."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from cli import main
from cli.client import Client
from cli.fields import MalformedAnswer
from faas.basicauth import BasicAuth
from faas.errors import GatewayError, Unauthorized
from tests.fakehttp import Handler as QuietHandler
from tests.fakehttp import reply, serving


@dataclass
class FakeGateway:
    """Answers set per method and path; remembers what it was sent."""

    url: str = ""
    answers: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    seen: list[tuple[str, str, str | None, bytes]] = field(default_factory=list)
    second_line: threading.Event = field(default_factory=threading.Event)


class Handler(QuietHandler):
    def handle_one(self) -> None:
        fake: FakeGateway = self.server.fake
        path = urllib.parse.urlsplit(self.path).path
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fake.seen.append((self.command, self.path, self.headers.get("Authorization"), body))
        if path == "/system/logs":
            self.stream_logs(fake)
            return
        status, content = fake.answers.get((self.command, path), (404, "no such route\n"))
        reply(self, status, content)

    def stream_logs(self, fake: FakeGateway) -> None:
        """One line, then the next only once the client has shown it took the first."""
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        self.wfile.write(b'{"text": "one"}\n')
        self.wfile.flush()
        if fake.second_line.wait(5):
            self.wfile.write(b'{"text": "two"}\n')

    do_GET = do_POST = do_PUT = do_DELETE = handle_one


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with serving(Handler, lambda url: FakeGateway(url=url)) as fake:
        yield fake


def test_the_client_closes_its_connections_when_left(gateway: FakeGateway) -> None:
    gateway.answers[("GET", "/system/functions")] = (200, [])
    with Client(gateway.url) as client:
        pool = client.http
        assert client.functions() == []
        assert client.functions() == []
        assert client.http is pool
    assert pool.is_closed
    with pytest.raises(RuntimeError, match="with block"):
        client.functions()


def test_every_request_sends_the_credentials(gateway: FakeGateway) -> None:
    auth = BasicAuth("admin", "pw")
    gateway.answers[("GET", "/system/functions")] = (200, [{"name": "hello"}])
    gateway.answers[("GET", "/function/hello")] = (200, "hi")
    with Client(gateway.url, auth=auth) as client:
        assert [f.name for f in client.functions()] == ["hello"]
        assert client.invoke("hello", b"", "GET").content == b"hi"
    assert [seen[2] for seen in gateway.seen] == [auth.header(), auth.header()]


def test_deploy_updates_else_creates(gateway: FakeGateway) -> None:
    gateway.answers[("POST", "/system/functions")] = (202, b"")
    with Client(gateway.url) as client:
        assert client.deploy({"service": "hello", "image": "img"}) == "deployed"
        gateway.answers[("PUT", "/system/functions")] = (202, b"")
        assert client.deploy({"service": "hello", "image": "img"}) == "updated"
    assert [(s[0], json.loads(s[3])["service"]) for s in gateway.seen] == [
        ("PUT", "hello"),
        ("POST", "hello"),
        ("PUT", "hello"),
    ]


def test_a_status_not_expected_is_a_gateway_error_of_one_line(gateway: FakeGateway) -> None:
    gateway.answers[("GET", "/system/functions")] = (500, "it broke\n  badly\n")
    with Client(gateway.url) as client, pytest.raises(GatewayError) as caught:
        client.functions()
    assert (caught.value.status, caught.value.message) == (500, "it broke badly")


def test_a_401_is_unauthorized_even_from_a_function(gateway: FakeGateway) -> None:
    gateway.answers[("POST", "/function/hello")] = (401, "unauthorized\n")
    with Client(gateway.url) as client, pytest.raises(Unauthorized):
        client.invoke("hello", b"")


def test_a_function_answer_of_any_status_is_returned(gateway: FakeGateway) -> None:
    gateway.answers[("POST", "/function/hello")] = (500, "oops\n")
    with Client(gateway.url) as client:
        answer = client.invoke("hello", b"body", query="x=1")
    assert (answer.status_code, answer.content) == (500, b"oops\n")
    assert gateway.seen[0][1] == "/function/hello?x=1"


def test_an_unreachable_gateway_says_so(free_port: int) -> None:
    url = f"http://127.0.0.1:{free_port}"
    with Client(url) as client, pytest.raises(GatewayError) as caught:
        client.functions()
    assert caught.value.status == 0
    assert caught.value.message.startswith(f"cannot reach the gateway at {url}: ")


def test_an_answer_that_is_not_json_is_malformed(gateway: FakeGateway) -> None:
    gateway.answers[("GET", "/system/functions")] = (200, "<html>a proxy</html>")
    with Client(gateway.url) as client, pytest.raises(MalformedAnswer) as caught:
        client.functions()
    assert str(caught.value).startswith(
        "the gateway sent a malformed answer to GET /system/functions: not JSON ("
    )


def test_a_malformed_answer_is_one_error_line(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.answers[("GET", "/system/functions")] = (200, [{"name": "a"}, {"name": 2}])
    assert main(["list", "-g", gateway.url]) == 1
    assert capsys.readouterr() == (
        "",
        "faas: the gateway sent a malformed function status: 'name' is a number, not a string\n",
    )


def test_log_lines_come_as_soon_as_each_is_whole(gateway: FakeGateway) -> None:
    with Client(gateway.url) as client:
        lines = client.logs("hello", follow=True)
        assert next(lines).text == "one"
        gateway.second_line.set()  # sent only now: the first came alone
        assert [entry.text for entry in lines] == ["two"]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(gateway.seen[0][1]).query))
    assert query == {"name": "hello", "tail": "0", "follow": "true"}


def test_secrets_are_names_and_removing_one_takes_a_200(gateway: FakeGateway) -> None:
    gateway.answers[("GET", "/system/secrets")] = (200, [{"name": "a", "namespace": "x"}])
    gateway.answers[("DELETE", "/system/secrets")] = (200, b"")
    with Client(gateway.url) as client:
        assert client.secrets() == ["a"]
        client.remove_secret("a")
    assert json.loads(gateway.seen[-1][3]) == {"name": "a"}
