"""`faas version`: the CLI's version and, when the gateway answers, the gateway's."""

from __future__ import annotations

from typing import Any

import click

from cli import output
from cli.client import client_for, gateway_url
from cli.options import gateway_option
from faas import __version__
from faas.errors import GatewayError, Unauthorized


@click.command("version")
@gateway_option()
def show_version(gateway: str | None) -> int:
    """Show the CLI's and the gateway's versions."""
    print(f"faas CLI version {__version__}")
    url = gateway_url(gateway)
    client = client_for(url)
    client.timeout = 5.0
    try:
        info = client.info()
    except Unauthorized:
        print(f"gateway: {url} refused the credentials (run faas login --gateway {url})")
        return 0
    except GatewayError as exc:
        reason = "not reachable" if exc.status == 0 else f"answered {exc.status}"
        print(f"gateway: {reason} ({url})")
        return 0
    print(output.fields(_info_fields(url, info)))
    return 0


def _info_fields(url: str, info: dict[str, Any]) -> list[tuple[str, Any]]:
    provider = info.get("provider") or {}
    version = provider.get("version") or info.get("version") or {}
    return [
        ("gateway", url),
        ("provider", output.text(provider.get("provider"))),
        ("orchestration", output.text(provider.get("orchestration"))),
        ("version", output.text(version.get("release"))),
    ]
