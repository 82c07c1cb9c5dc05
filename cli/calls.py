"""`faas calls|call|cancel|retry`: the gateway's call records; cancelling, retrying a call."""

from __future__ import annotations

import sys
import textwrap
from typing import IO, Any

import click

from cli import output
from cli.client import gateway_client
from cli.options import exclusive, gateway_option
from faas.records import CallRecord


@click.command("calls")
@click.argument("name", required=False)
@click.option("--limit", type=click.IntRange(min=1), default=20, help="how many calls")
@gateway_option()
def list_calls(name: str | None, limit: int, gateway: str | None) -> int:
    """List recent calls, newest first. With NAME, only that function's."""
    with gateway_client(gateway) as client:
        calls = client.calls(name, limit)
    columns = ["Call", "Function", "State", "Attempts", "Status", "Created", "Duration"]
    rows = [
        [
            c.callId,
            c.function,
            str(c.state),
            output.attempts(c),
            output.text(c.status),
            output.text(c.createdAt),
            output.duration(c.durationSeconds),
        ]
        for c in calls
    ]
    print(output.table(columns, rows))
    return 0


@click.command("call")
@click.argument("call_id", metavar="ID")
@click.option("--output", "with_output", is_flag=True, help="show the call's output too")
@gateway_option()
def show_call(call_id: str, with_output: bool, gateway: str | None) -> int:
    """Show a call."""
    with gateway_client(gateway) as client:
        record = client.call(call_id)
    print(output.fields(_call_fields(record)))
    if record.stderr:
        print("Stderr:\n" + textwrap.indent(record.stderr.rstrip("\n"), "    "))
    if with_output:
        _print_output(record)
    return 0


@click.command("cancel")
@click.argument("call_id", metavar="ID")
@gateway_option()
def cancel_call(call_id: str, gateway: str | None) -> int:
    """Cancel a queued or running call."""
    with gateway_client(gateway) as client:
        client.cancel(call_id)
    print(f"cancelled {call_id}")
    return 0


@click.command("retry")
@click.argument("call_id", metavar="ID")
@click.option("--body", metavar="TEXT", help="send this body instead of the call's")
@click.option(
    "--body-file",
    type=click.File("rb"),
    metavar="FILE",
    help="send this file's bytes (- for stdin)",
)
@gateway_option()
def retry_call(
    call_id: str, body: str | None, body_file: IO[bytes] | None, gateway: str | None
) -> int:
    """Run a call again as a new async call, with its request; print the new call's id."""
    exclusive({"--body": body, "--body-file": body_file})
    sent = body.encode() if body is not None else body_file.read() if body_file else None
    with gateway_client(gateway) as client:
        record = client.retry(call_id, sent)
    print(record.callId)
    return 0


def _call_fields(c: CallRecord) -> list[tuple[str, Any]]:
    text = output.text
    return [
        ("Call", c.callId),
        ("Function", c.function),
        ("Kind", text(c.kind)),
        ("State", c.state),
        ("Attempts", output.attempts(c)),
        ("Exit code", text(c.exitCode)),
        ("Status", text(c.status)),
        ("Message", text(c.message)),
        ("Created", text(c.createdAt)),
        ("Started", text(c.startedAt)),
        ("Finished", text(c.finishedAt)),
        ("Duration", output.duration(c.durationSeconds)),
        ("Watchdog", text(c.watchdog)),
        ("Retry of", text(c.retryOf)),
        ("Request", _request(c)),
        ("Callback URL", text(c.callbackUrl)),
        ("Callback state", text(c.callback.state)),
        ("Callback attempts", text(c.callback.attempts)),
        ("Callback status", text(c.callback.status)),
        ("Callback error", text(c.callback.error)),
    ]


def _request(c: CallRecord) -> str:
    """`PUT /items?a=1, 12 bytes`; `-` when the record has none (a job's)."""
    r = c.request
    if r is None:
        return "-"
    kept = "" if r.bodyKept else ", not kept"
    return f"{r.method} {r.path}{'?' + r.query if r.query else ''}, {r.bodyBytes} bytes{kept}"


def _print_output(record: CallRecord) -> None:
    print()
    sys.stdout.write(record.output)
    sys.stdout.flush()
    if record.outputTruncated:
        print("faas: the output was truncated by the platform", file=sys.stderr)
