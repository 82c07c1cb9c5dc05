"""Unit tests of the CLI's tables and click options (the cli package), and of gateway_url."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from cli import faas, functions, invoke, main, oneshot, output, secrets, servers
from cli.client import DEFAULT_GATEWAY, gateway_url
from cli.invoke import _header
from faas import __version__
from faas.errors import Error
from faas.settings import DEFAULT_MAX_BODY, DEFAULT_NATS_URL, default_capacity

# output.table


def test_table_aligns_the_columns() -> None:
    table = output.table(
        ["Function", "Invocations", "Replicas"],
        [["hello", "12", "1"], ["a-much-longer-name", "3", "0"]],
    )
    assert table.splitlines() == [
        "Function            Invocations  Replicas",
        "hello               12           1",
        "a-much-longer-name  3            0",
    ]


def test_table_columns_start_at_the_same_place() -> None:
    lines = output.table(["A", "B", "C"], [["xxxx", "y", "z"], ["x", "yyyyyy", "z"]]).splitlines()
    assert {line.index(c) for line, c in zip(lines, "Byy", strict=True)} == {6}
    assert {len(line) for line in lines} == {len(lines[0])}


def test_table_strips_trailing_spaces() -> None:
    table = output.table(["Function", "Image"], [["f", ""], ["g", "img"]])
    assert all(line == line.rstrip() for line in table.splitlines())
    assert table.splitlines()[1] == "f"


def test_table_without_rows_is_the_header() -> None:
    assert output.table(["Function", "Invocations"], []) == "Function  Invocations"


# _header


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("a=b", ("a", "b")),
        ("X-Token=abc", ("X-Token", "abc")),
        ("a=b=c", ("a", "b=c")),
        ("a=", ("a", "")),
        ("a= spaced ", ("a", " spaced ")),
    ],
)
def test_header(text: str, pair: tuple[str, str]) -> None:
    assert _header(text) == pair


@pytest.mark.parametrize("text", ["a", "", "a:b"])
def test_header_without_a_value_is_an_error(text: str) -> None:
    with pytest.raises(Error, match=f"invalid header {text!r}: write NAME=VALUE"):
        _header(text)


def test_header_without_a_name_is_an_error() -> None:
    with pytest.raises(Error, match="invalid header"):
        _header("=b")


# options


def parsed(*argv: str) -> tuple[click.Command, dict[str, Any]]:
    """The command `faas ARGV` names and the parameters click hands it, without running it."""
    group: click.Group = faas
    ctx = click.Context(group, info_name="faas")
    while isinstance(group, click.Group):  # `secret` is a group of its own
        name, *rest = argv
        command = group.get_command(ctx, name)
        assert command is not None, name
        ctx, argv = click.Context(command, info_name=name, parent=ctx), tuple(rest)
        group = command  # type: ignore[assignment]
    command = ctx.command
    return command, command.make_context(ctx.info_name, list(argv), parent=ctx.parent).params


def test_up_options(environ: pytest.MonkeyPatch) -> None:
    command, params = parsed("up", "--port", "9000", "--no-watchdog", "-f", "")
    assert command is servers.run_up
    assert params["port"] == 9000
    assert params["no_watchdog"] is True
    assert params["stack_file"] == ""
    assert (params["nats_port"], params["nats_host"]) == (4222, "127.0.0.1")
    assert params["data_dir"] == Path(".faas")
    assert (params["capacity"], params["max_body"]) == (default_capacity(), DEFAULT_MAX_BODY)


def test_up_defaults(environ: pytest.MonkeyPatch) -> None:
    _, params = parsed("up")
    assert (params["port"], params["stack_file"], params["no_watchdog"]) == (
        8080,
        "stack.yml",
        False,
    )
    assert (params["gateway"], params["only"], params["skip_build"]) == (None, (), False)
    assert params["skip_push"] is False


def test_invoke_options(environ: pytest.MonkeyPatch) -> None:
    command, params = parsed("invoke", "hello", "-H", "a=b", "--query", "x=1", "-m", "GET")
    assert command is invoke.invoke_function
    assert params["name"] == "hello"
    assert params["headers"] == ("a=b",)
    assert params["queries"] == ("x=1",)
    assert params["method"] == "GET"
    assert params["gateway"] is None


def test_invoke_repeats_headers_and_queries(environ: pytest.MonkeyPatch) -> None:
    argv = ["hello", "-H", "a=b", "--header", "c=d", "--query", "x=1", "--query", "y=2"]
    _, params = parsed("invoke", *argv)
    assert params["headers"] == ("a=b", "c=d")
    assert params["queries"] == ("x=1", "y=2")


def test_invoke_defaults(environ: pytest.MonkeyPatch) -> None:
    _, params = parsed("invoke", "hello", "-g", "http://gw:8080")
    assert (params["method"], params["headers"], params["queries"]) == ("POST", (), ())
    assert (params["queued"], params["callback"]) == (False, None)
    assert params["gateway"] == "http://gw:8080"


def test_the_gateway_option_reads_openfaas_url(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("OPENFAAS_URL", "http://env:8080")
    assert parsed("list")[1]["gateway"] == "http://env:8080"
    assert parsed("list", "-g", "http://flag:8080")[1]["gateway"] == "http://flag:8080"


def test_watchdog_options(environ: pytest.MonkeyPatch) -> None:
    argv = ["--nats", "nats://x:1", "--capacity", "3", "--id", "w1", "--grace", "5"]
    command, params = parsed("watchdog", *argv)
    assert command is servers.run_watchdog
    assert params["nats_url"] == "nats://x:1"
    assert params["capacity"] == 3
    assert params["watchdog_id"] == "w1"
    assert params["grace"] == 5.0
    assert isinstance(params["grace"], float)


def test_watchdog_defaults(environ: pytest.MonkeyPatch) -> None:
    _, params = parsed("watchdog")
    assert (params["nats_url"], params["capacity"], params["watchdog_id"], params["grace"]) == (
        DEFAULT_NATS_URL,
        default_capacity(),
        socket.gethostname(),
        30.0,
    )
    assert (params["runtime"], params["secrets_key"]) == ("auto", None)


def test_run_takes_everything_after_the_image_as_the_command(environ: pytest.MonkeyPatch) -> None:
    command, params = parsed("run", "-d", "-e", "A=1", "img:1", "sh", "-c", "x", "--detach", "-e")
    assert command is oneshot.run_job
    assert (params["detach"], params["variables"], params["image"]) == (True, ("A=1",), "img:1")
    assert params["command"] == ("sh", "-c", "x", "--detach", "-e")


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["ls"], functions.list_functions),
        (["list"], functions.list_functions),
        (["rm", "x"], functions.remove_function),
        (["remove", "x"], functions.remove_function),
        (["secret", "ls"], secrets.list_secrets),
        (["secret", "rm", "x"], secrets.remove_secret),
    ],
)
def test_aliases(argv: list[str], command: click.Command) -> None:
    assert parsed(*argv)[0] is command


def test_help_lists_the_commands_in_order_with_their_aliases(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--help"]) == 0
    names = [
        line.strip().split("  ")[0]
        for line in capsys.readouterr().out.split("Commands:")[1].splitlines()
        if line.startswith("  ") and not line.startswith("    ")
    ]
    assert names[:3] == ["up", "gateway", "watchdog"]
    assert "list (ls)" in names
    assert "remove (rm)" in names
    assert names[-1] == "secret"


def test_help_names_each_variable_and_default(
    environ: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gateway", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Usage: faas gateway [OPTIONS]" in out
    assert f"comma-separated [env var: FAAS_NATS_URL; default: {DEFAULT_NATS_URL}]" in out
    assert "[env var: FAAS_NATS_REPLICAS; x>=1]" in out
    assert "[env var: FAAS_GATEWAY_PORT; default: 8080]" in out
    assert "[env var: FAAS_SECRET_MOUNT_PATH]" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"faas {__version__}\n"


def test_python_m_cli_is_the_faas_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "--version"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout) == (0, f"faas {__version__}\n")


@pytest.mark.parametrize(
    ("raised", "code", "said"),
    [(Error("no such stack"), 1, "faas: no such stack\n"), (KeyboardInterrupt(), 130, "")],
)
def test_errors_and_ctrl_c_exit_codes(
    environ: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    free_port: int,
    raised: BaseException,
    code: int,
    said: str,
) -> None:
    def up(settings: object) -> int:
        raise raised

    environ.setattr("cli.up.up", up)
    environ.setenv("FAAS_GATEWAY_PORT", str(free_port))  # no gateway answers there
    assert main(["up"]) == code
    assert capsys.readouterr().err.strip() == said.strip()


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nope"],
        ["up", "--port", "eighty"],
        ["watchdog", "--capacity", "1.5"],
        ["watchdog", "--capacity", "0"],
        ["watchdog", "--runtime", "kata"],
        ["run"],
        ["new", "fn"],
        ["--log-level", "loud", "list"],
    ],
)
def test_bad_arguments_exit_2_with_the_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert "Usage: faas" in capsys.readouterr().err


# gateway_url


def test_gateway_url_flag_comes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENFAAS_URL", "http://env:8080")
    assert gateway_url("http://flag:8080", "http://stack:8080") == "http://flag:8080"


def test_gateway_url_then_openfaas_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENFAAS_URL", "http://env:8080")
    assert gateway_url(None, "http://stack:8080") == "http://env:8080"
    assert gateway_url("", "http://stack:8080") == "http://env:8080"


def test_gateway_url_then_the_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENFAAS_URL", raising=False)
    assert gateway_url(None, "http://stack:8080") == "http://stack:8080"
    monkeypatch.setenv("OPENFAAS_URL", "")
    assert gateway_url(None, "http://stack:8080") == "http://stack:8080"


def test_gateway_url_then_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENFAAS_URL", raising=False)
    assert gateway_url(None) == DEFAULT_GATEWAY == "http://127.0.0.1:8080"
    assert gateway_url(None, None) == DEFAULT_GATEWAY
    assert gateway_url(None, "") == DEFAULT_GATEWAY


@pytest.mark.parametrize(
    ("flag", "env", "stack"),
    [
        ("http://gw:8080/", None, None),
        (None, "http://gw:8080//", None),
        (None, None, "http://gw:8080/"),
    ],
)
def test_gateway_url_strips_trailing_slashes(
    monkeypatch: pytest.MonkeyPatch, flag: str | None, env: str | None, stack: str | None
) -> None:
    if env is None:
        monkeypatch.delenv("OPENFAAS_URL", raising=False)
    else:
        monkeypatch.setenv("OPENFAAS_URL", env)
    assert gateway_url(flag, stack) == "http://gw:8080"
