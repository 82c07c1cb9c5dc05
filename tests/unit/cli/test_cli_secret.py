"""Unit tests of `faas secret` and `faas version` (cli.secrets, cli.version) on a fake gateway."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cli import credentials, main
from faas import __version__
from faas.basicauth import BasicAuth
from tests.fakehttp import Handler as QuietHandler
from tests.fakehttp import reply, serving

INFO = {
    "provider": {
        "provider": "faas-oneshot",
        "orchestration": "docker",
        "version": {"release": "9.9.9", "sha": "", "commit_message": ""},
    },
    "version": {"release": "9.9.9", "sha": "", "commit_message": ""},
    "arch": "x86_64",
}


@dataclass
class FakeGateway:
    """The gateway's secrets API and /system/info, over values kept in a dict."""

    url: str = ""
    secrets: dict[str, bytes] = field(default_factory=dict)
    auth: str | None = None  # the Authorization header it wants, if any
    seen: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if path == "/system/info" and method == "GET":
            return 200, INFO
        if path != "/system/secrets":
            return 404, "no such route\n"
        if method == "GET":
            return 200, [{"name": n, "namespace": "openfaas-fn"} for n in sorted(self.secrets)]
        name = body["name"]
        if method == "DELETE":
            return (200, b"") if self.secrets.pop(name, None) is not None else (404, "missing\n")
        value = body["value"].encode() if "value" in body else base64.b64decode(body["rawValue"])
        if method == "POST" and name in self.secrets:
            return 409, f"secret {name} already exists\n"
        if method == "PUT" and name not in self.secrets:
            return 404, f"secret {name} not found\n"
        self.secrets[name] = value
        return (201 if method == "POST" else 200), b""


class Handler(QuietHandler):
    def handle_one(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        fake.seen.append((self.command, self.path, body))
        if fake.auth and self.headers.get("Authorization") != fake.auth:
            self.reply(401, "unauthorized\n")
            return
        self.reply(*fake.route(self.command, self.path, body))

    def reply(self, status: int, content: Any) -> None:
        reply(self, status, content)

    do_GET = do_POST = do_PUT = do_DELETE = handle_one


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with serving(Handler, lambda url: FakeGateway(url=url)) as fake:
        yield fake


def faas(gateway: FakeGateway, *argv: str) -> int:
    return main([*argv, "-g", gateway.url])


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one line the CLI wrote on stderr, checking it wrote nothing on stdout."""
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    return err


# faas secret create / update


def test_create_from_literal(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    assert faas(gateway, "secret", "create", "api-key", "--from-literal", "s3cret") == 0
    assert gateway.secrets == {"api-key": b"s3cret"}
    out, err = capsys.readouterr()
    assert out == "created secret api-key\n"
    assert "s3cret" not in out + err


def test_create_from_file_sends_binary_as_raw_value(
    gateway: FakeGateway, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    value = bytes(range(256))
    (tmp_path / "key.bin").write_bytes(value)
    assert faas(gateway, "secret", "create", "blob", "--from-file", str(tmp_path / "key.bin")) == 0
    assert gateway.secrets == {"blob": value}
    assert "rawValue" in (gateway.seen[-1][2] or {})


def test_create_from_stdin_drops_the_trailing_newline(
    gateway: FakeGateway, stdin: Callable[[bytes], None]
) -> None:
    stdin(b"from stdin\n")
    assert faas(gateway, "secret", "create", "piped") == 0
    assert gateway.secrets == {"piped": b"from stdin"}


def test_create_existing_says_to_update(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.secrets["api-key"] = b"old"
    assert faas(gateway, "secret", "create", "api-key", "--from-literal", "new") == 1
    assert error_line(capsys) == (
        "faas: secret api-key already exists: use faas secret update api-key\n"
    )
    assert gateway.secrets == {"api-key": b"old"}


def test_update(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    gateway.secrets["api-key"] = b"old"
    assert faas(gateway, "secret", "update", "api-key", "--from-literal", "new") == 0
    assert gateway.secrets == {"api-key": b"new"}
    assert capsys.readouterr().out == "updated secret api-key\n"


def test_update_missing(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    assert faas(gateway, "secret", "update", "nope", "--from-literal", "x") == 1
    assert "secret nope not found" in error_line(capsys)


def test_empty_value_is_refused_before_the_gateway(
    gateway: FakeGateway, stdin: Callable[[bytes], None], capsys: pytest.CaptureFixture[str]
) -> None:
    stdin(b"\n")
    assert faas(gateway, "secret", "create", "empty") == 1
    assert error_line(capsys) == "faas: the secret's value is empty\n"
    assert gateway.seen == []


def test_invalid_name_is_refused_before_the_gateway(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert faas(gateway, "secret", "create", "Bad_Name", "--from-literal", "x") == 1
    assert "invalid secret name 'Bad_Name'" in error_line(capsys)
    assert gateway.seen == []


def test_unreadable_file(
    gateway: FakeGateway, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing"
    assert faas(gateway, "secret", "create", "x", "--from-file", str(missing)) == 1
    assert error_line(capsys).startswith(f"faas: cannot read {missing}: ")


def test_literal_and_file_exclude_each_other(gateway: FakeGateway) -> None:
    assert faas(gateway, "secret", "create", "x", "--from-literal", "a", "--from-file", "b") == 2


# faas secret list / remove


def test_list_shows_names_only(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    gateway.secrets.update({"b-key": b"value-b", "a-key": b"value-a"})
    assert faas(gateway, "secret", "list") == 0
    assert capsys.readouterr().out == "Name\na-key\nb-key\n"


def test_remove(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    gateway.secrets["api-key"] = b"x"
    assert faas(gateway, "secret", "rm", "api-key") == 0
    assert gateway.secrets == {}
    assert capsys.readouterr().out == "removed secret api-key\n"


def test_remove_missing(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    assert faas(gateway, "secret", "remove", "nope") == 1
    assert "secret nope not found" in error_line(capsys)


def test_sends_stored_credentials(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    auth = BasicAuth("admin", "pw")
    gateway.auth = auth.header()
    assert faas(gateway, "secret", "list") == 1
    assert "unauthorized: run faas login" in error_line(capsys)
    credentials.save(gateway.url, auth)
    assert faas(gateway, "secret", "list") == 0


# faas version


def test_version_shows_the_gateway(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert faas(gateway, "version") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"faas CLI version {__version__}"
    assert "provider:      faas-oneshot" in out
    assert "orchestration: docker" in out
    assert "version:       9.9.9" in out


def test_version_without_a_gateway_is_no_error(capsys: pytest.CaptureFixture[str]) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    server.server_close()  # nothing listens on the port now
    assert main(["version", "-g", url]) == 0
    assert capsys.readouterr().out == (
        f"faas CLI version {__version__}\ngateway: not reachable ({url})\n"
    )


def test_version_with_refused_credentials(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.auth = "Basic nope"
    assert faas(gateway, "version") == 0
    assert "refused the credentials" in capsys.readouterr().out
