"""The `faas` command: run the platform's parts and manage functions on a gateway."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import uvloop

from faas import __version__
from faas.client import Client, gateway_url
from faas.errors import Error
from faas.settings import GatewaySettings, UpSettings, WatchdogSettings
from faas.stack import load_stack

Command = Callable[[argparse.Namespace], int]


def cmd_up(args: argparse.Namespace) -> int:
    from faas.up import up

    settings = UpSettings.from_env()
    settings.port, settings.nats_port, settings.nats_host = (
        args.port,
        args.nats_port,
        args.nats_host,
    )
    settings.data_dir = Path(args.data_dir)
    settings.stack_file = Path(args.file) if args.file else None
    settings.watchdog = not args.no_watchdog
    if args.capacity:
        settings.capacity = args.capacity
    if args.max_body:
        settings.max_body = args.max_body
    return up(settings)


def cmd_gateway(args: argparse.Namespace) -> int:
    from gateway.main import serve

    settings = GatewaySettings.from_env()
    settings.nats_url, settings.host, settings.port = args.nats, args.host, args.port
    if args.max_body:
        settings.max_body = args.max_body
    uvloop.run(serve(settings))
    return 0


def cmd_watchdog(args: argparse.Namespace) -> int:
    from watchdog.main import serve

    settings = WatchdogSettings.from_env()
    settings.nats_url = args.nats
    if args.capacity:
        settings.capacity = args.capacity
    if args.id:
        settings.watchdog_id = args.id
    if args.grace is not None:
        settings.grace = args.grace
    uvloop.run(serve(settings))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from faas.build import build_stack

    stack = load_stack(args.file)
    build_stack(stack, set(args.filter) if args.filter else None)
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    stack = load_stack(args.file)
    client = Client(gateway_url(args.gateway, stack.gateway))
    for fn in stack.functions.values():
        if args.filter and fn.name not in args.filter:
            continue
        print(f"{fn.name}: {client.deploy(fn.deployment())}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    functions = _client(args).functions()
    columns = ["Function", "Invocations", "Replicas"] + (["Image"] if args.verbose else [])
    rows = [
        [f["name"], str(f.get("invocationCount", 0)), str(f.get("availableReplicas", 0))]
        + ([f["image"]] if args.verbose else [])
        for f in functions
    ]
    print(_table(columns, rows))
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    f = _client(args).describe(args.name)
    fields = [
        ("Name", f["name"]),
        ("Status", "Ready" if f.get("availableReplicas") else "Not Ready (no watchdog)"),
        ("Image", f["image"]),
        ("Invocations", f.get("invocationCount", 0)),
        ("Created", f.get("createdAt", "")),
        ("Process", f.get("envProcess") or "(image default)"),
        ("Environment", _pairs(f.get("envVars"))),
        ("Labels", _pairs(f.get("labels"))),
        ("Annotations", _pairs(f.get("annotations"))),
        ("Limits", _pairs(f.get("limits"))),
        ("Read-only root", f.get("readOnlyRootFilesystem", False)),
        ("URL", f"{_client(args).base}/function/{f['name']}"),
    ]
    print("\n".join(f"{k + ':':<16}{v}" for k, v in fields))
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    headers = dict(_header(h) for h in args.header)
    body = sys.stdin.buffer.read() if not sys.stdin.isatty() else b""
    reply = _client(args).invoke(args.name, body, args.method, headers, "&".join(args.query))
    sys.stdout.buffer.write(reply.body)
    sys.stdout.flush()
    if reply.status >= 400:
        print(f"faas: {args.name} answered {reply.status}", file=sys.stderr)
        return 1
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    _client(args).remove(args.name)
    print(f"removed {args.name}")
    return 0


def _client(args: argparse.Namespace) -> Client:
    return Client(gateway_url(args.gateway))


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise Error(f"invalid header {text!r}: write NAME=VALUE")
    return name, value


def _pairs(data: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in (data or {}).items()) or "-"


def _table(columns: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [columns, *rows]) for i in range(len(columns))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [columns, *rows]
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="faas", description="One fresh container per function call.")
    p.add_argument("--version", action="version", version=f"faas {__version__}")
    p.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run NATS, a gateway and a watchdog here; deploy a stack")
    up.add_argument("--port", type=int, default=8080, help="gateway port (default 8080)")
    up.add_argument("--nats-port", type=int, default=4222, help="NATS port (default 4222)")
    up.add_argument("--nats-host", default="127.0.0.1", help="NATS listen address")
    up.add_argument("--data-dir", default=".faas", help="where NATS keeps its data (default .faas)")
    up.add_argument(
        "-f", "--file", default="stack.yml", help="stack to build and deploy ('' for none)"
    )
    up.add_argument("--no-watchdog", action="store_true", help="start no watchdog here")
    up.add_argument("--capacity", type=int, help="calls the watchdog runs at once (default: CPUs)")
    up.add_argument("--max-body", type=int, help="largest request body in bytes (default 8 MiB)")
    up.set_defaults(run=cmd_up)

    gw = sub.add_parser("gateway", help="run a gateway")
    gw.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS URL")
    gw.add_argument("--host", default="127.0.0.1")
    gw.add_argument("--port", type=int, default=8080)
    gw.add_argument("--max-body", type=int, help="largest request body in bytes (default 8 MiB)")
    gw.set_defaults(run=cmd_gateway)

    wd = sub.add_parser("watchdog", help="run a watchdog (executor node)")
    wd.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS URL")
    wd.add_argument("--capacity", type=int, help="calls run at once (default: CPUs)")
    wd.add_argument("--id", help="watchdog id; labels its containers (default: host name)")
    wd.add_argument("--grace", type=float, help="seconds running calls get on SIGTERM (default 30)")
    wd.set_defaults(run=cmd_watchdog)

    for name, run, text in (
        ("build", cmd_build, "build the stack's images"),
        ("deploy", cmd_deploy, "deploy the stack's functions"),
    ):
        c = sub.add_parser(name, help=text)
        c.add_argument("-f", "--file", default="stack.yml", help="stack file (default stack.yml)")
        c.add_argument("--filter", action="append", help="only this function (repeatable)")
        if name == "deploy":
            c.add_argument("-g", "--gateway", help="gateway URL (default $OPENFAAS_URL)")
        c.set_defaults(run=run)

    ls = sub.add_parser("list", aliases=["ls"], help="list deployed functions")
    ls.add_argument("-v", "--verbose", action="store_true", help="show images too")
    ls.set_defaults(run=cmd_list)
    desc = sub.add_parser("describe", help="show a function")
    desc.add_argument("name")
    desc.set_defaults(run=cmd_describe)
    inv = sub.add_parser("invoke", help="call a function with stdin as the body")
    inv.add_argument("name")
    inv.add_argument("-m", "--method", default="POST")
    inv.add_argument("-H", "--header", action="append", default=[], help="NAME=VALUE")
    inv.add_argument("--query", action="append", default=[], help="KEY=VALUE")
    inv.set_defaults(run=cmd_invoke)
    rm = sub.add_parser("remove", aliases=["rm"], help="remove a function")
    rm.add_argument("name")
    rm.set_defaults(run=cmd_remove)
    for c in (ls, desc, inv, rm):
        c.add_argument("-g", "--gateway", help="gateway URL (default $OPENFAAS_URL)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    logging.getLogger("docker").setLevel(logging.WARNING)
    try:
        code: int = args.run(args)
    except Error as exc:
        print(f"faas: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
