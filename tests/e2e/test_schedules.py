"""Scheduled functions through real gateways, watchdogs, NATS and Docker."""

from __future__ import annotations

import itertools
import shlex
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from faas import rfc3339
from faas.basicauth import BasicAuth
from tests.e2e.parts import Parts, faas, wait_for_watchdog, wait_record
from tests.e2e.receiver import Receiver
from tests.e2e.runs import run_reports

BUSYBOX = "faas/base-busybox:latest"


def scheduled(name: str, command: str, schedule: str, **annotations: str) -> dict[str, Any]:
    extra = {f"com.faas.schedule.{k.replace('_', '-')}": v for k, v in annotations.items()}
    return {
        "service": name,
        "image": BUSYBOX,
        "envProcess": command,
        "annotations": {"topic": "cron-function", "schedule": schedule, **extra},
    }


def records(http: httpx.Client, name: str) -> list[dict[str, Any]]:
    reply = http.get("/system/calls", params={"function": name, "limit": 1000})
    assert reply.status_code == 200, reply.text
    return list(reversed(reply.json()))  # oldest first


def tick_of(record: dict[str, Any]) -> float:
    """The tick a scheduled call stands for, from its call id (`NAME-YYYYmmddTHHMMSSZ`)."""
    stamp = record["callId"].rsplit("-", 1)[1]
    return datetime.strptime(stamp, "%Y%m%dT%H%M%S%z").timestamp()


def until_final(http: httpx.Client, name: str, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = records(http, name)
        if all(r["state"] not in ("queued", "running") for r in found):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.5)


def removed(http: httpx.Client, name: str, settle: float = 3.0) -> float:
    """Remove the function; return when it was gone. Then wait `settle` seconds, past its
    next tick: a tick decided as it went is on record by then, and one fired after would be."""
    reply = http.request("DELETE", "/system/functions", json={"functionName": name})
    assert reply.status_code == 200, reply.text
    gone = time.time()
    time.sleep(settle)
    return gone


def test_every_2s_fires_once_per_tick_across_three_gateways_with_one_killed(
    parts: Parts,
) -> None:
    nats = parts.nats()
    gateways = [parts.gateway(nats) for _ in range(3)]
    parts.watchdog(nats, 2)
    parts.watchdog(nats, 2)
    wait_for_watchdog(gateways[0])
    survivor = gateways[2]
    with survivor.client() as http, run_reports() as runs:
        beat = scheduled("beat", f"sh -c {shlex.quote(runs.reporting())}", "@every 2s")
        assert http.post("/system/functions", json=beat).status_code == 202
        start = time.time()
        time.sleep(15)
        gateways[0].proc.send_signal(signal.SIGKILL)
        gateways[0].proc.wait()
        time.sleep(15)
        end = removed(http, "beat")
        found = until_final(http, "beat")
        time.sleep(1)  # the last reports on their way
    started = runs.lines  # one line per container run, each with its own host name
    ticks = [tick_of(r) for r in found]
    assert max(ticks) <= end, (sorted(ticks), end)
    expected = [t for t in range(int(start) + 1, int(end) + 1) if t % 2 == 0]
    assert len(ticks) == len(set(ticks)), "a tick was recorded twice"
    assert abs(len(ticks) - 15) <= 1 and abs(len(ticks) - len(expected)) <= 1, (ticks, expected)
    assert set(ticks) >= set(expected[1:-1]), "a tick inside the window was missed"
    assert all(r["state"] == "succeeded" and r["attempts"] == 1 for r in found), found
    assert len(started) == len(set(started)) == len(found), started


def test_forbid_skips_ticks_while_the_last_run_goes_on(parts: Parts) -> None:
    nats = parts.nats()
    gateways = [parts.gateway(nats), parts.gateway(nats)]
    parts.watchdog(nats, 4)
    wait_for_watchdog(gateways[0])
    body = scheduled("slow", "sleep 5", "@every 2s", overlap="forbid")
    with gateways[1].client() as http:
        assert http.post("/system/functions", json=body).status_code == 202
        time.sleep(14)
        http.request("DELETE", "/system/functions", json={"functionName": "slow"})
        found = until_final(http, "slow")
    runs = [r for r in found if r["state"] == "succeeded"]
    skipped = [r for r in found if r["state"] == "skipped"]
    assert len(runs) >= 2 and len(skipped) >= 2, found
    assert len(runs) + len(skipped) == len(found), found
    assert all("was still" in r["message"] for r in skipped)
    spans = sorted((r["startedAt"], r["finishedAt"]) for r in runs)
    for (_, end), (begin, _) in itertools.pairwise(spans):
        assert begin >= end, f"runs overlap: {spans}"


def test_replace_stops_the_running_one(parts: Parts) -> None:
    nats = parts.nats()
    gateway = parts.gateway(nats)
    parts.watchdog(nats, 4)
    wait_for_watchdog(gateway)
    body = scheduled("long", "sleep 60", "@every 2s", overlap="replace")
    with gateway.client() as http:
        assert http.post("/system/functions", json=body).status_code == 202
        time.sleep(7)
        http.request("DELETE", "/system/functions", json={"functionName": "long"})
        found = records(http, "long")
        assert len(found) >= 3, found
        replaced = found[:-1]
        assert all(r["state"] == "cancelled" for r in replaced), replaced
        assert all(r["message"].startswith("replaced by the tick of") for r in replaced)
        http.delete(f"/system/calls/{found[-1]['callId']}")
        until_final(http, "long")


