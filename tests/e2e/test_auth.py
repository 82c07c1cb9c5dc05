"""HTTP Basic auth against real gateways: the management API, invocations, and the CLI's login."""

from __future__ import annotations

import re
import stat
import time
import urllib.parse
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import httpx
import pytest

from faas.basicauth import BasicAuth
from gateway.routes import routes
from tests.e2e.functions import fn
from tests.e2e.parts import Gateway, Nats, Parts, faas, wait_for_watchdog

AUTH = BasicAuth("admin", "e2e-Secret_123")
ECHO = fn("echo", "cat")


def refused(reply: httpx.Response) -> bool:
    return (
        reply.status_code == 401
        and reply.headers.get("WWW-Authenticate") == 'Basic realm="Restricted"'
    )


def system_routes() -> list[tuple[str, str]]:
    """Every (method, path) under /system/ the gateway serves, its parameters filled in."""
    found = []
    for route in routes():
        if route.path.startswith("/system/"):
            path = re.sub(r"{[^}]+}", "echo", route.path)
            found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


def platform(parts: Parts, *args: str) -> tuple[Nats, Gateway]:
    """NATS, a watchdog and a gateway that wants AUTH, with `echo` deployed."""
    nats = parts.nats()
    gateway = parts.gateway(nats, *args, auth=AUTH)
    parts.watchdog(nats, 2)
    wait_for_watchdog(gateway)
    with gateway.client() as http:
        assert http.post("/system/functions", json=ECHO).status_code == 202
    return nats, gateway


