"""Series of calls: `docker run` one after another, and HTTP calls at a given concurrency."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from bench.cpu import CpuMeter
from bench.stats import Sample, Series

CALL_TIMEOUT = 120.0


@dataclass(frozen=True)
class DockerRun:
    """`docker run -i --rm --network NETWORK IMAGE [COMMAND]` with a body on stdin; without a
    body, no `-i`."""

    image: str
    network: str
    body: bytes
    command: tuple[str, ...] = ()

    @property
    def argv(self) -> list[str]:
        stdin = ["-i"] if self.body else []
        return [
            "docker",
            "run",
            *stdin,
            "--rm",
            "--network",
            self.network,
            self.image,
            *self.command,
        ]

    def once(self) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            self.argv, input=self.body, capture_output=True, timeout=CALL_TIMEOUT, check=False
        )

    def sample(self, expected: bytes) -> Sample:
        started = time.perf_counter()
        done = self.once()
        latency = time.perf_counter() - started
        return Sample(latency, _docker_error(done, expected))

    def series(self, name: str, calls: int, expected: bytes) -> Series:
        series = Series(name, concurrency=1)
        meter = CpuMeter(children=True)
        meter.start()
        started = time.perf_counter()
        series.samples = [self.sample(expected) for _ in range(calls)]
        series.wall = time.perf_counter() - started
        series.cpu = meter.used()
        return series


def _docker_error(done: subprocess.CompletedProcess[bytes], expected: bytes) -> str | None:
    if done.returncode != 0:
        return f"exit {done.returncode}: {first_line(done.stderr)}"
    if done.stdout != expected:
        return f"unexpected output {done.stdout[:60]!r}"
    return None


def first_line(text: bytes) -> str:
    lines = text.decode(errors="replace").strip().splitlines()
    return lines[0][:120] if lines else ""


def http_client(base_url: str) -> httpx.AsyncClient:
    """A client of one caller: a single keep-alive connection."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(base_url=base_url, timeout=CALL_TIMEOUT, limits=limits)


@dataclass(frozen=True)
class HttpCall:
    """One request to a gateway; the answer must be 200 with `expected` as its body."""

    base_url: str
    method: str
    path: str
    body: bytes
    expected: bytes

    async def sample(self, client: httpx.AsyncClient) -> Sample:
        started = time.perf_counter()
        try:
            reply = await client.request(self.method, self.path, content=self.body)
        except httpx.HTTPError as exc:
            return Sample(time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        latency = time.perf_counter() - started
        return Sample(latency, _http_error(reply, self.expected), _run_seconds(reply))

    async def series(self, name: str, calls: int, concurrency: int, meter: CpuMeter) -> Series:
        """`calls` calls from `concurrency` callers, each sending its next call when answered.

        Each caller has its own client and connection, opened before the clock starts: one
        shared httpx pool hands connections out unfairly and adds outliers of its own.
        """
        clients = [http_client(self.base_url) for _ in range(concurrency)]
        try:
            await asyncio.gather(*(c.get("/healthz") for c in clients))
            return await self._timed(Series(name, concurrency), calls, clients, meter)
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))

    async def _timed(
        self, series: Series, calls: int, clients: list[httpx.AsyncClient], meter: CpuMeter
    ) -> Series:
        left = iter(range(calls))
        meter.start()
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for client in clients:
                group.create_task(self._caller(client, left, series))
        series.wall = time.perf_counter() - started
        series.cpu = meter.used()
        return series

    async def _caller(self, client: httpx.AsyncClient, left: Iterator[int], series: Series) -> None:
        for _ in left:
            series.samples.append(await self.sample(client))


def _http_error(reply: httpx.Response, expected: bytes) -> str | None:
    if reply.status_code != 200:
        return f"HTTP {reply.status_code}: {first_line(reply.content)}"
    if reply.content != expected:
        return f"unexpected body {reply.content[:60]!r}"
    return None


def _run_seconds(reply: httpx.Response) -> float | None:
    raw = reply.headers.get("x-duration-seconds")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None
