"""Function logs against real processes: stderr lines stored by the watchdog, read back."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from tests.e2e.parts import Cluster, Parts, cluster, deploy, faas

LOUD = "sh -c 'echo out; echo err-line-1 >&2; echo err-line-2 >&2'"
LINES = ["err-line-1", "err-line-2"]


@pytest.fixture(scope="module")
def logs_cluster(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Cluster]:
    """One cluster for the module: each test deploys its own function."""
    made = Parts(tmp_path_factory.mktemp("logs"))
    try:
        yield cluster(made, 2)
    finally:
        made.stop_all()


@pytest.fixture
def loud(logs_cluster: Cluster) -> str:
    """A fresh function that writes one line to stdout and two to stderr."""
    name = f"loud-{uuid.uuid4().hex[:8]}"
    deploy(logs_cluster.gateway, name, LOUD)
    return name


def call(http: httpx.Client, name: str) -> str:
    reply = http.post(f"/function/{name}", content=b"")
    assert reply.status_code == 200, reply.text
    assert reply.text == "out\n"
    return reply.headers["X-Call-Id"]


def read(http: httpx.Client, name: str, **params: str) -> list[dict[str, Any]]:
    reply = http.get("/system/logs", params={"name": name, **params})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in reply.text.splitlines()]


def wait_lines(http: httpx.Client, name: str, count: int) -> list[dict[str, Any]]:
    """The function's stored lines once there are `count` (they are stored just after a call)."""
    deadline = time.monotonic() + 30
    while len(found := read(http, name)) < count:
        assert time.monotonic() < deadline, f"only {len(found)} of {count} lines stored"
        time.sleep(0.1)
    return found


def texts(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["instance"], e["text"]) for e in entries]


def test_stored_lines_of_each_call(logs_cluster: Cluster, loud: str) -> None:
    with logs_cluster.gateway.client() as http:
        ids = [call(http, loud), call(http, loud)]
        entries = wait_lines(http, loud, 4)
        assert texts(entries) == [(i, line) for i in ids for line in LINES]
        assert {(e["name"], e["namespace"]) for e in entries} == {(loud, "openfaas-fn")}
        for e in entries:
            assert e["timestamp"].endswith("Z")
        assert texts(read(http, loud, tail="1")) == [(ids[1], "err-line-2")]
        assert texts(read(http, loud, tail="3")) == texts(entries)[1:]
        assert read(http, loud, since="2999-01-01T00:00:00Z") == []
        assert texts(read(http, loud, since=entries[0]["timestamp"])) == texts(entries)


def test_follow_gets_lines_of_later_calls(logs_cluster: Cluster, loud: str) -> None:
    with logs_cluster.gateway.client() as http:
        first = call(http, loud)
        wait_lines(http, loud, 2)
        params = {"name": loud, "follow": "true"}
        with http.stream("GET", "/system/logs", params=params, timeout=30) as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()
            stored = [json.loads(next(lines)) for _ in LINES]
            assert texts(stored) == [(first, line) for line in LINES]
            later = call(http, loud)
            followed = [json.loads(next(lines)) for _ in LINES]
            assert texts(followed) == [(later, line) for line in LINES]
        assert texts(read(http, loud)) == texts(stored + followed)  # the gateway still serves


def test_cli_prints_the_last_lines(logs_cluster: Cluster, loud: str, tmp_path: Path) -> None:
    with logs_cluster.gateway.client() as http:
        ids = [call(http, loud), call(http, loud)]
        entries = wait_lines(http, loud, 4)
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    shown = faas("logs", loud, "--tail", "2", "--gateway", logs_cluster.gateway.url, env=env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.decode().splitlines() == [
        f"{e['timestamp']} {loud} ({ids[1]}) {e['text']}" for e in entries[2:]
    ]


def test_a_function_without_stderr_has_no_lines(logs_cluster: Cluster) -> None:
    deploy(logs_cluster.gateway, "quiet", "cat")
    with logs_cluster.gateway.client() as http:
        assert http.post("/function/quiet", content=b"hi").text == "hi"
        time.sleep(0.5)
        assert read(http, "quiet") == []


def test_unknown_function_and_missing_name(logs_cluster: Cluster) -> None:
    with logs_cluster.gateway.client() as http:
        assert http.get("/system/logs", params={"name": "nope"}).status_code == 404
        assert http.get("/system/logs").status_code == 400
        assert http.get("/system/logs", params={"name": "x", "tail": "many"}).status_code == 400
    missing = faas("logs", "nope", "--gateway", logs_cluster.gateway.url)
    assert missing.returncode == 1
    assert b"nope" in missing.stderr