def wait_finished(http: httpx.Client, call_id: str, timeout: float = 60) -> dict[str, Any]:
    """The call's record once it has finished (a sync call's record is written just after)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = http.get(f"/system/calls/{call_id}")
        assert reply.status_code in (200, 404), reply.text
        if reply.status_code == 200 and reply.json()["state"] not in ("queued", "running"):
            return reply.json()  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"the call never finished: {reply.text}"
        time.sleep(0.1)


def send(url: str, method: str, path: str, headers: dict[str, str]) -> int:
    """The status of a request sent as is (httpx refuses `Bearer ` with its trailing space)."""
    parts = urllib.parse.urlsplit(url)
    connection = HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request(method, path, body=b"{}", headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_every_system_route_wants_the_credentials(parts: Parts) -> None:
    _, gateway = platform(parts)
    wrong = [("admin", "wrong"), ("root", AUTH.password)]
    with gateway.client(auth=None) as anonymous:
        for method, path in system_routes():
            assert refused(anonymous.request(method, path, json={})), (method, path)
            assert send(gateway.url, method, path, {"Authorization": "Bearer "}) == 401
            for credentials in wrong:
                assert refused(anonymous.request(method, path, auth=credentials)), (method, path)
        assert anonymous.get("/healthz").status_code == 200
        assert (
            anonymous.get("/system/functions", auth=(AUTH.user, AUTH.password)).status_code == 200
        )


def test_the_management_api_works_with_the_credentials(parts: Parts) -> None:
    _, gateway = platform(parts)
    with gateway.client() as http:
        assert http.get("/system/info").json()["provider"]["orchestration"] == "docker"
        assert http.put("/system/functions", json=ECHO).status_code == 202
        assert [f["name"] for f in http.get("/system/functions").json()] == ["echo"]
        assert http.get("/system/function/echo").json()["availableReplicas"] == 1
        called = http.post("/function/echo", content=b"hi")
        assert called.text == "hi"
        call_id = called.headers["X-Call-Id"]
        assert wait_finished(http, call_id)["state"] == "succeeded"
        calls = http.get("/system/calls", params={"function": "echo"}).json()
        assert [c["callId"] for c in calls] == [call_id]
        assert http.delete(f"/system/calls/{call_id}").status_code == 409  # finished already
        gone = http.request("DELETE", "/system/functions", json={"functionName": "echo"})
        assert gone.status_code == 200


def test_invocations_are_open_by_default(parts: Parts) -> None:
    _, gateway = platform(parts)
    with gateway.client(auth=None) as anonymous:
        assert anonymous.post("/function/echo", content=b"open").text == "open"
        queued = anonymous.post("/async-function/echo", content=b"open")
        assert queued.status_code == 202
    with gateway.client() as http:
        assert wait_finished(http, queued.headers["X-Call-Id"])["state"] == "succeeded"


def test_invoke_auth_guards_invocations(parts: Parts) -> None:
    _, gateway = platform(parts, "--invoke-auth")
    with gateway.client(auth=None) as anonymous:
        for path in ("/function/echo", "/function/echo/sub", "/async-function/echo"):
            assert refused(anonymous.post(path, content=b"x")), path
            assert refused(anonymous.post(path, content=b"x", auth=("admin", "wrong"))), path
        assert anonymous.get("/healthz").status_code == 200
    with gateway.client() as http:
        assert http.post("/function/echo", content=b"let in").text == "let in"
        queued = http.post("/async-function/echo", content=b"let in")
        assert queued.status_code == 202
        assert wait_finished(http, queued.headers["X-Call-Id"])["state"] == "succeeded"


def test_without_credentials_auth_is_off_even_for_an_empty_bearer_token(parts: Parts) -> None:
    gateway = parts.gateway(parts.nats())
    bearer = {"Authorization": "Bearer "}
    with gateway.client() as http:
        assert http.post("/system/functions", json=ECHO).status_code == 202
    assert send(gateway.url, "GET", "/system/functions", bearer) == 200
    assert send(gateway.url, "GET", "/system/function/echo", bearer) == 200
    assert send(gateway.url, "GET", "/system/info", bearer) == 200


def test_a_gateway_refuses_to_start_with_half_its_credentials(tmp_path: Path) -> None:
    (tmp_path / "basic-auth-user").write_text("admin")
    result = faas("gateway", "--port", "9", "--auth-dir", str(tmp_path))
    assert result.returncode == 1
    assert b"basic-auth-password" in result.stderr


@pytest.fixture
def config(tmp_path: Path) -> dict[str, str]:
    """The environment of a CLI whose credentials are kept in a fresh folder."""
    return {"XDG_CONFIG_HOME": str(tmp_path / "config")}


def test_cli_login_then_manage_functions(parts: Parts, config: dict[str, str]) -> None:
    _, gateway = platform(parts)
    url = ["--gateway", gateway.url]
    unauthorized = f"faas: unauthorized: run faas login --gateway {gateway.url}\n".encode()

    anonymous = faas("list", *url, env=config)
    assert anonymous.returncode == 1
    assert anonymous.stderr == unauthorized
    assert anonymous.stdout == b""

    wrong = faas("login", *url, "--password-stdin", stdin=b"wrong\n", env=config)
    assert wrong.returncode == 1
    assert b"refused" in wrong.stderr
    stored = Path(config["XDG_CONFIG_HOME"]) / "faas" / "credentials.json"
    assert not stored.exists()

    login = faas(
        "login",
        *url,
        "-u",
        "admin",
        "--password-stdin",
        stdin=AUTH.password.encode() + b"\n",
        env=config,
    )
    assert login.returncode == 0, login.stderr
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700

    deployed = faas("deploy", "-f", "stack.yml", *url, env=config)
    assert deployed.returncode == 0, deployed.stderr
    assert b"hello: deployed" in deployed.stdout
    listed = faas("list", env={**config, "OPENFAAS_URL": gateway.url})
    assert listed.returncode == 0, listed.stderr
    assert "hello" in listed.stdout.decode().split()
    described = faas("describe", "hello", *url, env=config)
    assert described.returncode == 0, described.stderr
    assert b"faas/hello:latest" in described.stdout
    invoked = faas("invoke", "hello", *url, stdin=b"auth", env=config)
    assert invoked.stdout == b"Hello, auth!\n"
    assert faas("calls", "hello", *url, env=config).returncode == 0

    assert faas("logout", *url, env=config).returncode == 0
    assert faas("describe", "hello", *url, env=config).stderr == unauthorized
