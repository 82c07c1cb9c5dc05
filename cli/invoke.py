"""`faas invoke`: call a function with stdin as the body, at once or queued (`--async`)."""

from __future__ import annotations

import sys

import click
import httpx

from cli.client import gateway_client
from cli.options import gateway_option
from faas.errors import Error


@click.command("invoke")
@click.argument("name")
@click.option("-m", "--method", default="POST", help="HTTP method")
@click.option(
    "-H", "--header", "headers", multiple=True, metavar="NAME=VALUE", help="a header (repeatable)"
)
@click.option(
    "--query", "queries", multiple=True, metavar="KEY=VALUE", help="a query parameter (repeatable)"
)
@click.option("--async", "queued", is_flag=True, help="queue the call; print its call id")
@click.option("--callback", metavar="URL", help="URL the result is POSTed to (with --async)")
@click.option("--call-id", help="call id to use instead of a generated one (with --async)")
@click.option("--idempotency-key", help="queue at most one call per key (with --async)")
@gateway_option()
def invoke_function(
    name: str,
    method: str,
    headers: tuple[str, ...],
    queries: tuple[str, ...],
    queued: bool,
    callback: str | None,
    call_id: str | None,
    idempotency_key: str | None,
    gateway: str | None,
) -> int:
    """Call a function with stdin as the body."""
    sent = dict(_header(h) for h in headers)
    _check_async_flags(
        queued, {"--callback": callback, "--call-id": call_id, "--idempotency-key": idempotency_key}
    )
    body = sys.stdin.buffer.read() if not sys.stdin.isatty() else b""
    query = "&".join(queries)
    with gateway_client(gateway) as client:
        if queued:
            keys = (callback, call_id, idempotency_key)
            print(client.invoke_async(name, body, method, sent, query, *keys))
            return 0
        return _show(name, client.invoke(name, body, method, sent, query))


def _show(name: str, reply: httpx.Response) -> int:
    """The function's answer on stdout, as it is; 1 when its status is an error."""
    sys.stdout.buffer.write(reply.content)
    sys.stdout.flush()
    if reply.status_code >= 400:
        print(f"faas: {name} answered {reply.status_code}", file=sys.stderr)
        return 1
    return 0


def _check_async_flags(queued: bool, flags: dict[str, str | None]) -> None:
    used = [flag for flag, value in flags.items() if value is not None]
    if used and not queued:
        raise Error(f"{used[0]} needs --async")


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise Error(f"invalid header {text!r}: write NAME=VALUE")
    return name, value
