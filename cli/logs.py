"""`faas logs`: a function's log lines (its stderr), as faas-cli prints them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from cli.client import gateway_client
from cli.options import gateway_option
from cli.records import LogEntry
from faas import rfc3339
from faas.durations import parse_duration


@click.command("logs")
@click.argument("name")
@click.option("--tail", type=click.IntRange(min=1), metavar="N", help="only the last N lines")
@click.option("--since", help="only lines after a time (RFC 3339) or a duration ago (5m)")
@click.option("-f", "--follow", is_flag=True, help="keep printing new lines")
@gateway_option()
def show_logs(
    name: str, tail: int | None, since: str | None, follow: bool, gateway: str | None
) -> int:
    """Show a function's log lines (its stderr)."""
    after = _since(since) if since else None
    with gateway_client(gateway) as client:
        for entry in client.logs(name, tail or 0, after, follow):
            print(_log_line(entry), flush=True)
    return 0


def _log_line(entry: LogEntry) -> str:
    """As faas-cli prints a log entry: `timestamp name (instance) text`."""
    return f"{entry.timestamp} {entry.name} ({entry.instance}) {entry.text}"


def _since(text: str, now: datetime | None = None) -> str:
    """An RFC 3339 time as it is; a duration (`10m`, `1h30m`) as that long before `now`."""
    try:
        rfc3339.parse(text)
        return text
    except ValueError:
        ago = (now or datetime.now(UTC)) - timedelta(seconds=parse_duration(text))
        return rfc3339.stamp(ago)
