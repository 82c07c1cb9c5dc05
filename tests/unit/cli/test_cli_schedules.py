"""Unit tests of `faas schedules` (cli.schedules) against a fake gateway over HTTP."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from cli import main
from tests.fakehttp import Handler as QuietHandler
from tests.fakehttp import reply, serving


def row(name: str, **changes: Any) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": "openfaas-fn",
        "schedule": "@every 60s",
        "timezone": "UTC",
        "overlap": "allow",
        "missed": "catch-up",
        "catchUpLimit": 3,
        "callbackUrl": None,
        "nextTick": "2027-01-15T08:01:00Z",
        "nextTicks": [f"2027-01-15T08:0{m}:00Z" for m in range(1, 6)],
        "lastTick": "2027-01-15T08:00:00Z",
        "lastRun": f"{name}-20270115T080000Z",
        "paused": False,
        "pausedAt": None,
    } | changes


def call(call_id: str, function: str) -> dict[str, Any]:
    return {"callId": call_id, "function": function, "state": "queued", "kind": "async"}


@dataclass
class FakeGateway:
    """The gateway's schedule routes, over rows by name."""

    url: str = ""
    rows: dict[str, dict[str, Any]] = field(default_factory=lambda: {"beat": row("beat")})
    seen: list[tuple[str, str]] = field(default_factory=list)

    def route(self, method: str, path: str) -> tuple[int, Any, dict[str, str]]:
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        if parts[:2] != ["system", "schedules"]:
            return 404, "no such route\n", {}
        if len(parts) == 2 and method == "GET":
            return 200, list(self.rows.values()), {}
        found = self.rows.get(parts[2])
        if found is None:
            return 404, f"function {parts[2]!r} not found\n", {}
        action = parts[3] if len(parts) == 4 else None
        if action is None and method == "GET":
            ticks = [{"tick": found["lastTick"], "callId": found["lastRun"], "state": "succeeded"}]
            return 200, found | {"ticks": ticks}, {}
        if action == "pause" and method == "POST":
            found |= {"paused": True, "pausedAt": "2027-01-15T08:00:30Z"}
            return 200, found, {}
        if action == "resume" and method == "POST":
            found |= {"paused": False, "pausedAt": None}
            return 200, found, {}
        if action == "run" and method == "POST":
            return 202, call("run-1", found["name"]), {"X-Call-Id": "run-1"}
        return 405, "method not allowed\n", {}


class Handler(QuietHandler):
    def handle_one(self) -> None:
        self.server.fake.seen.append((self.command, self.path))
        reply(self, *self.server.fake.route(self.command, urllib.parse.urlsplit(self.path).path))

    do_GET = do_POST = handle_one


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with serving(Handler, lambda url: FakeGateway(url=url)) as fake:
        yield fake


def test_schedules_lists_each_with_whether_it_is_paused(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.rows["still"] = row("still", paused=True, pausedAt="2027-01-15T07:00:00Z")
    assert main(["schedules", "-g", gateway.url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-2:] == ["tick", "Paused"]
    assert lines[1].split()[0] == "beat" and lines[1].split()[-1] == "no"
    assert lines[2].split()[0] == "still" and lines[2].split()[-1] == "yes"
    assert "catch-up (3)" in lines[1]


def test_show_has_the_next_ticks_and_the_recent_ones(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schedules", "show", "beat", "-g", gateway.url]) == 0
    out = capsys.readouterr().out
    head, _, ticks = out.partition("\n\n")
    assert "Next ticks:" in head and "2027-01-15T08:05:00Z" in head
    shown = {k: v.strip() for k, _, v in (line.partition(":") for line in head.splitlines())}
    assert (shown["Paused"], shown["Missed"], shown["Callback URL"]) == ("no", "catch-up (3)", "-")
    assert ticks.splitlines()[0].split() == ["Tick", "Call", "State"]
    assert ticks.splitlines()[1].split() == [
        "2027-01-15T08:00:00Z",
        "beat-20270115T080000Z",
        "succeeded",
    ]
    assert gateway.seen == [("GET", "/system/schedules/beat")]


def test_pause_then_resume(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedules", "pause", "beat", "-g", gateway.url]) == 0
    assert capsys.readouterr().out == "paused beat (since 2027-01-15T08:00:30Z)\n"
    assert gateway.rows["beat"]["paused"]
    # the group's own --gateway serves the command given none
    assert main(["schedules", "-g", gateway.url, "resume", "beat"]) == 0
    assert capsys.readouterr().out == "resumed beat; next tick 2027-01-15T08:01:00Z\n"
    assert not gateway.rows["beat"]["paused"]
    assert gateway.seen == [
        ("POST", "/system/schedules/beat/pause"),
        ("POST", "/system/schedules/beat/resume"),
    ]


def test_run_prints_the_call_id(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedules", "run", "beat", "-g", gateway.url]) == 0
    assert capsys.readouterr() == ("run-1\n", "")
    assert gateway.seen == [("POST", "/system/schedules/beat/run")]


def test_an_unknown_schedule_is_one_error_line(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schedules", "pause", "nope", "-g", gateway.url]) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", "faas: 404: function 'nope' not found\n")
