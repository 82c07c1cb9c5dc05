"""Time calls through the platform against plain `docker run` of the same image, in one run.

    .venv/bin/python -m bench.run [--quick] [--image IMAGE] [--network bridge|none] ...

(a) `docker run -i --rm` one after another; (b) the gateway, NATS and a Docker watchdog end to
end, at concurrency 1 and 8; (c) the gateway and NATS alone, with a watchdog that runs no
container; (d), (e), (f) async calls on both stacks: their 202s, the drain of a burst, the time
from 202 to callback; (g) one-shot jobs against (g0) `docker run` of the same command; (h) how
late a schedule's ticks fire. Prints tables, writes bench/results/latest.json; see
bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import callrecords, containers, jobs, report
from bench.asyncload import AsyncPlan, measure_async
from bench.callrecords import Phases
from bench.cpu import CpuMeter
from bench.jobs import JOB_DOCKER, JobPlan
from bench.load import DockerRun, HttpCall
from bench.parts import ROOT, BenchError, Launcher, progress, with_launcher
from bench.stack import (
    FUNCTION,
    Stack,
    WatchdogKind,
    deploy,
    docker_watchdog,
    echo_watchdog,
    start_stack,
)
from bench.stats import Series, Summary
from bench.ticks import Precision, measure_ticks
from faas.errors import Error

RESULTS = ROOT / "bench" / "results"
DOCKER = "(a) docker run"
PLATFORM = "(b) gateway+watchdog"
ECHO = "(c) gateway+echo"
HEALTHZ = "(c0) GET /healthz"  # reference: the HTTP client and server alone


@dataclass(frozen=True)
class Options:
    image: str = "faas/hello:latest"
    network: str = "bridge"
    body: str = "world"
    calls: int = 80  # (a), and (b) at concurrency 1
    concurrent_calls: int = 200  # (b) at the higher concurrency
    echo_calls: int = 2000  # (c) at concurrency 1
    echo_concurrent_calls: int = 4000  # (c) at the higher concurrency
    concurrency: int = 8
    capacity: int = os.cpu_count() or 1  # of the Docker watchdog
    echo_capacity: int = 64
    warmup: int = 3  # uncounted calls before each series of (a) and (b)
    echo_warmup: int = 100  # uncounted calls before each series of (c)
    async_calls: int = 200  # (d) and (e): a burst at --concurrency, on each stack
    async_latency_calls: int = 25  # (f) one at a time, each waiting for its callback
    ticks: int = 20  # (h): ticks of a schedule firing every second
    no_async: bool = False  # also no (g) and (h)


QUICK = Options(
    calls=5,
    concurrent_calls=16,
    echo_calls=200,
    echo_concurrent_calls=400,
    warmup=1,
    echo_warmup=20,
    async_calls=16,
    async_latency_calls=3,
    ticks=8,
)


@dataclass(frozen=True)
class Step:
    """One measured series against a stack, with its uncounted warm-up."""

    label: str
    method: str
    path: str
    body: bytes
    expected: bytes
    concurrency: int
    calls: int
    warmup: int

    def call(self, base_url: str) -> HttpCall:
        return HttpCall(base_url, self.method, self.path, self.body, self.expected)


def parser() -> argparse.ArgumentParser:
    d = Options()
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--image", default=d.image, help=f"image to run (default {d.image})")
    p.add_argument("--network", choices=("bridge", "none"), default=d.network)
    p.add_argument("--body", default=d.body, help=f"request body (default {d.body!r})")
    p.add_argument("--calls", type=int, help=f"(a) and (b) at concurrency 1 (default {d.calls})")
    p.add_argument(
        "--concurrent-calls", type=int, help=f"(b) at --concurrency (default {d.concurrent_calls})"
    )
    p.add_argument("--echo-calls", type=int, help=f"(c) at concurrency 1 (default {d.echo_calls})")
    p.add_argument(
        "--echo-concurrent-calls",
        type=int,
        help=f"(c) at --concurrency (default {d.echo_concurrent_calls})",
    )
    p.add_argument("--concurrency", type=int, default=d.concurrency, help="(default 8)")
    p.add_argument("--capacity", type=int, help="Docker watchdog's capacity (default: CPU count)")
    p.add_argument("--echo-capacity", type=int, default=d.echo_capacity, help="(default 64)")
    p.add_argument(
        "--warmup",
        type=int,
        help=f"uncounted calls before (a), (b) and the async series (default {d.warmup})",
    )
    p.add_argument(
        "--echo-warmup",
        type=int,
        help=f"uncounted calls before (c) series (default {d.echo_warmup})",
    )
    p.add_argument(
        "--async-calls",
        type=int,
        help=f"(d) and (e): async calls at --concurrency (default {d.async_calls})",
    )
    p.add_argument(
        "--async-latency-calls",
        type=int,
        help=f"(f): async calls one at a time (default {d.async_latency_calls})",
    )
    p.add_argument(
        "--ticks", type=int, help=f"(h): ticks of a schedule @every 1s (default {d.ticks})"
    )
    p.add_argument("--no-async", action="store_true", help="skip (d) to (h)")
    p.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    return p


def options(argv: Sequence[str] | None) -> Options:
    p = parser()
    args = p.parse_args(argv)
    chosen = QUICK if args.quick else Options()
    given = {
        k: v for k, v in vars(args).items() if v is not None and k in Options.__dataclass_fields__
    }
    opts = replace(chosen, **given)
    counts = [opts.calls, opts.concurrent_calls, opts.echo_calls, opts.echo_concurrent_calls]
    if not opts.no_async:
        counts += [opts.async_calls, opts.async_latency_calls, opts.ticks]
    if min(*counts, opts.concurrency, opts.capacity, opts.echo_capacity, opts.warmup) < 1:
        p.error("counts, concurrency, capacities and --warmup must be at least 1")
    return opts


def expected_output(run: DockerRun, warmup: int) -> bytes:
    """Warm `docker run` up (uncounted); the first output is what every call must answer."""
    first = run.once()
    if first.returncode != 0:
        raise BenchError(f"{' '.join(run.argv)} failed: {first.stderr.decode().strip()}")
    for _ in range(warmup - 1):
        run.once()
    return first.stdout


async def measure_steps(stack: Stack, steps: list[Step]) -> list[Series]:
    measured = []
    for step in steps:
        call = step.call(stack.gateway_url)
        name = f"{step.label}, concurrency {step.concurrency}"
        warm = await call.series(
            name, max(step.warmup, step.concurrency), step.concurrency, CpuMeter()
        )
        if warm_errors := warm.summary().error_kinds:
            progress(f"{name}: warm-up errors {warm_errors}")
        progress(f"{name}: {step.calls} calls")
        meter = CpuMeter(stack.pids)
        measured.append(await call.series(step.label, step.calls, step.concurrency, meter))
    return measured


@dataclass
class Measured:
    """What the stacks gave: sync series, async series, the async calls' records, the jobs'
    series ((g0) and (g)) and the schedule's ticks ((h))."""

    sync: list[Series] = field(default_factory=list)
    async_series: list[Series] = field(default_factory=list)
    records: list[Phases] = field(default_factory=list)
    jobs: list[Series] = field(default_factory=list)
    ticks: list[Precision] = field(default_factory=list)

    def add(self, other: Measured) -> None:
        self.sync += other.sync
        self.async_series += other.async_series
        self.records += other.records
        self.jobs += other.jobs
        self.ticks += other.ticks

    def summaries(self) -> list[Summary]:
        """The sync series in the order run, then (d), (e), (f), each for both stacks, then
        (g0) and (g)."""
        ordered = self.sync + sorted(self.async_series, key=lambda s: s.name) + self.jobs
        return [s.summary() for s in ordered]


