"""The `faas` command: run the platform's parts and manage functions on a gateway."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvloop

from faas import __version__, credentials, jobwatch
from faas.basicauth import DEFAULT_USER, BasicAuth
from faas.client import Client, client_for, gateway_url
from faas.errors import Error, GatewayError, Unauthorized
from faas.secretstore import check_secret_name
from faas.settings import RUNTIMES, GatewaySettings, UpSettings, WatchdogSettings
from faas.spec import NETWORKS, parse_duration
from faas.stack import Stack, load_stack
from faas.templates import LANGUAGES

Command = Callable[[argparse.Namespace], int]
SECRETS_KEY_HELP = (
    "Fernet key file that encrypts function secrets (default $FAAS_SECRETS_KEY_FILE; "
    "without one, secrets are off)"
)


def cmd_up(args: argparse.Namespace) -> int:
    """faas-cli's `up` (build, then deploy) when a gateway is named or already runs here;
    otherwise start the platform on this machine."""
    target = args.gateway or os.environ.get("OPENFAAS_URL") or _local_gateway(args.port)
    if target:
        return _build_and_deploy(args, target)
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
    settings.invoke_auth = settings.invoke_auth or args.invoke_auth
    return up(settings)


def _local_gateway(port: int) -> str | None:
    """The URL of a gateway already answering on `port` here, if one does."""
    url = f"http://127.0.0.1:{port}"
    try:
        Client(url, timeout=2).request("GET", "/healthz")
    except (Error, OSError):
        return None
    print(f"a gateway already runs at {url}: building and deploying to it", flush=True)
    return url


def _build_and_deploy(args: argparse.Namespace, url: str) -> int:
    """faas-cli's `up`. There is no registry to push to: images stay on the Docker host."""
    from faas.build import build_stack

    stack = load_stack(args.file or "stack.yml")
    only = set(args.filter) if args.filter else None
    if not args.skip_build:
        build_stack(stack, only)
    if not args.skip_deploy:
        _deploy_stack(stack, client_for(url.rstrip("/")), only)
    return 0


def cmd_gateway(args: argparse.Namespace) -> int:
    from gateway.main import serve

    settings = GatewaySettings.from_env()
    settings.nats_url, settings.host, settings.port = args.nats, args.host, args.port
    if args.max_body:
        settings.max_body = args.max_body
    if args.auth_dir:
        settings.use_secrets(Path(args.auth_dir))
    if args.secrets_key:
        settings.secrets_key_file = Path(args.secrets_key)
    settings.invoke_auth = settings.invoke_auth or args.invoke_auth
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
    if args.secrets_key:
        settings.secrets_key_file = Path(args.secrets_key)
    if args.runtime:
        settings.runtime = args.runtime
    uvloop.run(serve(settings))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from faas.build import build_stack

    stack = load_stack(args.file)
    build_stack(stack, set(args.filter) if args.filter else None)
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    stack = load_stack(args.file)
    client = client_for(gateway_url(args.gateway, stack.gateway))
    _deploy_stack(stack, client, set(args.filter) if args.filter else None)
    return 0


def _deploy_stack(stack: Stack, client: Client, only: set[str] | None) -> None:
    done = 0
    for fn in stack.functions.values():
        if only and fn.name not in only:
            continue
        print(f"{fn.name}: {client.deploy(fn.deployment())}", flush=True)
        done += 1
    print(f"deployed {done} function(s) to {client.base}")


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
    client = _client(args)
    f = client.describe(args.name)
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
        ("URL", f"{client.base}/function/{f['name']}"),
    ]
    print(_fields(fields))
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    headers = dict(_header(h) for h in args.header)
    _check_async_flags(args)
    body = sys.stdin.buffer.read() if not sys.stdin.isatty() else b""
    if args.async_:
        return _invoke_async(args, body, headers)
    reply = _client(args).invoke(args.name, body, args.method, headers, "&".join(args.query))
    sys.stdout.buffer.write(reply.body)
    sys.stdout.flush()
    if reply.status >= 400:
        print(f"faas: {args.name} answered {reply.status}", file=sys.stderr)
        return 1
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    client = _client(args)
    misplaced = [t for t in args.command if t.split("=", 1)[0] in _RUN_OPTIONS]
    if misplaced:  # said, not refused: the command may well take such options
        print(
            f"faas: note: {' '.join(misplaced)} came after the image, so it goes to the "
            "command; faas run's own options go before IMAGE",
            file=sys.stderr,
        )
    call_id = client.run_job(_job(args))
    if args.detach:
        print(call_id)
        return 0
    try:
        record = jobwatch.watch(client, call_id, _show_lines)
    except KeyboardInterrupt:
        print(f"\nfaas: job {call_id} goes on; stop it with faas cancel {call_id}", file=sys.stderr)
        return 130
    code, say = jobwatch.outcome(record)
    if say:
        print(f"faas: {say}", file=sys.stderr)
    return code


