"""The `faas` command: run the platform's parts and manage functions on a gateway."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import click

from cli import (
    calls,
    functions,
    invoke,
    login,
    logs,
    oneshot,
    schedules,
    secrets,
    servers,
    version,
)
from cli.group import Group
from faas import __version__
from faas.errors import Error

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True, "max_content_width": 100}


@click.group("faas", cls=Group, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="faas", message="%(prog)s %(version)s")
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default="INFO",
    help="logging level",
)
def faas(log_level: str) -> None:
    """One fresh container per function call."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    logging.getLogger("docker").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else a line per request at INFO


faas.add(servers.run_up)
faas.add(servers.run_gateway)
faas.add(servers.run_watchdog)
faas.add(functions.build_images)
faas.add(functions.push_images)
faas.add(functions.deploy_functions)
faas.add(functions.list_functions, "ls")
faas.add(functions.describe_function)
faas.add(invoke.invoke_function)
faas.add(oneshot.run_job)
faas.add(functions.remove_function, "rm")
faas.add(calls.list_calls)
faas.add(calls.show_call)
faas.add(calls.cancel_call)
faas.add(calls.retry_call)
faas.add(schedules.schedules)
faas.add(logs.show_logs)
faas.add(login.log_in)
faas.add(login.log_out)
faas.add(version.show_version)
faas.add(functions.scaffold_function)
faas.add(secrets.secret)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `faas` with these arguments (default: the process's); return its exit code."""
    try:
        code: int = faas.main(argv, prog_name="faas", standalone_mode=False)
    except click.ClickException as exc:  # a usage error: exits 2, as click does
        exc.show()
        return exc.exit_code
    except click.Abort:  # click's word for Ctrl-C
        return 130
    except Error as exc:
        print(f"faas: {exc}", file=sys.stderr)
        return 1
    return code
