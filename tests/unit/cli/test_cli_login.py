"""Unit tests of `faas login`, `faas logout` and the answer to a 401, against a fake gateway."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cli import credentials, main
from faas.basicauth import BasicAuth

AUTH = BasicAuth("admin", "right")


class Handler(BaseHTTPRequestHandler):
    """/system/functions behind Basic auth; remembers the Authorization headers it saw."""

    server: Server

    def do_GET(self) -> None:
        self.server.seen.append(self.headers.get("Authorization"))
        if self.headers.get("Authorization") != AUTH.header():
            self.reply(401, b"unauthorized\n", {"WWW-Authenticate": 'Basic realm="Restricted"'})
        elif self.path == "/system/functions":
            functions = [{"name": "hello", "invocationCount": 2, "availableReplicas": 1}]
            self.reply(200, json.dumps(functions).encode(), {"Content-Type": "application/json"})
        else:
            self.reply(404, b"not found\n", {})

    do_POST = do_PUT = do_DELETE = do_GET

    def reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test's captured stderr for the CLI."""


class Server(ThreadingHTTPServer):
    seen: list[str | None]


@pytest.fixture
def gateway() -> Iterator[tuple[str, Server]]:
    server = Server(("127.0.0.1", 0), Handler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("OPENFAAS_URL", raising=False)
    return tmp_path


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))


def test_login_checks_and_stores_then_commands_send_the_credentials(
    gateway: tuple[str, Server], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, server = gateway
    stdin(monkeypatch, "right\n")
    assert main(["login", "--gateway", url, "--password-stdin"]) == 0
    assert url in capsys.readouterr().out
    assert credentials.load(url) == AUTH
    assert server.seen == [AUTH.header()]
    assert main(["list", "--gateway", url]) == 0
    assert "hello" in capsys.readouterr().out
    assert server.seen[-1] == AUTH.header()


def test_login_with_a_wrong_password_stores_nothing(
    gateway: tuple[str, Server], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = gateway
    assert main(["login", "-g", url, "-u", "admin", "--password", "wrong"]) == 1
    err = capsys.readouterr().err
    assert err == f"faas: the gateway at {url} refused user 'admin' with that password\n"
    assert credentials.load(url) is None
    assert not credentials.store_path().exists()


def test_login_needs_a_password(
    gateway: tuple[str, Server], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, server = gateway
    stdin(monkeypatch, "")
    assert main(["login", "-g", url]) == 1  # stdin is no terminal: no prompt
    assert "--password-stdin" in capsys.readouterr().err
    assert main(["login", "-g", url, "--password-stdin"]) == 1
    assert "empty" in capsys.readouterr().err
    assert server.seen == []


@pytest.mark.parametrize("argv", [["list"], ["describe", "hello"], ["calls"], ["remove", "x"]])
def test_a_401_is_one_line_telling_to_log_in(
    gateway: tuple[str, Server], capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    url, _ = gateway
    assert main([*argv, "--gateway", url]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"faas: unauthorized: run faas login --gateway {url}\n"


def test_an_invocation_refused_by_the_gateway_says_the_same(
    gateway: tuple[str, Server], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = gateway
    stdin(monkeypatch, "")
    assert main(["invoke", "hello", "--gateway", url]) == 1
    assert capsys.readouterr().err == f"faas: unauthorized: run faas login --gateway {url}\n"


def test_stored_credentials_that_are_wrong_now_say_to_log_in_again(
    gateway: tuple[str, Server], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = gateway
    credentials.save(url, BasicAuth("admin", "old"))
    assert main(["list", "--gateway", url]) == 1
    assert capsys.readouterr().err == f"faas: unauthorized: run faas login --gateway {url}\n"


def test_the_gateway_comes_from_openfaas_url(
    gateway: tuple[str, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, server = gateway
    monkeypatch.setenv("OPENFAAS_URL", url + "/")
    assert main(["login", "--password", "right"]) == 0
    assert credentials.load(url) == AUTH
    assert main(["list"]) == 0
    assert server.seen[-1] == AUTH.header()


def test_logout_forgets_the_credentials(
    gateway: tuple[str, Server], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = gateway
    credentials.save(url, AUTH)
    assert main(["logout", "-g", url]) == 0
    assert credentials.load(url) is None
    assert main(["logout", "-g", url]) == 1
    assert "no credentials" in capsys.readouterr().err
