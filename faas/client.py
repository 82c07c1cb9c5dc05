"""A small HTTP client of the gateway's API, for the CLI."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from faas.errors import GatewayError

DEFAULT_GATEWAY = "http://127.0.0.1:8080"


def gateway_url(flag: str | None, stack_gateway: str | None = None) -> str:
    """--gateway, else OPENFAAS_URL, else the stack's provider.gateway, else the default."""
    url = flag or os.environ.get("OPENFAAS_URL") or stack_gateway or DEFAULT_GATEWAY
    return url.rstrip("/")


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Client:
    base: str
    timeout: float = 300.0

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
    ) -> Reply:
        req = urllib.request.Request(self.base + path, data=body, method=method)
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                reply = Reply(resp.status, resp.read(), dict(resp.headers.items()))
        except urllib.error.HTTPError as exc:
            reply = Reply(exc.code, exc.read(), dict(exc.headers.items()))
        except urllib.error.URLError as exc:
            raise GatewayError(0, f"cannot reach the gateway at {self.base}: {exc.reason}") from exc
        if reply.status not in ok:
            raise GatewayError(reply.status, reply.body.decode(errors="replace").strip())
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
