"""Unit tests of `faas run` (cli.oneshot, cli.jobwatch, cli.client) against a fake gateway."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from cli import jobwatch, main
from tests.fakehttp import Handler as QuietHandler
from tests.fakehttp import reply, serving


def entry(text: str, stream: str = "stdout") -> dict[str, Any]:
    return {"name": "_job", "instance": "job-1", "text": text, "stream": stream}


@dataclass
class FakeGateway:
    """`/system/jobs`, one job's record (final after some looks) and its lines."""

    url: str = ""
    final: dict[str, Any] = field(default_factory=lambda: {"state": "succeeded", "exitCode": 0})
    looks_to_final: int = 3
    lines: list[dict[str, Any]] = field(default_factory=list)
    followed: int = 0  # lines the follow request sends before it ends
    refuse: str = ""  # a 400 answer to the job's body
    jobs: list[Any] = field(default_factory=list)
    log_queries: list[dict[str, str]] = field(default_factory=list)

    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        if (method, path) == ("POST", "/system/jobs"):
            self.jobs.append(json.loads(body))
            return (400, self.refuse) if self.refuse else (202, {"callId": "job-1"})
        if (method, path) == ("GET", "/system/calls/job-1"):
            self.looks_to_final -= 1
            state = {"state": "running"} if self.looks_to_final > 0 else self.final
            record = {"callId": "job-1", "function": "_job", "kind": "job", "message": ""}
            return 200, record | state
        if (method, path) == ("GET", "/system/logs"):
            self.log_queries.append(query)
            sent = self.lines[: self.followed] if query["follow"] == "true" else self.lines
            return 200, b"".join(json.dumps(e).encode() + b"\n" for e in sent)
        return 404, "no such route"


class Handler(QuietHandler):
    def handle_one(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        query = dict(urllib.parse.parse_qsl(url.query))
        status, content = self.server.fake.route(self.command, url.path, query, body)
        reply(self, status, content, bytes_type="application/x-ndjson")

    do_GET = do_POST = handle_one


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGateway]:
    monkeypatch.setattr(jobwatch, "POLL", 0.05)
    with serving(Handler, lambda url: FakeGateway(url=url)) as fake:
        yield fake


def faas(gateway: FakeGateway, *argv: str) -> int:
    return main(["run", "-g", gateway.url, *argv])


def test_run_sends_the_job_shows_each_line_once_and_exits_with_its_code(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.lines = [entry("out 1"), entry("err 1", "stderr"), entry("out 2"), entry("out 3")]
    gateway.followed = 2  # the rest only in the stored lines read at the end
    gateway.final = {"state": "failed", "exitCode": 3, "message": "the job exited with code 3"}
    argv = ["-e", "A=1", "-e", "B=x=y", "--timeout", "90s", "--network", "none", "--memory", "1G"]
    code = faas(gateway, *argv, "img:1", "sh", "-c", "echo hi; exit 3")
    assert code == 3
    assert capsys.readouterr() == ("out 1\nout 2\nout 3\n", "err 1\n")
    assert gateway.jobs == [
        {
            "image": "img:1",
            "command": ["sh", "-c", "echo hi; exit 3"],
            "env": {"A": "1", "B": "x=y"},
            "timeout": "90s",
            "network": "none",
            "memory": "1G",
        }
    ]
    assert {(q["name"], q["instance"]) for q in gateway.log_queries} == {("_job", "job-1")}


def test_run_of_the_images_own_command_sends_only_the_image(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert faas(gateway, "img:1") == 0
    assert gateway.jobs == [{"image": "img:1", "command": [], "env": {}}]
    assert faas(gateway, "img:1", "--", "ls", "-l") == 0
    assert gateway.jobs[-1]["command"] == ["ls", "-l"]


def test_options_after_the_image_go_to_the_command_with_a_note(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert faas(gateway, "img:1", "sh", "-c", "exit 0", "--timeout=5", "--detach") == 0
    assert gateway.jobs[-1]["command"] == ["sh", "-c", "exit 0", "--timeout=5", "--detach"]
    assert "--timeout=5 --detach came after the image" in capsys.readouterr().err
    assert faas(gateway, "img:1", "tool", "-v") == 0
    assert "note" not in capsys.readouterr().err


def test_detach_prints_the_call_id_and_follows_nothing(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert faas(gateway, "--detach", "img:1", "sleep", "60") == 0
    assert capsys.readouterr() == ("job-1\n", "")
    assert gateway.log_queries == []


@pytest.mark.parametrize(
    ("final", "code", "said"),
    [
        ({"state": "timed_out", "exitCode": 137, "message": "timed out"}, 124, "faas: timed out\n"),
        ({"state": "failed", "exitCode": None, "message": "no image"}, 1, "faas: no image\n"),
        ({"state": "failed", "exitCode": 137, "message": "out of memory"}, 137, "faas: out of "),
        ({"state": "cancelled", "exitCode": None, "message": ""}, 1, "the job ended cancelled"),
        ({"state": "succeeded", "exitCode": 0, "message": ""}, 0, ""),
    ],
)
def test_a_job_without_an_exit_of_its_own_says_why(
    gateway: FakeGateway,
    capsys: pytest.CaptureFixture[str],
    final: dict[str, Any],
    code: int,
    said: str,
) -> None:
    gateway.final = final
    assert faas(gateway, "img:1") == code
    out, err = capsys.readouterr()
    assert out == ""
    assert said in err if said else err == ""


def test_a_refused_job_and_a_bad_env_are_errors(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.refuse = "'timeout': invalid duration 'soon'"
    assert faas(gateway, "--timeout", "soon", "img:1") == 1
    assert capsys.readouterr().err == "faas: 400: 'timeout': invalid duration 'soon'\n"
    assert faas(gateway, "-e", "NOVALUE", "img:1") == 1
    assert "NAME=VALUE" in capsys.readouterr().err
