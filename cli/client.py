"""The CLI's client of the gateway's HTTP API, over one httpx connection pool."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx

from cli import credentials, records
from cli.fields import MalformedAnswer, listing
from cli.records import FunctionStatus, GatewayInfo, ScheduleDetail, ScheduleRow
from faas.basicauth import BasicAuth
from faas.errors import GatewayError, Unauthorized
from faas.records import CallRecord
from faas.settings import DEFAULT_HOST, DEFAULT_PORT

DEFAULT_GATEWAY = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
DEFAULT_TIMEOUT = 300.0  # seconds; a synchronous call may run that long
SUCCESS = (200, 201, 202, 204)
ANY_STATUS = tuple(range(100, 600))  # a function's own answer, whatever it is
NDJSON = "application/x-ndjson"
# errors before a request is sent: nothing there, or no URL one can send to
UNREACHABLE = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.UnsupportedProtocol,
    httpx.InvalidURL,
)


def gateway_url(flag: str | None, stack_gateway: str | None = None) -> str:
    """--gateway, else OPENFAAS_URL, else the stack's provider.gateway, else the default."""
    url = flag or os.environ.get("OPENFAAS_URL") or stack_gateway or DEFAULT_GATEWAY
    return url.rstrip("/")


def client_for(url: str, timeout: float = DEFAULT_TIMEOUT) -> Client:
    """A client of the gateway that sends the credentials `faas login` stored for it."""
    return Client(url, timeout, credentials.load(url))


def gateway_client(flag: str | None) -> Client:
    """The client of the gateway a command names (see gateway_url), with its credentials."""
    return client_for(gateway_url(flag))