def test_missed_ticks_are_skipped_or_caught_up_to_the_bound(parts: Parts) -> None:
    nats = parts.nats()
    first = parts.gateway(nats)
    parts.watchdog(nats, 4)
    wait_for_watchdog(first)
    skip = scheduled("skipper", "true", "@every 1s")
    catch = scheduled("catcher", "true", "@every 1s", missed="catch-up", catch_up_limit="3")
    with first.client() as http:
        for body in (skip, catch):
            assert http.post("/system/functions", json=body).status_code == 202
        time.sleep(3)
    first.proc.send_signal(signal.SIGTERM)
    first.proc.wait(30)  # uvicorn stops gracefully, then dies of the signal it caught
    down = time.time()
    time.sleep(6)  # every gateway down: about 6 ticks are missed
    before = time.time()
    second = parts.gateway(nats)
    up = time.time()
    with second.client() as http:
        time.sleep(2)
        for name in ("skipper", "catcher"):
            http.request("DELETE", "/system/functions", json={"functionName": name})
        gap = {
            name: [t for r in until_final(http, name) if down + 0.5 < (t := tick_of(r)) <= up]
            for name in ("skipper", "catcher")
        }
    # the same new ticks for both once the gateway is up; the last three missed for one only
    assert all(t > before for t in gap["skipper"]), gap
    assert len(gap["catcher"]) - len(gap["skipper"]) == 3, gap
    caught = sorted(set(gap["catcher"]) - set(gap["skipper"]))
    assert caught == [caught[-1] - 2, caught[-1] - 1, caught[-1]] and caught[-1] > before - 1.5


def test_bad_schedules_are_refused_and_faas_schedules_lists_the_good(
    parts: Parts, tmp_path: Path
) -> None:
    nats = parts.nats()
    gateway = parts.gateway(nats, auth=BasicAuth("admin", "pw"))
    with gateway.client() as http:
        bad = http.post("/system/functions", json=scheduled("bad", "true", "*/5 * * *"))
        assert bad.status_code == 400
        assert "has five fields" in bad.text and "this has 4" in bad.text
        zone = scheduled("zone", "true", "0 9 * * *", timezone="Mars/Base")
        assert "unknown time zone" in http.post("/system/functions", json=zone).text
        good = scheduled("nightly", "true", "30 2 * * *", timezone="Europe/Paris")
        assert http.post("/system/functions", json=good).status_code == 202
        assert (
            http.post("/system/functions", json={"service": "plain", "image": "i"}).status_code
            == 202
        )
        listed = http.get("/system/schedules").json()
    assert [s["name"] for s in listed] == ["nightly"]
    assert listed[0]["schedule"] == "30 2 * * *"
    assert listed[0]["nextTick"].endswith(("T00:30:00Z", "T01:30:00Z"))  # 02:30 in Paris
    config = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    url = ["--gateway", gateway.url]
    login = faas("login", *url, "--password-stdin", stdin=b"pw\n", env=config)
    assert login.returncode == 0, login.stderr
    shown = faas("schedules", *url, env=config)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.decode().splitlines()
    assert lines[0].split()[:3] == ["Function", "Schedule", "Timezone"]
    assert "nightly" in lines[1] and "30 2 * * *" in lines[1] and listed[0]["nextTick"] in lines[1]


def test_a_tick_is_retried_by_policy_and_called_back(parts: Parts, receiver: Receiver) -> None:
    nats = parts.nats()
    gateway = parts.gateway(nats)
    parts.watchdog(nats, 2)
    wait_for_watchdog(gateway)
    body = scheduled(
        "flaky",
        "sh -c 'echo tick $Http_X_Faas_Schedule_Tick; exit 1'",
        "@every 4s",
        callback_url=receiver.url,
    )
    body["annotations"] |= {"com.openfaas.retry.attempts": "2", "com.openfaas.retry.min_wait": "1s"}
    with gateway.client() as http:
        assert http.post("/system/functions", json=body).status_code == 202
        first = receiver.wait_for(1, timeout=30)[0]
        http.request("DELETE", "/system/functions", json={"functionName": "flaky"})
        record = http.get(f"/system/calls/{first.headers['X-Call-Id']}").json()
        until_final(http, "flaky")
    tick = datetime.fromtimestamp(tick_of(record), UTC).isoformat().replace("+00:00", "Z")
    assert record["output"] == f"tick {tick}\n"
    assert (record["state"], record["attempts"], record["exitCode"]) == ("given_up", 2, 1)
    assert first.headers["X-Function-Status"] == "500"
    assert first.headers["X-Function-Name"] == "flaky"