@dataclass(frozen=True)
class StackPlan:
    """One stack to start and what to measure on it."""

    name: str
    kind: WatchdogKind
    steps: list[Step]
    async_plan: AsyncPlan | None
    job_plan: JobPlan | None = None
    ticks: int = 0  # (h) when above 0


async def measure_on(stack: Stack, plan: StackPlan) -> Measured:
    """The sync steps, then the async part and the jobs, if any."""
    measured = Measured(sync=await measure_steps(stack, plan.steps))
    if plan.async_plan is not None:
        series, call_ids = await measure_async(
            stack.gateway_url, FUNCTION, plan.async_plan, stack.pids
        )
        measured.async_series = series
        name = plan.async_plan.name("async")
        measured.records = [await callrecords.phases(stack.gateway_url, name, call_ids)]
    if plan.job_plan is not None:
        measured.jobs = [await plan.job_plan.measure(stack.gateway_url, stack.pids)]
    return measured


def measure_stack(launcher: Launcher, plan: StackPlan, opts: Options) -> tuple[Measured, str]:
    """Start a stack, deploy the function, run the steps, stop the stack."""
    progress(f"{plan.name}: starting NATS, a gateway and a watchdog")
    stack = start_stack(launcher, plan.name, plan.kind)
    try:
        deploy(stack, opts.image, opts.network)
        measured = asyncio.run(measure_on(stack, plan))
        if plan.ticks:
            measured.ticks = [ticks_on(launcher, stack, plan.ticks)]
        return measured, stack.watchdog_id
    finally:
        launcher.stop(stack.processes)  # before the next stack, so they do not share the CPUs


