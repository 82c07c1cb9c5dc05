"""Options that several commands share, and the rules they follow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from cli.client import DEFAULT_GATEWAY
from faas.settings import DEFAULT_STACK_FILE

F = TypeVar("F", bound=Callable[..., Any])


def env_option(*decls: str, envvar: str, **attrs: Any) -> Callable[[F], F]:
    """An option that falls back on an environment variable, named in its help.

    Click takes the flag, else the variable, else the default: one rule for every option.
    """
    return click.option(*decls, envvar=envvar, show_envvar=True, **attrs)


def gateway_option(text: str = "gateway URL", **attrs: Any) -> Callable[[F], F]:
    """-g/--gateway, else OPENFAAS_URL; the commands' gateway_url() says what comes next."""
    attrs.setdefault("show_default", DEFAULT_GATEWAY)
    return env_option("-g", "--gateway", envvar="OPENFAAS_URL", metavar="URL", help=text, **attrs)


stack_file_option = click.option(
    "-f", "--file", "stack_file", default=DEFAULT_STACK_FILE, metavar="FILE", help="stack file"
)
only_option = click.option(
    "--filter", "only", multiple=True, metavar="NAME", help="only this function (repeatable)"
)


def exclusive(given: dict[str, object]) -> None:
    """Refuse, as a usage error, options given together that exclude each other."""
    used = [name for name, value in given.items() if value not in (None, False)]
    if len(used) > 1:
        raise click.UsageError(f"{used[0]} and {used[1]} exclude each other")
