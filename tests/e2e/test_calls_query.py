"""Finding calls through a real gateway: the listing's filters and cursor, the stats, the feed
of changes as server-sent events, and the CLI's listing on top."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx

from tests.e2e.parts import Cluster, Parts, cluster, deploy, faas, submit, wait_record

FINAL = ("succeeded", "failed", "given_up")  # an async call that fails is retried first


def calls_made(c: Cluster) -> dict[str, list[str]]:
    """Sync and async calls of `echo` and `fail`, each finished; their ids by kind, oldest first."""
    deploy(c.gateway, "echo", "cat")
    deploy(c.gateway, "fail", "sh -c 'echo broken >&2; exit 3'")
    made: dict[str, list[str]] = {"echo": [], "fail": [], "sync": []}
    with c.gateway.client() as http:
        for function in ("echo", "fail", "echo"):
            call_id = http.post(f"/function/{function}", content=b"s").headers["x-call-id"]
            made[function].append(call_id)
            made["sync"].append(call_id)
            wait_record(c.gateway, call_id, lambda r: r["state"] in FINAL)
    for function in ("echo", "echo", "fail", "echo"):
        call_id = submit(c.gateway, function, b"a").headers["x-call-id"]
        made[function].append(call_id)
        wait_record(c.gateway, call_id, lambda r: r["state"] in FINAL)
    return made


def listed(http: httpx.Client, **params: Any) -> list[str]:
    reply = http.get("/system/calls", params=params)
    assert reply.status_code == 200, reply.text
    return [r["callId"] for r in reply.json()]


def test_calls_are_filtered_paged_and_counted(parts: Parts) -> None:
    c = cluster(parts, 2)
    made = calls_made(c)
    echo, fail = made["echo"][::-1], made["fail"][::-1]  # newest first
    with c.gateway.client() as http:
        assert listed(http, function="echo", limit=100) == echo
        pages: list[list[str]] = []
        params: dict[str, str | int] = {"function": "echo", "limit": 2}
        while True:
            reply = http.get("/system/calls", params=params)
            pages.append([r["callId"] for r in reply.json()])
            if "x-next-cursor" not in reply.headers:
                assert "link" not in reply.headers
                break
            cursor = reply.headers["x-next-cursor"]
            assert reply.headers["link"].endswith('; rel="next"')
            assert f"before={cursor}" in reply.headers["link"]
            params = {**params, "before": cursor}
        assert pages == [echo[0:2], echo[2:4], echo[4:5]]
        assert listed(http, state=["failed", "given_up"]) == fail
        assert listed(http, state="given_up") == fail[:1]
        assert listed(http, exitCode=3) == fail
        assert listed(http, state="failed,succeeded", kind="sync") == made["sync"][::-1]
        assert listed(http, function="fail", kind="async") == fail[:1]
        assert listed(http, call=echo[2][:12]) == [echo[2]]
        records = http.get("/system/calls", params={"function": "echo", "limit": 5}).json()
        since, until = records[3]["createdAt"], records[1]["createdAt"]
        assert listed(http, function="echo", since=since, until=until) == echo[2:4]
        assert records[0]["output"] == "a"  # the full records of the page
        assert http.get("/system/calls", params={"state": "lost"}).status_code == 400
        assert http.get("/system/calls", params={"before": "x"}).status_code == 400

        stats = http.get("/system/stats", params={"window": 600}).json()
    by_name = {f["function"]: f for f in stats["functions"]}
    assert (by_name["echo"]["calls"], by_name["echo"]["succeeded"]) == (5, 5)
    assert (by_name["fail"]["calls"], by_name["fail"]["errors"]) == (2, 2)
    assert by_name["fail"]["errorRate"] == 1.0
    assert by_name["echo"]["errorRate"] == 0.0
    assert by_name["echo"]["durationSeconds"]["p50"] > 0
    assert (by_name["echo"]["running"], by_name["echo"]["backlog"]) == (0, 0)
    [watchdog] = stats["watchdogs"]
    assert (watchdog["watchdog"], watchdog["capacity"]) == (c.watchdog.id, 2)

    shown = faas("calls", "echo", "--limit", "2", "--gateway", c.gateway.url)
    assert shown.returncode == 0, shown.stderr
    assert echo[0] in shown.stdout.decode() and echo[2] not in shown.stdout.decode()


def test_changes_of_calls_stream_as_server_sent_events(parts: Parts) -> None:
    c = cluster(parts, 2)
    deploy(c.gateway, "echo", "cat")
    deploy(c.gateway, "other", "cat")
    events: list[tuple[str, dict[str, Any]]] = []
    subscribed, done = threading.Event(), threading.Event()

    def follow() -> None:
        with (
            c.gateway.client(timeout=60) as http,
            http.stream("GET", "/system/calls/events", params={"function": "echo"}) as reply,
        ):
            assert reply.headers["content-type"].startswith("text/event-stream")
            name = ""
            for line in reply.iter_lines():
                subscribed.set()  # its first line, `retry:`, comes once it is subscribed
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    events.append((name, json.loads(line.removeprefix("data: "))))
                    if events[-1][1]["state"] == "succeeded":
                        break
        done.set()

    reader = threading.Thread(target=follow)
    reader.start()
    assert subscribed.wait(60)
    submit(c.gateway, "other", b"x")
    call_id = submit(c.gateway, "echo", b"x").headers["x-call-id"]
    reader.join(120)
    assert done.is_set(), f"the stream never told the call succeeded: {events}"
    assert {data["callId"] for _, data in events} == {call_id}  # not the other function's
    assert {name for name, _ in events} == {"call"}
    assert [data["state"] for _, data in events][-1] == "succeeded"
    assert events[-1][1]["exitCode"] == 0
    with c.gateway.client() as http:
        assert http.get("/system/calls/events", params={"kind": "batch"}).status_code == 400