def ticks_on(launcher: Launcher, stack: Stack, ticks: int) -> Precision:
    """(h) with a second gateway on the stack's NATS: both fire every tick, one claims it."""
    progress(f"{stack.name}: starting a second gateway for {ticks} ticks of a schedule")
    _, second = launcher.gateway(f"{stack.name}-gateway-2", stack.nats_url)
    try:
        return measure_ticks(stack.gateway_url, 2, ticks)
    finally:
        launcher.stop([second])


def invoke_steps(
    label: str, body: bytes, expected: bytes, counts: tuple[int, int], warmup: int, concurrency: int
) -> list[Step]:
    """POST the body to the function at concurrency 1, then at the higher concurrency."""
    path = f"/function/{FUNCTION}"
    return [
        Step(label, "POST", path, body, expected, 1, counts[0], warmup),
        Step(label, "POST", path, body, expected, concurrency, counts[1], warmup),
    ]


def healthz_steps(counts: tuple[int, int], warmup: int, concurrency: int) -> list[Step]:
    """The HTTP floor: the same client against the gateway's /healthz (no NATS, no watchdog)."""
    return [
        Step(HEALTHZ, "GET", "/healthz", b"", b"OK\n", 1, counts[0], warmup),
        Step(HEALTHZ, "GET", "/healthz", b"", b"OK\n", concurrency, counts[1], warmup),
    ]


def async_plan(opts: Options, label: str, body: bytes, expected: bytes) -> AsyncPlan | None:
    """(d), (e) and (f) on one stack, unless --no-async."""
    if opts.no_async:
        return None
    return AsyncPlan(
        label,
        body,
        expected,
        opts.async_calls,
        opts.concurrency,
        opts.async_latency_calls,
        opts.warmup,
    )


def stacks(
    opts: Options, body: bytes, expected: bytes, job_plan: JobPlan | None
) -> list[StackPlan]:
    """(b) with the Docker watchdog, then (g) and (h); (c) and the /healthz reference with the
    echo watchdog; the async part on both."""
    concurrency = opts.concurrency
    docker_counts = (opts.calls, opts.concurrent_calls)
    echo_counts = (opts.echo_calls, opts.echo_concurrent_calls)
    platform_steps = invoke_steps(PLATFORM, body, expected, docker_counts, opts.warmup, concurrency)
    echo_steps = invoke_steps(ECHO, body, body, echo_counts, opts.echo_warmup, concurrency)
    echo_steps += healthz_steps(echo_counts, opts.echo_warmup, concurrency)
    return [
        StackPlan(
            "docker",
            docker_watchdog(opts.capacity),
            platform_steps,
            async_plan(opts, "docker", body, expected),
            job_plan,
            0 if opts.no_async else opts.ticks,
        ),
        StackPlan(
            "echo",
            echo_watchdog(opts.echo_capacity),
            echo_steps,
            async_plan(opts, "echo", body, body),
        ),
    ]


def job_reference(opts: Options) -> tuple[Series, JobPlan]:
    """(g0) `docker run --rm` of the job's image and command; the plan of (g) to compare."""
    run = DockerRun(jobs.IMAGE, "bridge", b"", jobs.COMMAND)
    progress(f"{JOB_DOCKER}: {opts.warmup} warm-up + {opts.calls} calls")
    expected = expected_output(run, opts.warmup)
    reference = run.series(JOB_DOCKER, opts.calls, expected)
    reference.versus = JOB_DOCKER
    plan = JobPlan(jobs.IMAGE, jobs.COMMAND, expected.decode(), opts.calls, opts.warmup)
    return reference, plan


