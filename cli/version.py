"""`faas version`: the CLI's version and, when the gateway answers, the gateway's."""

from __future__ import annotations

from typing import Any

import click

from cli import output
from cli.client import client_for, gateway_url
from cli.fields import MalformedAnswer
from cli.options import gateway_option
from cli.records import GatewayInfo
from faas import __version__
from faas.errors import GatewayError, Unauthorized


@click.command("version")
@gateway_option()
def show_version(gateway: str | None) -> int:
    """Show the CLI's and the gateway's versions."""
    print(f"faas CLI version {__version__}")
    url = gateway_url(gateway)
    try:
        with client_for(url, timeout=5.0) as client:
            info = client.info()
    except Unauthorized:
        print(f"gateway: {url} refused the credentials (run faas login --gateway {url})")
        return 0
    except GatewayError as exc:
        print(f"gateway: {_reason(exc)} ({url})")
        return 0
    print(output.fields(_info_fields(url, info)))
    return 0


def _reason(exc: GatewayError) -> str:
    if isinstance(exc, MalformedAnswer):
        return str(exc)
    return "not reachable" if exc.status == 0 else f"answered {exc.status}"


def _info_fields(url: str, info: GatewayInfo) -> list[tuple[str, Any]]:
    return [
        ("gateway", url),
        ("provider", output.text(info.provider)),
        ("orchestration", output.text(info.orchestration)),
        ("version", output.text(info.release)),
    ]
