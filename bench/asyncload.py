"""Async calls: submit them, time their 202s, and match each to its callback.

(d) the 202s of a burst at a concurrency; (e) the burst's drain, from the first submission to
the last callback; (f) each call's time from 202 to callback, in the burst and one at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from bench.cpu import CpuMeter
from bench.load import first_line, http_client
from bench.parts import progress
from bench.receiver import Arrival, CallbackReceiver
from bench.stats import Sample, Series

STALL = 60.0  # stop waiting for callbacks when none arrived for this long
SETTLE = 1.0  # seconds to wait after the last callback, so a duplicate would be seen
ACCEPT, DRAIN, LATENCY = "(d) async 202", "(e) async drain", "(f) async 202 to callback"


@dataclass(frozen=True)
class Accepted:
    """One submission: when it was sent and answered (perf_counter), the call id it got."""

    sent: float
    answered: float
    call_id: str  # "" when there was none
    error: str | None


@dataclass(frozen=True)
class AsyncCall:
    """`POST /async-function/NAME` with the body and `X-Callback-Url`; the answer must be 202."""

    base_url: str
    function: str
    body: bytes
    callback_url: str

    async def submit(self, client: httpx.AsyncClient) -> Accepted:
        path, headers = f"/async-function/{self.function}", {"X-Callback-Url": self.callback_url}
        sent = time.perf_counter()
        try:
            reply = await client.post(path, content=self.body, headers=headers)
        except httpx.HTTPError as exc:
            return Accepted(sent, time.perf_counter(), "", f"{type(exc).__name__}: {exc}")
        answered = time.perf_counter()
        call_id = reply.headers.get("x-call-id", "")
        return Accepted(sent, answered, call_id, _accept_error(reply, call_id))


def _accept_error(reply: httpx.Response, call_id: str) -> str | None:
    if reply.status_code != 202:
        return f"HTTP {reply.status_code}: {first_line(reply.content)}"
    return None if call_id else "202 without X-Call-Id"


@dataclass(frozen=True)
class AsyncPlan:
    """The async part on one stack: a burst at `concurrency`, then calls one at a time."""

    label: str  # the stack: "docker" or "echo"
    body: bytes
    expected: bytes  # the body every callback must carry
    calls: int
    concurrency: int
    latency_calls: int  # one at a time, each waiting for its callback
    warmup: int  # uncounted, one at a time

    def name(self, series: str) -> str:
        return f"{series}, {self.label}"


@dataclass
class Timed:
    """Submissions of one series and the CPU used from the first until the last callback."""

    accepted: list[Accepted]
    cpu: dict[str, float]


async def measure_async(
    gateway_url: str, function: str, plan: AsyncPlan, pids: dict[str, int]
) -> tuple[list[Series], list[str]]:
    """(d), (e) and (f) with a receiver of our own; also the ids of the calls measured."""
    with CallbackReceiver() as receiver:
        call = AsyncCall(gateway_url, function, plan.body, receiver.url)
        warm = await one_by_one(call, receiver, plan.warmup)
        if errors := [a.error for a in warm if a.error]:
            progress(f"{plan.name('async')}: warm-up errors {errors}")
        progress(f"{plan.name('async')}: {plan.calls} calls at concurrency {plan.concurrency}")
        burst = await timed_burst(call, receiver, plan, CpuMeter(pids))
        progress(f"{plan.name('async')}: {plan.latency_calls} calls one at a time")
        single = await timed_one_by_one(call, receiver, plan.latency_calls, CpuMeter(pids))
        await asyncio.sleep(SETTLE)
        series = async_series(plan, receiver, burst, single)
        series[1].samples += unexpected(receiver, [*warm, *burst.accepted, *single.accepted])
    return series, [a.call_id for a in [*burst.accepted, *single.accepted] if a.call_id]


def async_series(
    plan: AsyncPlan, receiver: CallbackReceiver, burst: Timed, single: Timed
) -> list[Series]:
    """(d) the burst's 202s, (e) its callbacks, (f) the callbacks one at a time."""
    accept = Series(plan.name(ACCEPT), plan.concurrency, "202")
    accept.samples = [Sample(a.answered - a.sent, a.error) for a in burst.accepted]
    accept.wall = max((a.answered for a in burst.accepted), default=0.0) - first_sent(burst)
    drain = callback_series(plan.name(DRAIN), plan.concurrency, receiver, burst, plan.expected)
    latency = callback_series(plan.name(LATENCY), 1, receiver, single, plan.expected)
    return [accept, drain, latency]


