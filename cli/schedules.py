"""`faas schedules [show|pause|resume|run NAME]`: scheduled functions and their ticks."""

from __future__ import annotations

import click

from cli import output
from cli.client import gateway_client
from cli.group import Group
from cli.options import gateway_option
from cli.records import ScheduleRow
from faas.schedule import Missed


@click.group("schedules", cls=Group, invoke_without_command=True)
@gateway_option()
@click.pass_context
def schedules(ctx: click.Context, gateway: str | None) -> int:
    """List scheduled functions and their next tick; show, pause, resume or run one."""
    ctx.obj = gateway  # for a command that is not given its own
    if ctx.invoked_subcommand is not None:
        return 0
    with gateway_client(gateway) as client:
        rows = client.schedules()
    columns = ["Function", "Schedule", "Timezone", "Overlap", "Missed", "Next tick", "Last tick"]
    print(output.table([*columns, "Paused"], [[*_columns(s), _paused(s)] for s in rows]))
    return 0


def _columns(s: ScheduleRow) -> list[str]:
    return [
        s.name,
        s.schedule,
        s.timezone,
        s.overlap,
        s.missed + (f" ({s.catch_up_limit})" if s.missed == Missed.CATCH_UP else ""),
        output.text(s.next_tick),
        output.text(s.last_tick),
    ]


def _paused(s: ScheduleRow) -> str:
    return "yes" if s.paused else "no"


@click.command("show")
@click.argument("name")
@gateway_option()
@click.pass_obj
def show_schedule(given: str | None, name: str, gateway: str | None) -> int:
    """Show a scheduled function, its next ticks and its recent ticks with their calls."""
    with gateway_client(gateway or given) as client:
        detail = client.schedule(name)
    print(output.fields(_fields(detail.row)))
    if detail.ticks:
        ticks = [[t.tick, t.call_id, t.state] for t in detail.ticks]
        print("\n" + output.table(["Tick", "Call", "State"], ticks))
    return 0


def _fields(s: ScheduleRow) -> list[tuple[str, str]]:
    return [
        ("Function", s.name),
        ("Schedule", s.schedule),
        ("Timezone", s.timezone),
        ("Overlap", s.overlap),
        ("Missed", _columns(s)[4]),
        ("Callback URL", output.text(s.callback_url)),
        ("Paused", f"since {s.paused_at}" if s.paused else "no"),
        ("Next ticks", ", ".join(s.next_ticks) or "-"),
        ("Last tick", output.text(s.last_tick)),
        ("Last run", output.text(s.last_run)),
    ]


@click.command("pause")
@click.argument("name")
@gateway_option()
@click.pass_obj
def pause_schedule(given: str | None, name: str, gateway: str | None) -> int:
    """Stop a function's ticks, on every gateway, until it is resumed."""
    with gateway_client(gateway or given) as client:
        row = client.pause_schedule(name)
    print(f"paused {row.name} (since {row.paused_at})")
    return 0


@click.command("resume")
@click.argument("name")
@gateway_option()
@click.pass_obj
def resume_schedule(given: str | None, name: str, gateway: str | None) -> int:
    """Fire a paused function's ticks again, from the next one (the pause's are skipped)."""
    with gateway_client(gateway or given) as client:
        row = client.resume_schedule(name)
    print(f"resumed {row.name}; next tick {output.text(row.next_tick)}")
    return 0


@click.command("run")
@click.argument("name")
@gateway_option()
@click.pass_obj
def run_schedule(given: str | None, name: str, gateway: str | None) -> int:
    """Run a scheduled function once now, outside its ticks; print the call's id."""
    with gateway_client(gateway or given) as client:
        record = client.run_schedule(name)
    print(record.callId)
    return 0


schedules.add(show_schedule)
schedules.add(pause_schedule)
schedules.add(resume_schedule)
schedules.add(run_schedule)
