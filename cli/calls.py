"""`faas calls|call|cancel`: the gateway's call records, and cancelling a call."""

from __future__ import annotations

import sys
import textwrap
from typing import Any

import click

from cli import output
from cli.client import gateway_client
from cli.options import gateway_option


@click.command("calls")
@click.argument("name", required=False)
@click.option("--limit", type=click.IntRange(min=1), default=20, help="how many calls")
@gateway_option()
def list_calls(name: str | None, limit: int, gateway: str | None) -> int:
    """List recent calls, newest first. With NAME, only that function's."""
    calls = gateway_client(gateway).calls(name, limit)
    columns = ["Call", "Function", "State", "Attempts", "Status", "Created", "Duration"]
    rows = [
        [
            c["callId"],
            c["function"],
            c["state"],
            output.attempts(c),
            output.text(c.get("status")),
            output.text(c.get("createdAt")),
            output.duration(c.get("durationSeconds")),
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
    record = gateway_client(gateway).call(call_id)
    print(output.fields(_call_fields(record)))
    if record.get("stderr"):
        print("Stderr:\n" + textwrap.indent(record["stderr"].rstrip("\n"), "    "))
    if with_output:
        _print_output(record)
    return 0


@click.command("cancel")
@click.argument("call_id", metavar="ID")
@gateway_option()
def cancel_call(call_id: str, gateway: str | None) -> int:
    """Cancel a queued or running call."""
    gateway_client(gateway).cancel(call_id)
    print(f"cancelled {call_id}")
    return 0


def _call_fields(c: dict[str, Any]) -> list[tuple[str, Any]]:
    callback = c.get("callback") or {}
    text = output.text
    return [
        ("Call", c["callId"]),
        ("Function", c["function"]),
        ("Kind", text(c.get("kind"))),
        ("State", c["state"]),
        ("Attempts", output.attempts(c)),
        ("Exit code", text(c.get("exitCode"))),
        ("Status", text(c.get("status"))),
        ("Message", text(c.get("message"))),
        ("Created", text(c.get("createdAt"))),
        ("Started", text(c.get("startedAt"))),
        ("Finished", text(c.get("finishedAt"))),
        ("Duration", output.duration(c.get("durationSeconds"))),
        ("Watchdog", text(c.get("watchdog"))),
        ("Callback URL", text(c.get("callbackUrl"))),
        ("Callback state", text(callback.get("state"))),
        ("Callback attempts", text(callback.get("attempts"))),
        ("Callback status", text(callback.get("status"))),
        ("Callback error", text(callback.get("error"))),
    ]


def _print_output(record: dict[str, Any]) -> None:
    print()
    sys.stdout.write(record.get("output") or "")
    sys.stdout.flush()
    if record.get("outputTruncated"):
        print("faas: the output was truncated by the platform", file=sys.stderr)
