"""`faas secret create|update|list|remove`: the functions' secrets, values never shown."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cli import output
from cli.client import gateway_client
from cli.group import Group
from cli.options import F, exclusive, gateway_option
from faas.errors import Error, GatewayError
from faas.secretstore import check_secret_name

_VALUE_OPTIONS = (
    click.argument("name"),
    click.option("--from-literal", metavar="VALUE", help="the value (others may see it)"),
    click.option(
        "--from-file", type=click.Path(path_type=Path), metavar="FILE", help="read it from a file"
    ),
)


def _value_options(command: F) -> F:
    """NAME and where its value comes from: --from-literal, --from-file, else stdin."""
    for decorate in reversed(_VALUE_OPTIONS):
        command = decorate(command)
    return command


@click.command("create")
@_value_options
@gateway_option()
def create_secret(
    name: str, from_literal: str | None, from_file: Path | None, gateway: str | None
) -> int:
    """Create a secret."""
    name, value = _given(name, from_literal, from_file)
    try:
        with gateway_client(gateway) as client:
            client.create_secret(name, value)
    except GatewayError as exc:
        if exc.status == 409:
            raise Error(f"secret {name} already exists: use faas secret update {name}") from None
        raise
    print(f"created secret {name}")
    return 0


@click.command("update")
@_value_options
@gateway_option()
def update_secret(
    name: str, from_literal: str | None, from_file: Path | None, gateway: str | None
) -> int:
    """Replace a secret's value."""
    name, value = _given(name, from_literal, from_file)
    try:
        with gateway_client(gateway) as client:
            client.update_secret(name, value)
    except GatewayError as exc:
        raise _missing(exc, name) from None
    print(f"updated secret {name}")
    return 0


@click.command("list")
@gateway_option()
def list_secrets(gateway: str | None) -> int:
    """List the secrets' names."""
    with gateway_client(gateway) as client:
        names = client.secrets()
    print(output.table(["Name"], [[name] for name in names]))
    return 0


@click.command("remove")
@click.argument("name")
@gateway_option()
def remove_secret(name: str, gateway: str | None) -> int:
    """Remove a secret."""
    try:
        with gateway_client(gateway) as client:
            client.remove_secret(name)
    except GatewayError as exc:
        raise _missing(exc, name) from None
    print(f"removed secret {name}")
    return 0


@click.group("secret", cls=Group)
def secret() -> None:
    """Manage the functions' secrets."""


secret.add(create_secret)
secret.add(update_secret)
secret.add(list_secrets, "ls")
secret.add(remove_secret, "rm")


def _missing(exc: GatewayError, name: str) -> Error:
    if exc.status == 404:
        return Error(f"secret {name} not found: create it with faas secret create {name}")
    return exc


def _given(name: str, literal: str | None, file: Path | None) -> tuple[str, bytes]:
    """The secret's checked name and its value, from one of the places it may come from."""
    exclusive({"--from-literal": literal, "--from-file": file})
    return check_secret_name(name), _secret_value(literal, file)


def _secret_value(literal: str | None, file: Path | None) -> bytes:
    """The value from --from-literal, --from-file or stdin (less its trailing newline)."""
    if literal is not None:
        value = literal.encode()
    elif file is not None:
        value = _read_file(file)
    else:
        if sys.stdin.isatty():
            print("reading the secret's value from stdin; end with Ctrl-D", file=sys.stderr)
        value = sys.stdin.buffer.read().removesuffix(b"\n").removesuffix(b"\r")
    if not value:
        raise Error("the secret's value is empty")
    return value


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise Error(f"cannot read {path}: {exc.strerror or exc}") from None
