"""Where async calls spent their time, by the platform's own records (`/system/calls/{id}`)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from bench.stats import percentile

# phase: (from, to), timestamps of a call record; "deliveredAt" is in its "callback"
PHASES = {
    "queued": ("createdAt", "startedAt"),
    "running": ("startedAt", "finishedAt"),
    "calling back": ("finishedAt", "deliveredAt"),
}


@dataclass(frozen=True)
class Phases:
    """Median and p90 in ms of each phase, over the records that have both of its times."""

    name: str
    calls: int
    spreads: dict[str, dict[str, float | None]]  # phase: {"median_ms", "p90_ms"}
    odd: dict[str, int]  # records that are not "succeeded, callback delivered": by what they say

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def phases(base_url: str, name: str, call_ids: list[str]) -> Phases:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        records = [await fetch(http, call_id) for call_id in call_ids]
    spreads = {phase: spread(durations(records, *ends)) for phase, ends in PHASES.items()}
    odd = Counter(s for s in map(outcome, records) if s != "succeeded, callback delivered")
    return Phases(name, len(records), spreads, dict(odd.most_common()))


async def fetch(http: httpx.AsyncClient, call_id: str) -> dict[str, Any]:
    reply = await http.get(f"/system/calls/{call_id}")
    if reply.status_code != 200:
        return {"state": f"GET answered {reply.status_code}"}
    record: dict[str, Any] = reply.json()
    record["deliveredAt"] = (record.get("callback") or {}).get("deliveredAt")
    return record


def outcome(record: dict[str, Any]) -> str:
    callback = (record.get("callback") or {}).get("state", "?")
    return f"{record.get('state')}, callback {callback}"


def durations(records: list[dict[str, Any]], start: str, end: str) -> list[float]:
    """Seconds from `start` to `end` of each record that has both."""
    return [
        (_time(r[end]) - _time(r[start])).total_seconds()
        for r in records
        if r.get(start) and r.get(end)
    ]


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def spread(seconds: list[float]) -> dict[str, float | None]:
    if not seconds:
        return {"median_ms": None, "p90_ms": None}
    ordered = sorted(seconds)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p90_ms": round(percentile(ordered, 0.9) * 1000, 1),
    }