_RUN_OPTIONS = {"--detach", "--env", "--timeout", "--network", "--memory", "--gateway"}


def _job(args: argparse.Namespace) -> dict[str, Any]:
    """The body of `POST /system/jobs`; the gateway checks it."""
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    env = dict(_variable(text) for text in args.env)
    optional = {"timeout": args.timeout, "network": args.network, "memory": args.memory}
    body = {"image": args.image, "command": command, "env": env}
    return body | {k: v for k, v in optional.items() if v is not None}


def _variable(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise Error(f"invalid --env {text!r}: write NAME=VALUE")
    return name, value


def _show_lines(entries: list[dict[str, Any]]) -> None:
    """A job's lines, each on stdout or stderr as the job wrote it, in their order."""
    last = sys.stdout
    for entry in entries:
        out = sys.stderr if entry.get("stream") == "stderr" else sys.stdout
        if out is not last:
            last.flush()
        out.write(f"{entry.get('text', '')}\n")
        last = out
    sys.stdout.flush()
    sys.stderr.flush()


def cmd_login(args: argparse.Namespace) -> int:
    url = gateway_url(args.gateway)
    if not args.username:
        raise Error("the user name is empty")
    auth = BasicAuth(args.username, _password(args))
    try:
        Client(url, auth=auth).request("GET", "/system/functions", ok=(200,))
    except Unauthorized:
        raise Error(f"the gateway at {url} refused user {auth.user!r} with that password") from None
    path = credentials.save(url, auth)
    print(f"credentials for {auth.user} at {url} saved in {path}")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    url = gateway_url(args.gateway)
    if not credentials.remove(url):
        raise Error(f"no credentials stored for {url}")
    print(f"credentials for {url} removed")
    return 0


def cmd_secret_create(args: argparse.Namespace) -> int:
    name, value = check_secret_name(args.name), _secret_value(args)
    try:
        _client(args).create_secret(name, value)
    except GatewayError as exc:
        if exc.status == 409:
            raise Error(f"secret {name} already exists: use faas secret update {name}") from None
        raise
    print(f"created secret {name}")
    return 0


def cmd_secret_update(args: argparse.Namespace) -> int:
    name, value = check_secret_name(args.name), _secret_value(args)
    try:
        _client(args).update_secret(name, value)
    except GatewayError as exc:
        raise _secret_missing(exc, name) from None
    print(f"updated secret {name}")
    return 0


def cmd_secret_list(args: argparse.Namespace) -> int:
    print(_table(["Name"], [[name] for name in _client(args).secrets()]))
    return 0


def cmd_secret_remove(args: argparse.Namespace) -> int:
    try:
        _client(args).remove_secret(args.name)
    except GatewayError as exc:
        raise _secret_missing(exc, args.name) from None
    print(f"removed secret {args.name}")
    return 0


def _secret_missing(exc: GatewayError, name: str) -> Error:
    if exc.status == 404:
        return Error(f"secret {name} not found: create it with faas secret create {name}")
    return exc


def _secret_value(args: argparse.Namespace) -> bytes:
    """The value from --from-literal, --from-file or stdin (less its trailing newline)."""
    if args.from_literal is not None:
        value = str(args.from_literal).encode()
    elif args.from_file is not None:
        value = _read_file(Path(args.from_file))
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


def cmd_version(args: argparse.Namespace) -> int:
    print(f"faas CLI version {__version__}")
    url = gateway_url(args.gateway)
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
    print(_fields(_info_fields(url, info)))
    return 0


def _info_fields(url: str, info: dict[str, Any]) -> list[tuple[str, Any]]:
    provider = info.get("provider") or {}
    version = provider.get("version") or info.get("version") or {}
    return [
        ("gateway", url),
        ("provider", _text(provider.get("provider"))),
        ("orchestration", _text(provider.get("orchestration"))),
        ("version", _text(version.get("release"))),
    ]


def cmd_new(args: argparse.Namespace) -> int:
    from faas.scaffold import DEFAULT_PREFIX, NewFunction, new_function

    fn = NewFunction(args.name, args.lang, Path(args.file), args.prefix or DEFAULT_PREFIX)
    folder = new_function(fn)
    print(f"created {folder} ({args.lang}) and added {fn.name} to {fn.stack_file}")
    print(f"build it with: faas build -f {fn.stack_file} --filter {fn.name}")
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.read().strip()
    elif args.password is not None:
        password = args.password
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
    else:
        raise Error("give the password with --password-stdin (or --password)")
    if not password:
        raise Error("the password is empty")
    return password


def cmd_remove(args: argparse.Namespace) -> int:
    _client(args).remove(args.name)
    print(f"removed {args.name}")
    return 0


def cmd_calls(args: argparse.Namespace) -> int:
    calls = _client(args).calls(args.name, args.limit)
    columns = ["Call", "Function", "State", "Attempts", "Status", "Created", "Duration"]
    rows = [
        [
            c["callId"],
            c["function"],
            c["state"],
            _attempts(c),
            _text(c.get("status")),
            _text(c.get("createdAt")),
            _duration(c.get("durationSeconds")),
        ]
        for c in calls
    ]
    print(_table(columns, rows))
    return 0


def cmd_call(args: argparse.Namespace) -> int:
    record = _client(args).call(args.id)
    print(_fields(_call_fields(record)))
    if record.get("stderr"):
        print("Stderr:\n" + textwrap.indent(record["stderr"].rstrip("\n"), "    "))
    if args.output:
        _print_output(record)
    return 0


def cmd_schedules(args: argparse.Namespace) -> int:
    columns = ["Function", "Schedule", "Timezone", "Overlap", "Missed", "Next tick", "Last tick"]
    rows = [
        [
            s["name"],
            s["schedule"],
            s["timezone"],
            s["overlap"],
            s["missed"] + (f" ({s['catchUpLimit']})" if s["missed"] == "catch-up" else ""),
            _text(s.get("nextTick")),
            _text(s.get("lastTick")),
        ]
        for s in _client(args).schedules()
    ]
    print(_table(columns, rows))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    _client(args).cancel(args.id)
    print(f"cancelled {args.id}")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    since = _since(args.since) if args.since else None
    for entry in _client(args).logs(args.name, args.tail, since, args.follow):
        print(_log_line(entry), flush=True)
    return 0


def _log_line(entry: dict[str, Any]) -> str:
    """As faas-cli prints a log entry: `timestamp name (instance) text`."""
    return f"{entry['timestamp']} {entry['name']} ({entry['instance']}) {entry['text']}"


def _since(text: str) -> str:
    """An RFC 3339 time as it is; a duration (`10m`, `1h30m`) as that long ago."""
    try:
        datetime.fromisoformat(text)
        return text
    except ValueError:
        ago = datetime.now(UTC) - timedelta(seconds=parse_duration(text))
        return ago.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _check_async_flags(args: argparse.Namespace) -> None:
    flags = {
        "--callback": args.callback,
        "--call-id": args.call_id,
        "--idempotency-key": args.idempotency_key,
    }
    used = [flag for flag, value in flags.items() if value is not None]
    if used and not args.async_:
        raise Error(f"{used[0]} needs --async")


def _invoke_async(args: argparse.Namespace, body: bytes, headers: dict[str, str]) -> int:
    call_id = _client(args).invoke_async(
        args.name,
        body,
        args.method,
        headers,
        "&".join(args.query),
        callback=args.callback,
        call_id=args.call_id,
        idempotency_key=args.idempotency_key,
    )
    print(call_id)
    return 0


def _call_fields(c: dict[str, Any]) -> list[tuple[str, Any]]:
    callback = c.get("callback") or {}
    return [
        ("Call", c["callId"]),
        ("Function", c["function"]),
        ("Kind", _text(c.get("kind"))),
        ("State", c["state"]),
        ("Attempts", _attempts(c)),
        ("Exit code", _text(c.get("exitCode"))),
        ("Status", _text(c.get("status"))),
        ("Message", _text(c.get("message"))),
        ("Created", _text(c.get("createdAt"))),
        ("Started", _text(c.get("startedAt"))),
        ("Finished", _text(c.get("finishedAt"))),
        ("Duration", _duration(c.get("durationSeconds"))),
        ("Watchdog", _text(c.get("watchdog"))),
        ("Callback URL", _text(c.get("callbackUrl"))),
        ("Callback state", _text(callback.get("state"))),
        ("Callback attempts", _text(callback.get("attempts"))),
        ("Callback status", _text(callback.get("status"))),
        ("Callback error", _text(callback.get("error"))),
    ]


def _print_output(record: dict[str, Any]) -> None:
    print()
    sys.stdout.write(record.get("output") or "")
    sys.stdout.flush()
    if record.get("outputTruncated"):
        print("faas: the output was truncated by the platform", file=sys.stderr)


def _client(args: argparse.Namespace) -> Client:
    return client_for(gateway_url(args.gateway))


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise Error(f"invalid header {text!r}: write NAME=VALUE")
    return name, value


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _pairs(data: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in (data or {}).items()) or "-"


def _text(value: Any) -> str:
    """A field's value for display; `-` when it is missing or empty."""
    return "-" if value is None or value == "" else str(value)


def _attempts(record: dict[str, Any]) -> str:
    return f"{_text(record.get('attempts'))}/{_text(record.get('maxAttempts'))}"


def _duration(seconds: Any) -> str:
    return "-" if seconds is None else f"{float(seconds):.2f}s"


def _fields(fields: Sequence[tuple[str, Any]]) -> str:
    """Aligned `key: value` lines."""
    width = max(len(k) for k, _ in fields) + 2
    return "\n".join(f"{k + ':':<{width}}{v}" for k, v in fields)


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

    up = sub.add_parser(
        "up",
        help="run NATS, a gateway and a watchdog here and deploy a stack; with -g (or "
        "$OPENFAAS_URL, or a gateway already on --port): build and deploy, as faas-cli up",
    )
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
    up.add_argument(
        "--invoke-auth", action="store_true", help="require credentials to call functions too"
    )
    up.add_argument("-g", "--gateway", help="build and deploy to this gateway instead")
    up.add_argument("--filter", action="append", help="only this function (repeatable)")
    up.add_argument("--skip-build", action="store_true", help="deploy without building")
    up.add_argument("--skip-deploy", action="store_true", help="build without deploying")
    up.add_argument("--skip-push", action="store_true", help="accepted; images are never pushed")
    up.set_defaults(run=cmd_up)

    gw = sub.add_parser("gateway", help="run a gateway")
    gw.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS URL")
    gw.add_argument("--host", default="127.0.0.1")
    gw.add_argument("--port", type=int, default=8080)
    gw.add_argument("--max-body", type=int, help="largest request body in bytes (default 8 MiB)")
    gw.add_argument(
        "--auth-dir",
        metavar="DIR",
        help="require HTTP Basic auth on /system/: the user and password are read from the "
        "files basic-auth-user and basic-auth-password in DIR",
    )
    gw.add_argument(
        "--invoke-auth", action="store_true", help="require the credentials to call functions too"
    )
    gw.add_argument("--secrets-key", metavar="FILE", help=SECRETS_KEY_HELP)
    gw.set_defaults(run=cmd_gateway)

    wd = sub.add_parser("watchdog", help="run a watchdog (executor node)")
    wd.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS URL")
    wd.add_argument("--capacity", type=int, help="calls run at once (default: CPUs)")
    wd.add_argument("--id", help="watchdog id; labels its containers (default: host name)")
    wd.add_argument("--grace", type=float, help="seconds running calls get on SIGTERM (default 30)")
    wd.add_argument("--secrets-key", metavar="FILE", help=SECRETS_KEY_HELP)
    wd.add_argument(
        "--runtime",
        choices=RUNTIMES,
        help="what runs the containers: runc (no daemon on a call's path) or docker; "
        "default $FAAS_RUNTIME, else auto: runc where it is usable, else docker",
    )
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
    inv.add_argument(
        "--async", dest="async_", action="store_true", help="queue the call; print its call id"
    )
    inv.add_argument("--callback", help="URL the result is POSTed to (with --async)")
    inv.add_argument("--call-id", help="call id to use instead of a generated one (with --async)")
    inv.add_argument("--idempotency-key", help="queue at most one call per key (with --async)")
    inv.set_defaults(run=cmd_invoke)
    oneshot = sub.add_parser(
        "run",
        help="run an image once on the cluster (a one-shot job); show its output and exit "
        "with its exit code",
        description="Options go before IMAGE: what follows it is the command.",
    )
    oneshot.add_argument("-e", "--env", action="append", default=[], help="NAME=VALUE (repeatable)")
    oneshot.add_argument("--timeout", help="seconds, or a duration like 90s or 10m (default 300s)")
    oneshot.add_argument(
        "--network", choices=NETWORKS, help="the container's network (default bridge)"
    )
    oneshot.add_argument("--memory", help="memory limit, e.g. 512Mi (default 256Mi)")
    oneshot.add_argument("-d", "--detach", action="store_true", help="print the call id and return")
    oneshot.add_argument("image")
    oneshot.add_argument(
        "command", nargs=argparse.REMAINDER, help="the command (default: the image's)"
    )
    oneshot.set_defaults(run=cmd_run)
    rm = sub.add_parser("remove", aliases=["rm"], help="remove a function")
    rm.add_argument("name")
    rm.set_defaults(run=cmd_remove)
    calls = sub.add_parser("calls", help="list recent calls, newest first")
    calls.add_argument("name", nargs="?", help="only this function's calls")
    calls.add_argument("--limit", type=_positive, default=20, help="how many calls (default 20)")
    calls.set_defaults(run=cmd_calls)
    call = sub.add_parser("call", help="show a call")
    call.add_argument("id")
    call.add_argument("--output", action="store_true", help="show the call's output too")
    call.set_defaults(run=cmd_call)
    cancel = sub.add_parser("cancel", help="cancel a queued or running call")
    cancel.add_argument("id")
    cancel.set_defaults(run=cmd_cancel)
    schedules = sub.add_parser("schedules", help="list scheduled functions and their next tick")
    schedules.set_defaults(run=cmd_schedules)
    logs = sub.add_parser("logs", help="show a function's log lines (its stderr)")
    logs.add_argument("name")
    logs.add_argument("--tail", type=_positive, default=0, help="only the last N lines")
    logs.add_argument("--since", help="only lines after a time (RFC 3339) or a duration ago (5m)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.set_defaults(run=cmd_logs)
    login = sub.add_parser("login", help="check and store credentials for a gateway")
    login.add_argument(
        "-u", "--username", default=DEFAULT_USER, help=f"user name (default {DEFAULT_USER})"
    )
    given = login.add_mutually_exclusive_group()
    given.add_argument("-p", "--password", help="the password (others may see it: prefer -s)")
    given.add_argument(
        "-s", "--password-stdin", action="store_true", help="read the password from stdin"
    )
    login.set_defaults(run=cmd_login)
    logout = sub.add_parser("logout", help="forget the stored credentials for a gateway")
    logout.set_defaults(run=cmd_logout)
    version = sub.add_parser("version", help="show the CLI's and the gateway's versions")
    version.set_defaults(run=cmd_version)
    new = sub.add_parser("new", help="scaffold a function from a template; add it to the stack")
    new.add_argument("name")
    new.add_argument("--lang", required=True, choices=LANGUAGES, help="the function's template")
    new.add_argument("--prefix", help="image prefix, e.g. a registry user (default faas)")
    new.add_argument("-f", "--file", default="stack.yml", help="stack file (default stack.yml)")
    new.set_defaults(run=cmd_new)
    gateway_commands = [
        ls,
        desc,
        inv,
        oneshot,
        rm,
        calls,
        call,
        cancel,
        schedules,
        logs,
        login,
        logout,
        version,
    ]
    for c in gateway_commands + _secret_parsers(sub):
        c.add_argument("-g", "--gateway", help="gateway URL (default $OPENFAAS_URL)")
    return p


def _secret_parsers(sub: Any) -> list[argparse.ArgumentParser]:
    """`faas secret create|update|list|remove`; returns the parsers of the four."""
    secret = sub.add_parser("secret", help="manage the functions' secrets")
    verbs = secret.add_subparsers(dest="verb", required=True)
    create = verbs.add_parser("create", help="create a secret")
    create.set_defaults(run=cmd_secret_create)
    update = verbs.add_parser("update", help="replace a secret's value")
    update.set_defaults(run=cmd_secret_update)
    for c in (create, update):
        c.add_argument("name")
        given = c.add_mutually_exclusive_group()
        given.add_argument("--from-literal", metavar="VALUE", help="the value (others may see it)")
        given.add_argument("--from-file", metavar="FILE", help="read the value from a file")
    ls = verbs.add_parser("list", aliases=["ls"], help="list the secrets' names")
    ls.set_defaults(run=cmd_secret_list)
    rm = verbs.add_parser("remove", aliases=["rm"], help="remove a secret")
    rm.add_argument("name")
    rm.set_defaults(run=cmd_secret_remove)
    return [create, update, ls, rm]


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