def callback_series(
    name: str, concurrency: int, receiver: CallbackReceiver, timed: Timed, expected: bytes
) -> Series:
    """Each call's 202 to its callback; wall time from the first submission to the last
    callback."""
    series = Series(name, concurrency, "callback", cpu=timed.cpu)
    arrivals = [(a, receiver.arrived(a.call_id)) for a in timed.accepted]
    series.samples = [callback_sample(a, got, expected) for a, got in arrivals]
    last = max((x.at for _, got in arrivals for x in got), default=first_sent(timed))
    series.wall = last - first_sent(timed)
    return series


def callback_sample(accepted: Accepted, got: list[Arrival], expected: bytes) -> Sample:
    """Right only if it arrived once, said status 200 and carried the expected body."""
    if accepted.error:
        return Sample(0.0, f"not accepted: {accepted.error}")
    if not got:
        return Sample(0.0, "no callback")
    first = got[0]
    latency = first.at - accepted.answered  # may be < 0: a callback can beat its 202 here
    if len(got) > 1:
        return Sample(latency, f"{len(got)} callbacks for one call")
    if first.status != "200":
        return Sample(latency, f"X-Function-Status {first.status}: {first_line(first.body)}")
    if first.body != expected:
        return Sample(latency, f"unexpected callback body {first.body[:60]!r}")
    return Sample(latency, None, first.run_seconds)


def unexpected(receiver: CallbackReceiver, accepted: list[Accepted]) -> list[Sample]:
    """An error for every callback of a call id that none of our 202s gave."""
    extra = receiver.unexpected({a.call_id for a in accepted})
    return [Sample(0.0, "callback for an unknown call id")] * sum(extra.values())


def first_sent(timed: Timed) -> float:
    return min((a.sent for a in timed.accepted), default=0.0)


async def timed_burst(
    call: AsyncCall, receiver: CallbackReceiver, plan: AsyncPlan, meter: CpuMeter
) -> Timed:
    """Submit at the plan's concurrency, then wait for the callbacks."""
    clients = [http_client(call.base_url) for _ in range(plan.concurrency)]
    try:
        await asyncio.gather(*(c.get("/healthz") for c in clients))
        meter.start()
        accepted = await burst(call, clients, plan.calls)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    await wait_callbacks(receiver, accepted)
    return Timed(accepted, meter.used())


async def burst(call: AsyncCall, clients: list[httpx.AsyncClient], calls: int) -> list[Accepted]:
    """`calls` submissions, each client sending its next as soon as the last is answered."""
    left, accepted = iter(range(calls)), list[Accepted]()
    async with asyncio.TaskGroup() as group:
        for client in clients:
            group.create_task(_submitter(call, client, left, accepted))
    return accepted


async def _submitter(
    call: AsyncCall, client: httpx.AsyncClient, left: Iterator[int], accepted: list[Accepted]
) -> None:
    for _ in left:
        accepted.append(await call.submit(client))


async def timed_one_by_one(
    call: AsyncCall, receiver: CallbackReceiver, calls: int, meter: CpuMeter
) -> Timed:
    meter.start()
    accepted = await one_by_one(call, receiver, calls)
    return Timed(accepted, meter.used())


async def one_by_one(call: AsyncCall, receiver: CallbackReceiver, calls: int) -> list[Accepted]:
    """Submit one, wait for its callback, repeat; stop early if a callback never comes."""
    accepted: list[Accepted] = []
    async with http_client(call.base_url) as client:
        await client.get("/healthz")
        for _ in range(calls):
            accepted.append(await call.submit(client))
            if not await wait_callbacks(receiver, accepted[-1:]):
                break
    return accepted


async def wait_callbacks(receiver: CallbackReceiver, accepted: list[Accepted]) -> bool:
    """Until every accepted call has had its callback; False if they stopped coming."""
    ids = [a.call_id for a in accepted if a.call_id]
    missing = await asyncio.to_thread(receiver.wait, ids, STALL)
    if missing:
        progress(f"no callback for {len(missing)} of {len(ids)} calls in {STALL:g}s")
    return not missing