def test_a_removed_function_forgets_its_ticks(parts: Parts) -> None:
    nats = parts.nats()
    gateway = parts.gateway(nats)
    parts.watchdog(nats, 2)
    wait_for_watchdog(gateway)
    body = scheduled("again", "true", "@every 1s", missed="catch-up", catch_up_limit="5")
    gone = {"functionName": "again"}
    with gateway.client() as http:
        assert http.post("/system/functions", json=body).status_code == 202
        time.sleep(2.5)
        http.request("DELETE", "/system/functions", json=gone)
        removed = time.time()
        time.sleep(3)
        assert http.get("/system/schedules").json() == []
        redeployed = time.time()
        assert http.post("/system/functions", json=body).status_code == 202
        time.sleep(2)
        assert http.get("/system/schedules").json()[0]["lastTick"] is not None
        http.request("DELETE", "/system/functions", json=gone)
        ticks = [tick_of(r) for r in until_final(http, "again")]
    assert ticks, "it never fired"
    assert not [t for t in ticks if removed + 1 < t < redeployed], "ticks of the gap were run"


def ticks_after(http: httpx.Client, name: str, t: float) -> list[float]:
    """The ticks of the function after Unix time `t` that have a record."""
    ticks = [tick_of(r) for r in records(http, name) if r["callId"].startswith(f"{name}-")]
    return [tick for tick in ticks if tick > t]


def wait_for_tick_after(http: httpx.Client, name: str, t: float, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    while not (found := ticks_after(http, name, t)):
        assert time.monotonic() < deadline, f"no tick of {name} after {t}"
        time.sleep(0.2)
    return found[0]


def test_a_paused_schedule_fires_on_no_gateway_across_a_restart_until_resumed(
    parts: Parts,
) -> None:
    nats = parts.nats()
    one, other = parts.gateway(nats), parts.gateway(nats)
    parts.watchdog(nats, 4)
    wait_for_watchdog(one)
    body = scheduled("pulse", "true", "@every 1s", missed="catch-up", catch_up_limit="5")
    with one.client() as http, other.client() as there:
        assert http.post("/system/functions", json=body).status_code == 202
        wait_for_tick_after(http, "pulse", time.time())

        paused = http.post("/system/schedules/pulse/pause")
        assert paused.status_code == 200, paused.text
        since = time.time()  # a tick after this is decided after the pause is stored
        assert paused.json()["paused"] and paused.json()["pausedAt"]
        shown = there.get("/system/schedules").json()
        assert [(s["name"], s["paused"]) for s in shown] == [("pulse", True)]
        assert len(shown[0]["nextTicks"]) == 5

        # run now, while paused: one call outside the ticks
        ran = there.post("/system/schedules/pulse/run")
        assert ran.status_code == 202, ran.text
        run_id = ran.headers["x-call-id"]
        assert ran.json()["callId"] == run_id and not run_id.startswith("pulse-")  # no tick's
        wait_record(other, run_id, lambda r: r["state"] == "succeeded")

        time.sleep(3)
        one.proc.send_signal(signal.SIGTERM)  # a gateway restarted while paused
        one.proc.wait(30)
    again = parts.gateway(nats)
    with again.client() as http:
        assert http.get("/system/schedules/pulse").json()["paused"]
        time.sleep(3)
        assert ticks_after(http, "pulse", since) == [], "a tick fired while paused"
        resuming = time.time()  # the ticks until then are the pause's
        resumed = faas("schedules", "resume", "pulse", "--gateway", again.url)
        assert resumed.returncode == 0, resumed.stderr
        assert resumed.stdout.decode().startswith("resumed pulse; next tick ")
        back = time.time()
        first = wait_for_tick_after(http, "pulse", back)
        detail = http.get("/system/schedules/pulse").json()
        http.request("DELETE", "/system/functions", json={"functionName": "pulse"})
        found = until_final(http, "pulse")
    # none of the pause's ticks ran, not even caught up by the restarted gateway or on resume
    ticks_of_the_pause = [
        t for r in found if r["callId"] != run_id and since < (t := tick_of(r)) <= resuming
    ]
    assert ticks_of_the_pause == []
    assert not detail["paused"] and detail["pausedAt"] is None
    ticks = [t["tick"] for t in detail["ticks"]]
    assert ticks == sorted(ticks, reverse=True)
    assert detail["ticks"][0]["callId"].startswith("pulse-")
    assert first <= rfc3339.parse(ticks[0]).timestamp()


def test_schedule_routes_of_unknown_or_unscheduled_functions_are_not_found(parts: Parts) -> None:
    gateway = parts.gateway(parts.nats())
    with gateway.client() as http:
        plain = {"service": "plain", "image": BUSYBOX}
        assert http.post("/system/functions", json=plain).status_code == 202
        for method, path in [
            ("GET", ""),
            ("POST", "/pause"),
            ("POST", "/resume"),
            ("POST", "/run"),
        ]:
            unknown = http.request(method, f"/system/schedules/nope{path}")
            assert (unknown.status_code, unknown.text) == (404, "function 'nope' not found\n")
            unscheduled = http.request(method, f"/system/schedules/plain{path}")
            assert unscheduled.status_code == 404
            assert "'plain' is not scheduled" in unscheduled.text