class Client:
    """The gateway's API, used in a `with` block: its connections open there, and close after."""

    def __init__(
        self, base: str, timeout: float = DEFAULT_TIMEOUT, auth: BasicAuth | None = None
    ) -> None:
        self.base = base
        self.timeout = timeout
        self.auth = auth
        self._http: httpx.Client | None = None

    def __enter__(self) -> Client:
        if self._http is not None:
            raise RuntimeError("the client is open already")
        headers = {"Authorization": self.auth.header()} if self.auth else {}
        # redirects followed, as urllib did; httpx drops the credentials on one to elsewhere
        self._http = httpx.Client(headers=headers, timeout=self.timeout, follow_redirects=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    @property
    def http(self) -> httpx.Client:
        """The connection pool, shared by every request of the `with` block."""
        if self._http is None:
            raise RuntimeError("use the client in a with block: its connections open there")
        return self._http

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = SUCCESS,
    ) -> httpx.Response:
        with self._translated():
            reply = self.http.request(method, self.base + path, content=body, headers=headers)
        return self._check(reply, ok)

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        """httpx's errors as one of ours, which the CLI shows as one line."""
        try:
            yield
        except UNREACHABLE as exc:
            message = f"cannot reach the gateway at {self.base}: {_reason(exc)}"
            raise GatewayError(0, message) from exc
        except (httpx.HTTPError, httpx.StreamError) as exc:
            message = f"the connection to the gateway at {self.base} failed: {_reason(exc)}"
            raise GatewayError(0, message) from exc

    def _check(self, reply: httpx.Response, ok: tuple[int, ...]) -> httpx.Response:
        if reply.status_code == 401:  # only the gateway answers 401: functions cannot
            raise Unauthorized(self.base)
        if reply.status_code not in ok:
            raise GatewayError(reply.status_code, _one_line(reply.content))
        return reply

    def _json(self, method: str, path: str, ok: tuple[int, ...] = SUCCESS) -> Any:
        return _decoded(self.request(method, path, ok=ok))

    def send_json(self, method: str, path: str, data: Any) -> httpx.Response:
        body = json.dumps(data).encode()
        return self.request(method, path, body, {"Content-Type": "application/json"})

    def functions(self) -> list[FunctionStatus]:
        found = self._json("GET", "/system/functions")
        return listing(found, "functions", FunctionStatus.from_json)

    def describe(self, name: str) -> FunctionStatus:
        return FunctionStatus.from_json(self._json("GET", f"/system/function/{name}"))

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
    ) -> httpx.Response:
        path = f"/function/{name}" + (f"?{query}" if query else "")
        return self.request(method, path, body, headers, ok=ANY_STATUS)

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
        found: str | None = reply.headers.get("X-Call-Id")
        if not found:
            raise GatewayError(
                reply.status_code, "the gateway queued the call but sent no X-Call-Id"
            )
        return found

    def run_job(self, job: dict[str, Any]) -> str:
        """Queue a one-shot job (`POST /system/jobs`) and return its call id."""
        return records.queued_call_id(_decoded(self.send_json("POST", "/system/jobs", job)))

    def info(self) -> GatewayInfo:
        """The gateway's provider and version (`/system/info`)."""
        return GatewayInfo.from_json(self._json("GET", "/system/info", ok=(200,)))

    def secrets(self) -> list[str]:
        """The names of the secrets; the gateway never sends their values."""
        found = self._json("GET", "/system/secrets", ok=(200,))
        return listing(found, "secrets", records.secret_name)

    def create_secret(self, name: str, value: bytes) -> None:
        self.send_json("POST", "/system/secrets", _secret(name, value))

    def update_secret(self, name: str, value: bytes) -> None:
        self.send_json("PUT", "/system/secrets", _secret(name, value))

    def remove_secret(self, name: str) -> None:
        self.send_json("DELETE", "/system/secrets", {"name": name})

    def image(self, image_id: str) -> dict[str, Any] | None:
        """The cluster's record of a stored image, or None if it has not got it."""
        reply = self.request("GET", f"/system/images/{_quote(image_id)}", ok=(200, 404))
        found = _decoded(reply) if reply.status_code == 200 else None
        if found is not None and not isinstance(found, dict):
            raise MalformedAnswer(f"answer to GET /system/images/{image_id}", "not an object")
        return found

    def put_image(self, config: str, image_id: str, rootfs: Iterator[bytes]) -> None:
        """Send an image's root filesystem tar as it is read (no timeout: it may be large)."""
        url = f"{self.base}/system/images/{_quote(image_id)}"
        headers = {"Content-Type": "application/x-tar", "X-Image-Config": config}
        with self._translated():
            reply = self.http.put(url, content=rootfs, headers=headers, timeout=None)
        self._check(reply, (200, 201))

    def tag_image(self, tag: str, image_id: str) -> str | None:
        """Point the tag at the stored image; the older image this deleted, if any."""
        path = f"/system/image-tags/{urllib.parse.quote(tag, safe='/:@')}"
        deleted = _decoded(self.send_json("PUT", path, {"imageId": image_id})).get("deleted")
        return deleted if isinstance(deleted, str) else None

    def call(self, call_id: str) -> CallRecord:
        return records.call_record(self._json("GET", f"/system/calls/{_quote(call_id)}"))

    def calls(self, function: str | None = None, limit: int = 20) -> list[CallRecord]:
        """The latest calls, newest first; only the function's when one is named."""
        params = ({"function": function} if function else {}) | {"limit": str(limit)}
        found = self._json("GET", "/system/calls?" + urllib.parse.urlencode(params))
        return listing(found, "calls", records.call_record)

    def schedules(self) -> list[ScheduleRow]:
        found = self._json("GET", "/system/schedules")
        return listing(found, "schedules", ScheduleRow.from_json)

    def schedule(self, name: str) -> ScheduleDetail:
        """A scheduled function and its recent ticks."""
        return ScheduleDetail.from_json(self._json("GET", f"/system/schedules/{_quote(name)}"))

    def pause_schedule(self, name: str) -> ScheduleRow:
        path = f"/system/schedules/{_quote(name)}/pause"
        return ScheduleRow.from_json(self._json("POST", path))

    def resume_schedule(self, name: str) -> ScheduleRow:
        path = f"/system/schedules/{_quote(name)}/resume"
        return ScheduleRow.from_json(self._json("POST", path))

    def run_schedule(self, name: str) -> CallRecord:
        """Run the scheduled function once now, outside its ticks; the call's record."""
        path = f"/system/schedules/{_quote(name)}/run"
        return records.call_record(self._json("POST", path))

    def retry(self, call_id: str, body: bytes | None = None) -> CallRecord:
        """Queue a new call with the call's request (and `body`, if given); its record."""
        path = f"/system/calls/{_quote(call_id)}/retry"
        sent = {} if body is None else {"bodyBase64": base64.b64encode(body).decode()}
        return records.call_record(_decoded(self.send_json("POST", path, sent)))

    def cancel(self, call_id: str) -> CallRecord:
        """Cancel the call; its record as the cancel left it."""
        return records.call_record(self._json("DELETE", f"/system/calls/{_quote(call_id)}"))

    def logs(
        self,
        name: str,
        tail: int = 0,
        since: str | None = None,
        follow: bool = False,
        instance: str | None = None,
    ) -> Iterator[records.LogEntry]:
        """The function's log entries (one call's, given its id), as the gateway sends them."""
        params = {"name": name, "tail": str(tail), "follow": "true" if follow else "false"}
        extra = {"since": since, "instance": instance}
        query = urllib.parse.urlencode(params | {k: v for k, v in extra.items() if v})
        # following, the gateway may be silent for long: no timeout then
        timeout = None if follow else self.timeout
        url, headers = f"{self.base}/system/logs?{query}", {"Accept": NDJSON}
        with (
            self._translated(),
            self.http.stream("GET", url, headers=headers, timeout=timeout) as reply,
        ):
            if reply.status_code != 200:
                reply.read()
                self._check(reply, (200,))
            for line in reply.iter_lines():  # each as soon as it is whole
                if line.strip():
                    yield records.log_entry(line)


def _decoded(reply: httpx.Response) -> Any:
    try:
        return reply.json()
    except ValueError as exc:
        what = f"answer to {reply.request.method} {reply.request.url.path}"
        raise MalformedAnswer(what, f"not JSON ({exc})") from None


def _secret(name: str, value: bytes) -> dict[str, str]:
    """An OpenFaaS Secret body: the value as text when it is UTF-8, else as base64."""
    try:
        return {"name": name, "value": value.decode()}
    except UnicodeDecodeError:
        return {"name": name, "rawValue": base64.b64encode(value).decode()}


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _one_line(body: bytes) -> str:
    return " ".join(body.decode(errors="replace").split())
