"""One-shot jobs: submit one, poll its record until it is final, repeat.

(g0) `docker run --rm` of the job's image and command, the reference; (g) `POST /system/jobs`
to the poll that finds the job's record in a final state.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench.cpu import CpuMeter
from bench.load import first_line, http_client
from bench.parts import progress
from bench.stats import Sample, Series
from faas.records import CallState

IMAGE = "faas/base-busybox:latest"
COMMAND = ("echo", "hi")
JOB_DOCKER, JOB = f"(g0) docker run {' '.join(COMMAND)}", "(g) job submit to final"
POLL = 0.01  # seconds between polls; with the GET itself, a poll every 10-20 ms
FINAL_TIMEOUT = 120.0


class JobError(Exception):
    """The job was not accepted, or its record could not be read or was not final in time."""


@dataclass(frozen=True)
class JobPlan:
    """`POST /system/jobs` with an image and command, `calls` times after `warmup`; a job's
    record must end `succeeded`, with `expected` as its output."""

    image: str
    command: tuple[str, ...]
    expected: str
    calls: int
    warmup: int

    async def sample(self, client: httpx.AsyncClient) -> Sample:
        started = time.perf_counter()
        try:
            record = await self._run(client)
        except (httpx.HTTPError, JobError) as exc:
            return Sample(time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        latency = time.perf_counter() - started
        return Sample(latency, self._error(record), record.get("durationSeconds"))

    async def _run(self, client: httpx.AsyncClient) -> dict[str, Any]:
        job = {"image": self.image, "command": list(self.command)}
        reply = await client.post("/system/jobs", json=job)
        if reply.status_code != 202:
            raise JobError(f"HTTP {reply.status_code}: {first_line(reply.content)}")
        return await final_record(client, reply.json()["callId"])

    def _error(self, record: dict[str, Any]) -> str | None:
        if record.get("state") != CallState.SUCCEEDED:
            return f"{record.get('state')}: {record.get('message', '')[:80]}"
        if record.get("output") != self.expected:
            return f"unexpected output {record.get('output', '')[:60]!r}"
        return None

    async def measure(self, base_url: str, pids: dict[str, int]) -> Series:
        """(g): uncounted warm-up jobs, then the measured ones, one after another."""
        warm = await self.series(base_url, self.warmup, CpuMeter())
        if warm_errors := warm.summary().error_kinds:
            progress(f"{JOB}: warm-up errors {warm_errors}")
        progress(f"{JOB}: {self.calls} jobs one at a time")
        return await self.series(base_url, self.calls, CpuMeter(pids))

    async def series(self, base_url: str, calls: int, meter: CpuMeter) -> Series:
        """`calls` jobs one after another, through one client and connection."""
        series = Series(JOB, 1, "final", versus=JOB_DOCKER)
        async with http_client(base_url) as client:
            await client.get("/healthz")
            meter.start()
            started = time.perf_counter()
            series.samples = [await self.sample(client) for _ in range(calls)]
            series.wall = time.perf_counter() - started
            series.cpu = meter.used()
        return series


async def final_record(client: httpx.AsyncClient, call_id: str) -> dict[str, Any]:
    """Poll `GET /system/calls/{id}` until the record's state is final."""
    deadline = time.monotonic() + FINAL_TIMEOUT
    while time.monotonic() < deadline:
        reply = await client.get(f"/system/calls/{call_id}")
        if reply.status_code != 200:
            raise JobError(f"GET /system/calls/{call_id}: HTTP {reply.status_code}")
        record: dict[str, Any] = reply.json()
        if CallState(record["state"]).final:
            return record
        await asyncio.sleep(POLL)
    raise JobError(f"{call_id} not final within {FINAL_TIMEOUT:g}s")
