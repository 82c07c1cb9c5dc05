"""(h) Schedule precision: how late a function's ticks fire and start, by its call records.

A tick's call id is `NAME-YYYYmmddTHHMMSSZ`, its time; the record's `createdAt` is when the
first gateway to fire it claimed it, `startedAt` when a watchdog started its container.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.parts import progress
from bench.stack import post_function, remove_function
from faas.records import CallState

TICKS = "(h) schedule @every 1s"
CRON = "bench-cron"
SETTLE = 2.0  # from the deploy to the window: a gateway's scheduler looks at least once a second
DECIDED_TIMEOUT = 15.0  # for the window's records to be there and final, after its last tick
POLL = 0.25


@dataclass(frozen=True)
class Precision:
    """The window's ticks: how many fired and, in ms, how late by their records."""

    name: str
    gateways: int
    expected: int  # ticks in the window
    fired: int  # ticks in the window that have a record
    late_median_ms: float | None  # createdAt - tick
    late_max_ms: float | None
    start_median_ms: float | None  # startedAt - tick
    start_max_ms: float | None
    not_ok: dict[str, int]  # fired ticks whose record is not `succeeded`, by state

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def cron_function() -> dict[str, Any]:
    annotations = {"topic": "cron-function", "schedule": "@every 1s"}
    return {
        "service": CRON,
        "image": "faas/base-busybox:latest",
        "envProcess": "true",
        "annotations": annotations,
    }


def measure_ticks(gateway_url: str, gateways: int, ticks: int) -> Precision:
    """Deploy the function, let `ticks` ticks pass, remove it, read its records."""
    with httpx.Client(base_url=gateway_url, timeout=10) as http:
        post_function(http, cron_function())
        first = math.ceil(time.time() + SETTLE)
        window = range(first, first + ticks)
        progress(f"{TICKS}: {ticks} ticks from {stamp(first)}, {gateways} gateway(s)")
        time.sleep(max(0.0, window[-1] - time.time()))
        wait_decided(http, window)
        remove_function(http, CRON)
        records = in_window(listing(http), window)
    return precision(gateways, window, records)


def wait_decided(http: httpx.Client, window: range) -> None:
    """Until every tick of the window has a final record, or DECIDED_TIMEOUT has passed."""
    deadline = time.monotonic() + DECIDED_TIMEOUT
    while time.monotonic() < deadline:
        records = in_window(listing(http), window)
        if len(records) == len(window) and all(final(r) for r in records.values()):
            return
        time.sleep(POLL)
    progress(f"{TICKS}: not every tick had a final record {DECIDED_TIMEOUT:g}s after the last")


def listing(http: httpx.Client) -> list[dict[str, Any]]:
    reply = http.get("/system/calls", params={"function": CRON, "limit": 1000})
    reply.raise_for_status()
    records: list[dict[str, Any]] = reply.json()
    return records


def in_window(records: list[dict[str, Any]], window: range) -> dict[int, dict[str, Any]]:
    """The records of the window's ticks, by tick."""
    ticked = ((tick_of(r["callId"]), r) for r in records)
    return {tick: r for tick, r in ticked if tick is not None and tick in window}


def tick_of(call_id: str) -> int | None:
    """The tick (Unix seconds) in a call id `NAME-YYYYmmddTHHMMSSZ`; None for another id."""
    try:
        at = datetime.strptime(call_id.rsplit("-", 1)[-1], "%Y%m%dT%H%M%SZ")
    except ValueError:
        return None
    return int(at.replace(tzinfo=UTC).timestamp())


def final(record: dict[str, Any]) -> bool:
    return CallState(record["state"]).final


def precision(gateways: int, window: range, records: dict[int, dict[str, Any]]) -> Precision:
    late = [seconds(r["createdAt"]) - tick for tick, r in records.items()]
    start = [seconds(r["startedAt"]) - tick for tick, r in records.items() if r.get("startedAt")]
    odd = Counter(r["state"] for r in records.values() if r["state"] != CallState.SUCCEEDED)
    return Precision(
        TICKS,
        gateways,
        len(window),
        len(records),
        *median_max(late),
        *median_max(start),
        dict(odd.most_common()),
    )


def median_max(values: list[float]) -> tuple[float | None, float | None]:
    """Median and max in ms."""
    if not values:
        return None, None
    return round(statistics.median(values) * 1000, 1), round(max(values) * 1000, 1)


def seconds(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def stamp(tick: int) -> str:
    return datetime.fromtimestamp(tick, UTC).strftime("%H:%M:%SZ")
