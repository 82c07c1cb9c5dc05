"""`faas run`: an image run once on the cluster (a one-shot job), followed to its end."""

from __future__ import annotations

import sys
from typing import Any

import click

from cli import jobwatch
from cli.client import Client, gateway_client
from cli.options import gateway_option
from cli.records import LogEntry
from faas.errors import Error
from faas.jobspec import DEFAULT_TIMEOUT, JobSpec
from faas.spec import DEFAULT_MEMORY, NETWORKS

# faas run's own options, noted when they come after IMAGE (they go to the command there)
_RUN_OPTIONS = {"--detach", "--env", "--timeout", "--network", "--memory", "--gateway"}


@click.command(
    "run",
    short_help="Run an image once on the cluster (a one-shot job).",
    context_settings={"allow_interspersed_args": False},
)
@click.option(
    "-e", "--env", "variables", multiple=True, metavar="NAME=VALUE", help="a variable (repeatable)"
)
@click.option(
    "--timeout", help=f"seconds, or a duration like 90s or 10m (default {DEFAULT_TIMEOUT:g}s)"
)
@click.option(
    "--network",
    type=click.Choice(NETWORKS),
    help=f"the container's network (default {JobSpec.network})",
)
@click.option("--memory", help=f"memory limit, e.g. 512Mi (default {DEFAULT_MEMORY // 2**20}Mi)")
@click.option("-d", "--detach", is_flag=True, help="print the call id and return")
@gateway_option()
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def run_job(
    variables: tuple[str, ...],
    timeout: str | None,
    network: str | None,
    memory: str | None,
    detach: bool,
    gateway: str | None,
    image: str,
    command: tuple[str, ...],
) -> int:
    """Run an image once on the cluster (a one-shot job); show its output and exit with its
    exit code. Options go before IMAGE: what follows it is the COMMAND (default: the image's).
    """
    with gateway_client(gateway) as client:
        _note_misplaced(command)
        optional = {"timeout": timeout, "network": network, "memory": memory}
        job = _job(image, command, variables) | {k: v for k, v in optional.items() if v is not None}
        call_id = client.run_job(job)
        if detach:
            print(call_id)
            return 0
        return _follow(client, call_id)


def _job(image: str, command: tuple[str, ...], variables: tuple[str, ...]) -> dict[str, Any]:
    """The body of `POST /system/jobs`, less its optional fields; the gateway checks it."""
    argv = list(command[1:] if command[:1] == ("--",) else command)
    return {"image": image, "command": argv, "env": dict(_variable(v) for v in variables)}


def _follow(client: Client, call_id: str) -> int:
    """Show the job's lines until it ends; its exit code, or one saying how it ended."""
    try:
        record = jobwatch.watch(client, call_id, _show_lines)
    except KeyboardInterrupt:
        print(f"\nfaas: job {call_id} goes on; stop it with faas cancel {call_id}", file=sys.stderr)
        return 130
    code, say = jobwatch.outcome(record)
    if say:
        print(f"faas: {say}", file=sys.stderr)
    return code


def _note_misplaced(command: tuple[str, ...]) -> None:
    """Say, not refuse, options of faas run's own after IMAGE: the command may take them."""
    misplaced = [t for t in command if t.split("=", 1)[0] in _RUN_OPTIONS]
    if misplaced:
        print(
            f"faas: note: {' '.join(misplaced)} came after the image, so it goes to the "
            "command; faas run's own options go before IMAGE",
            file=sys.stderr,
        )


def _variable(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise Error(f"invalid --env {text!r}: write NAME=VALUE")
    return name, value


def _show_lines(entries: list[LogEntry]) -> None:
    """A job's lines, each on stdout or stderr as the job wrote it, in their order."""
    last = sys.stdout
    for entry in entries:
        out = sys.stderr if entry.stream == "stderr" else sys.stdout
        if out is not last:
            last.flush()
        out.write(f"{entry.text}\n")
        last = out
    sys.stdout.flush()
    sys.stderr.flush()
