"""Unit tests of the CLI's helpers and argument parser (faas.cli), and of gateway_url."""

from __future__ import annotations

import pytest

from faas.cli import _header, _table, cmd_invoke, cmd_up, cmd_watchdog, parser
from faas.client import DEFAULT_GATEWAY, gateway_url
from faas.errors import Error

# _table


def test_table_aligns_the_columns() -> None:
    table = _table(
        ["Function", "Invocations", "Replicas"],
        [["hello", "12", "1"], ["a-much-longer-name", "3", "0"]],
    )
    assert table.splitlines() == [
        "Function            Invocations  Replicas",
        "hello               12           1",
        "a-much-longer-name  3            0",
    ]


def test_table_columns_start_at_the_same_place() -> None:
    lines = _table(["A", "B", "C"], [["xxxx", "y", "z"], ["x", "yyyyyy", "z"]]).splitlines()
    assert {line.index(c) for line, c in zip(lines, "Byy", strict=True)} == {6}
    assert {len(line) for line in lines} == {len(lines[0])}


def test_table_strips_trailing_spaces() -> None:
    table = _table(["Function", "Image"], [["f", ""], ["g", "img"]])
    assert all(line == line.rstrip() for line in table.splitlines())
    assert table.splitlines()[1] == "f"


def test_table_without_rows_is_the_header() -> None:
    assert _table(["Function", "Invocations"], []) == "Function  Invocations"


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


# parser


def test_parser_up() -> None:
    args = parser().parse_args(["up", "--port", "9000", "--no-watchdog", "-f", ""])
    assert args.command == "up"
    assert args.run is cmd_up
    assert args.port == 9000
    assert args.no_watchdog is True
    assert args.file == ""
    assert (args.nats_port, args.nats_host, args.data_dir) == (4222, "127.0.0.1", ".faas")
    assert (args.capacity, args.max_body) == (None, None)


def test_parser_up_defaults() -> None:
    args = parser().parse_args(["up"])
    assert (args.port, args.file, args.no_watchdog) == (8080, "stack.yml", False)


def test_parser_invoke() -> None:
    args = parser().parse_args(["invoke", "hello", "-H", "a=b", "--query", "x=1", "-m", "GET"])
    assert args.command == "invoke"
    assert args.run is cmd_invoke
    assert args.name == "hello"
    assert args.header == ["a=b"]
    assert args.query == ["x=1"]
    assert args.method == "GET"
    assert args.gateway is None


def test_parser_invoke_repeats_headers_and_queries() -> None:
    argv = ["invoke", "hello", "-H", "a=b", "--header", "c=d", "--query", "x=1", "--query", "y=2"]
    args = parser().parse_args(argv)
    assert args.header == ["a=b", "c=d"]
    assert args.query == ["x=1", "y=2"]


def test_parser_invoke_defaults() -> None:
    args = parser().parse_args(["invoke", "hello", "-g", "http://gw:8080"])
    assert (args.method, args.header, args.query) == ("POST", [], [])
    assert args.gateway == "http://gw:8080"


def test_parser_watchdog() -> None:
    argv = ["watchdog", "--nats", "nats://x:1", "--capacity", "3", "--id", "w1", "--grace", "5"]
    args = parser().parse_args(argv)
    assert args.command == "watchdog"
    assert args.run is cmd_watchdog
    assert args.nats == "nats://x:1"
    assert args.capacity == 3
    assert args.id == "w1"
    assert args.grace == 5.0
    assert isinstance(args.grace, float)


def test_parser_watchdog_defaults() -> None:
    args = parser().parse_args(["watchdog"])
    assert (args.nats, args.capacity, args.id, args.grace) == (
        "nats://127.0.0.1:4222",
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    "argv", [[], ["nope"], ["up", "--port", "eighty"], ["watchdog", "--capacity", "1.5"]]
)
def test_parser_refuses_bad_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert "usage: faas" in capsys.readouterr().err


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
