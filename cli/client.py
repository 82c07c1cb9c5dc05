"""A small HTTP client of the gateway's API, for the CLI."""

from __future__ import annotations

import base64
import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cli import credentials
from faas.basicauth import BasicAuth
from faas.errors import GatewayError, Unauthorized
from faas.settings import DEFAULT_HOST, DEFAULT_PORT

DEFAULT_GATEWAY = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
BLOCK = 64 * 1024  # bytes read at once from a streamed answer


def gateway_url(flag: str | None, stack_gateway: str | None = None) -> str:
    """--gateway, else OPENFAAS_URL, else the stack's provider.gateway, else the default."""
    url = flag or os.environ.get("OPENFAAS_URL") or stack_gateway or DEFAULT_GATEWAY
    return url.rstrip("/")


def client_for(url: str) -> Client:
    """A client of the gateway that sends the credentials `faas login` stored for it."""
    return Client(url, auth=credentials.load(url))


def gateway_client(flag: str | None) -> Client:
    """The client of the gateway a command names (see gateway_url), with its credentials."""
    return client_for(gateway_url(flag))


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """A header's value, looked up regardless of case."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass
class Client:
    base: str
    timeout: float = 300.0
    auth: BasicAuth | None = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
    ) -> Reply:
        req = self._prepare(method, path, body, headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                reply = Reply(resp.status, resp.read(), dict(resp.headers.items()))
        except urllib.error.HTTPError as exc:
            reply = Reply(exc.code, exc.read(), dict(exc.headers.items()))
        except urllib.error.URLError as exc:
            raise self._unreachable(exc) from exc
        return self._check(reply, ok)

    def _prepare(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> urllib.request.Request:
        req = urllib.request.Request(self.base + path, data=body, method=method)
        if self.auth:
            req.add_header("Authorization", self.auth.header())
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        return req

    def _unreachable(self, exc: urllib.error.URLError) -> GatewayError:
        return GatewayError(0, f"cannot reach the gateway at {self.base}: {exc.reason}")

    def _check(self, reply: Reply, ok: tuple[int, ...]) -> Reply:
        if reply.status == 401:  # only the gateway answers 401: functions cannot
            raise Unauthorized(self.base)
        if reply.status not in ok:
            raise GatewayError(reply.status, _one_line(reply.body))
        return reply

    def send_json(self, method: str, path: str, data: Any) -> Reply:
        body = json.dumps(data).encode()
        return self.request(method, path, body, {"Content-Type": "application/json"})

    def functions(self) -> list[dict[str, Any]]:
        return self.request("GET", "/system/functions").json()  # type: ignore[no-any-return]

    def describe(self, name: str) -> dict[str, Any]:
        return self.request("GET", f"/system/function/{name}").json()  # type: ignore[no-any-return]

    def deploy(self, deployment: dict[str, Any]) -> str:
        """Update the function, or create it when it does not exist (as faas-cli does)."""
        try:
            self.send_json("PUT", "/system/functions", deployment)
            return "updated"
        except GatewayError as exc:
            if exc.status != 404:
                raise
        self.send_json("POST", "/system/functions", deployment)
        return "deployed"

    def remove(self, name: str) -> None:
        self.send_json("DELETE", "/system/functions", {"functionName": name})

    def invoke(
        self,
        name: str,
        body: bytes,
        method: str = "POST",
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> Reply:
        path = f"/function/{name}" + (f"?{query}" if query else "")
        return self.request(method, path, body, headers, ok=tuple(range(100, 600)))

    def invoke_async(
        self,
        name: str,
        body: bytes,
        method: str = "POST",
        headers: dict[str, str] | None = None,
        query: str = "",
        callback: str | None = None,
        call_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> str:
        """Queue a call of the function and return its call id."""
        extra = {
            "X-Callback-Url": callback,
            "X-Call-Id": call_id,
            "X-Idempotency-Key": idempotency_key,
        }
        headers = {**(headers or {}), **{k: v for k, v in extra.items() if v is not None}}
        path = f"/async-function/{_quote(name)}" + (f"?{query}" if query else "")
        reply = self.request(method, path, body, headers, ok=(200, 202))
        found = reply.header("X-Call-Id")
        if not found:
            raise GatewayError(reply.status, "the gateway queued the call but sent no X-Call-Id")
        return found

    def run_job(self, job: dict[str, Any]) -> str:
        """Queue a one-shot job (`POST /system/jobs`) and return its call id."""
        reply = self.send_json("POST", "/system/jobs", job)
        return str(reply.json()["callId"])

    def info(self) -> dict[str, Any]:
        """The gateway's provider and version (`/system/info`)."""
        return self.request("GET", "/system/info", ok=(200,)).json()  # type: ignore[no-any-return]

    def secrets(self) -> list[str]:
        """The names of the secrets; the gateway never sends their values."""
        found = self.request("GET", "/system/secrets", ok=(200,)).json()
        return [str(s["name"]) for s in found]

    def create_secret(self, name: str, value: bytes) -> None:
        self.send_json("POST", "/system/secrets", _secret(name, value))

    def update_secret(self, name: str, value: bytes) -> None:
        self.send_json("PUT", "/system/secrets", _secret(name, value))

    def remove_secret(self, name: str) -> None:
        self.send_json("DELETE", "/system/secrets", {"name": name})

    def call(self, call_id: str) -> dict[str, Any]:
        return self.request("GET", f"/system/calls/{_quote(call_id)}").json()  # type: ignore[no-any-return]

    def calls(self, function: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The latest calls, newest first; only the function's when one is named."""
        params = ({"function": function} if function else {}) | {"limit": str(limit)}
        path = "/system/calls?" + urllib.parse.urlencode(params)
        return self.request("GET", path).json()  # type: ignore[no-any-return]

    def schedules(self) -> list[dict[str, Any]]:
        return self.request("GET", "/system/schedules").json()  # type: ignore[no-any-return]

    def cancel(self, call_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/system/calls/{_quote(call_id)}").json()  # type: ignore[no-any-return]

    def logs(
        self,
        name: str,
        tail: int = 0,
        since: str | None = None,
        follow: bool = False,
        instance: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The function's log entries (one call's, given its id), each as the gateway sends it."""
        params = {"name": name, "tail": str(tail), "follow": "true" if follow else "false"}
        extra = {"since": since, "instance": instance}
        path = "/system/logs?" + urllib.parse.urlencode(
            params | {k: v for k, v in extra.items() if v}
        )
        req = self._prepare("GET", path, headers={"Accept": "application/x-ndjson"})
        try:
            # following, the gateway may be silent for long: no read timeout then
            resp = urllib.request.urlopen(req, timeout=None if follow else self.timeout)
        except urllib.error.HTTPError as exc:
            self._check(Reply(exc.code, exc.read(), dict(exc.headers.items())), (200,))
            raise
        except urllib.error.URLError as exc:
            raise self._unreachable(exc) from exc
        with resp:
            for line in _lines(resp):
                if line.strip():
                    yield json.loads(line)


def _lines(resp: http.client.HTTPResponse) -> Iterator[bytes]:
    """The answer's lines, each as soon as it is whole; read in blocks, as lines may be many."""
    pending = b""
    while block := resp.read1(BLOCK):
        *whole, pending = (pending + block).split(b"\n")
        yield from whole
    if pending:
        yield pending


def _secret(name: str, value: bytes) -> dict[str, str]:
    """An OpenFaaS Secret body: the value as text when it is UTF-8, else as base64."""
    try:
        return {"name": name, "value": value.decode()}
    except UnicodeDecodeError:
        return {"name": name, "rawValue": base64.b64encode(value).decode()}


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _one_line(body: bytes) -> str:
    return " ".join(body.decode(errors="replace").split())