def measure(opts: Options, launcher: Launcher, watchdogs: list[str]) -> Measured:
    body = opts.body.encode()
    run = DockerRun(opts.image, opts.network, body)
    progress(f"{DOCKER}: {opts.warmup} warm-up + {opts.calls} calls")
    expected = expected_output(run, opts.warmup)
    measured = Measured(sync=[run.series(DOCKER, opts.calls, expected)])
    job_plan = None
    if not opts.no_async:
        reference, job_plan = job_reference(opts)
        measured.jobs.append(reference)
    for plan in stacks(opts, body, expected, job_plan):
        on_stack, watchdog_id = measure_stack(launcher, plan, opts)
        watchdogs.append(watchdog_id)
        measured.add(on_stack)
    return measured


def leftovers(before: set[str], watchdogs: list[str]) -> list[containers.CallContainer]:
    """`faas.call` containers that were not there before; those of our watchdogs are removed."""
    found = [c for c in containers.call_containers() if c.id not in before]
    containers.remove([c for c in found if c.watchdog in watchdogs])
    return found


def host() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "docker": containers.engine_version(),
    }


def fresh_logs() -> Path:
    logs = RESULTS / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    return logs


def exit_on_sigterm() -> None:
    """SIGTERM ends the run like Ctrl-C does, through the finally blocks that stop everything."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def main(argv: Sequence[str] | None = None) -> int:
    opts = options(argv)
    exit_on_sigterm()
    logs = fresh_logs()
    before = {c.id for c in containers.call_containers()}
    watchdogs: list[str] = []
    started = datetime.now(UTC)
    try:
        measured = with_launcher(logs, lambda launcher: measure(opts, launcher, watchdogs))
    except Error as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        left = leftovers(before, watchdogs)
        print_leftovers(left)
    summaries = measured.summaries()
    data = report.document(
        summaries,
        started=started.isoformat(timespec="seconds"),
        host=host(),
        options=asdict(opts),
        leftover_containers=[c.to_json() for c in left],
        logs=str(logs.relative_to(ROOT)),
        async_records=[r.to_json() for r in measured.records],
        schedule=[t.to_json() for t in measured.ticks],
    )
    return publish(summaries, measured, data, ok=not left)


def print_leftovers(left: list[containers.CallContainer]) -> None:
    if left:
        print(f"bench: containers labelled faas.call left behind: {len(left)}", file=sys.stderr)
    for c in left:
        print(f"  {c.id} {c.status} watchdog={c.watchdog} call={c.call}", file=sys.stderr)


def publish(summaries: list[Summary], measured: Measured, data: dict[str, Any], ok: bool) -> int:
    """Print the tables and the errors, write the JSON; 1 if any call or job failed, an async
    call's record did not end well or a container was left. (h) is reported, not judged."""
    records = measured.records
    print(report.table(summaries))
    if measured.jobs:
        print("(g): latency from the submission to the poll that found the record final;")
        print("     (g)'s ratios are against (g0); in runner: the record's durationSeconds")
    if records:
        print("(d): latency is the wait for the 202; (e), (f): from the 202 to the callback")
        print()
        print(report.phases_table(records))
    if measured.ticks:
        print()
        print(report.ticks_table(measured.ticks))
        print("(h): ms from each tick to its record's createdAt (late) and startedAt (start)")
    print()
    print(report.cpu_table(summaries))
    if errors := report.errors(summaries):
        print("\nerrors:\n" + errors)
    if odd := report.odd_records(records):
        print("\nasync call records not 'succeeded, callback delivered':\n" + odd)
    path = RESULTS / "latest.json"
    report.write_json(path, data)
    left = len(data["leftover_containers"])
    print(f"\ncontainers labelled faas.call left behind: {left or 'none'}")
    print(f"JSON: {path.relative_to(ROOT)}   logs: {data['logs']}/")
    failed = any(s.errors for s in summaries) or any(r.odd for r in records)
    return 0 if ok and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
