"""The two container runtimes against plain `docker run`, on the same images, in one run.

    .venv/bin/python -m bench.runtimes [--quick] [--calls 40] [--concurrent-calls 80]

For each image (default `faas/wc:latest`, busybox, and `faas/hello:latest`, Python): (a)
`docker run -i --rm --network none` one after another; then a call end to end through a real
gateway, nats-server and watchdog with `--runtime docker` and with `--runtime runc`, at
concurrency 1 and 8. Prints a table and the targets of the daemonless runtime, writes
bench/results/runtimes.json; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bench import containers, report
from bench.cpu import CpuMeter, pids_named
from bench.load import DockerRun, HttpCall
from bench.parts import ROOT, BenchError, Launcher, progress, with_launcher
from bench.run import expected_output, fresh_logs
from bench.stack import FUNCTION, Stack, deploy, docker_watchdog, start_stack
from bench.stats import Series, Summary
from faas.errors import Error

RESULTS = ROOT / "bench" / "results"
RUNTIMES = ("docker", "runc")
DAEMONS = ("dockerd", "containerd")  # the Docker engine's share of a call's CPU
# The daemonless runtime's targets: (image, median of runc at concurrency 1 over docker run)
MEDIAN_TARGETS = {"faas/wc:latest": 0.10, "faas/hello:latest": 0.20}
THROUGHPUT_TARGET = 10.0  # runc's calls/s at concurrency 8 over the Docker runtime's


@dataclass(frozen=True)
class Options:
    images: tuple[str, ...] = ("faas/wc:latest", "faas/hello:latest")
    body: str = "one two\nthree\n"
    calls: int = 40  # (a), and each runtime at concurrency 1
    concurrent_calls: int = 80  # each runtime at --concurrency
    concurrency: int = 8
    warmup: int = 3


QUICK = Options(calls=5, concurrent_calls=16, warmup=1)


def options(argv: Sequence[str] | None) -> Options:
    d = Options()
    p = argparse.ArgumentParser(prog="python -m bench.runtimes", description=__doc__.split("\n")[0])
    p.add_argument("--image", action="append", dest="images", help="image (repeatable)")
    p.add_argument("--calls", type=int, help=f"(a) and concurrency 1 (default {d.calls})")
    p.add_argument("--concurrent-calls", type=int, help=f"default {d.concurrent_calls}")
    p.add_argument("--concurrency", type=int, help=f"default {d.concurrency}")
    p.add_argument("--warmup", type=int, help=f"uncounted calls first (default {d.warmup})")
    p.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    args = p.parse_args(argv)
    given = {k: v for k, v in vars(args).items() if v is not None and k in Options.__annotations__}
    if "images" in given:
        given["images"] = tuple(given["images"])
    opts = replace(QUICK if args.quick else d, **given)
    if min(opts.calls, opts.concurrent_calls, opts.concurrency, opts.warmup) < 1:
        p.error("counts, --concurrency and --warmup must be at least 1")
    return opts


def label(runtime: str, image: str) -> str:
    return f"{runtime} {short(image)}"


def short(image: str) -> str:
    return image.split("/")[-1].split(":")[0]


def meter(stack: Stack) -> CpuMeter:
    """The stack's processes, the watchdog's reaped children (runc, containers), the Docker
    engine's daemons and the machine's total."""
    pids = stack.pids | {name: pid for name in DAEMONS for pid in pids_named(name)[:1]}
    return CpuMeter(pids, reaped={"runc+containers": pids["watchdog"]}, machine=True)


async def series(stack: Stack, opts: Options, image: str, expected: bytes) -> list[Series]:
    call = HttpCall(
        stack.gateway_url, "POST", f"/function/{FUNCTION}", opts.body.encode(), expected
    )
    name = label(stack.name, image)
    measured = []
    for concurrency, calls in ((1, opts.calls), (opts.concurrency, opts.concurrent_calls)):
        await call.series(name, max(opts.warmup, concurrency), concurrency, CpuMeter())
        progress(f"{name}, concurrency {concurrency}: {calls} calls")
        done = await call.series(name, calls, concurrency, meter(stack))
        done.versus = f"(a) docker run {short(image)}"
        measured.append(done)
    return measured


def on_runtime(
    launcher: Launcher, runtime: str, opts: Options, expected: dict[str, bytes]
) -> list[Series]:
    progress(f"{runtime}: starting NATS, a gateway and a watchdog --runtime {runtime}")
    stack = start_stack(launcher, runtime, docker_watchdog(opts.concurrency, runtime))
    try:
        measured = []
        for image in opts.images:
            deploy(stack, image, "none")
            measured += asyncio.run(series(stack, opts, image, expected[image]))
        return measured
    finally:
        launcher.stop(stack.processes)


def measure(opts: Options, launcher: Launcher) -> list[Series]:
    measured, expected = [], {}
    for image in opts.images:
        run = DockerRun(image, "none", opts.body.encode())
        name = f"(a) docker run {short(image)}"
        progress(f"{name}: {opts.warmup} warm-up + {opts.calls} calls")
        expected[image] = expected_output(run, opts.warmup)
        measured.append(run.series(name, opts.calls, expected[image]))
    for runtime in RUNTIMES:
        measured += on_runtime(launcher, runtime, opts, expected)
    return measured


def targets(summaries: list[Summary], images: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each target of the runtime issue: the ratio measured and whether it is met."""
    by = {(s.name, s.concurrency): s for s in summaries}
    found = []
    for image in images:
        docker_run = by.get((f"(a) docker run {short(image)}", 1))
        runc1 = by.get((label("runc", image), 1))
        if image in MEDIAN_TARGETS and docker_run and runc1:
            value = report.ratio(runc1.median_ms, docker_run.median_ms)
            found.append(_target(f"runc {short(image)} median / docker run", value, "<=",
                                 MEDIAN_TARGETS[image]))  # fmt: skip
        conc = max(s.concurrency for s in summaries)
        runc8, docker8 = (
            by.get((label("runc", image), conc)),
            by.get((label("docker", image), conc)),
        )
        if runc8 and docker8:
            value = report.ratio(runc8.calls_per_s, docker8.calls_per_s)
            name = f"runc {short(image)} calls/s / docker runtime's, concurrency {conc}"
            found.append(_target(name, value, ">=", THROUGHPUT_TARGET))
    return found


def _target(name: str, value: float | None, op: str, bound: float) -> dict[str, Any]:
    met = value is not None and (value <= bound if op == "<=" else value >= bound)
    return {"target": name, "measured": value, "bound": f"{op} {bound:g}", "met": met}


def targets_table(found: list[dict[str, Any]]) -> str:
    rows = [["target", "measured", "bound", "met"]]
    rows += [
        [t["target"], f"{t['measured']}", t["bound"], "yes" if t["met"] else "NO"] for t in found
    ]
    return report.grid(rows)


def main(argv: Sequence[str] | None = None) -> int:
    opts = options(argv)
    logs = fresh_logs()
    before = {c.id for c in containers.call_containers()}
    started = datetime.now(UTC)
    try:
        measured = with_launcher(logs, lambda launcher: measure(opts, launcher))
    except Error as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    left = [c for c in containers.call_containers() if c.id not in before]
    summaries = [s.summary() for s in measured]
    found = targets(summaries, opts.images)
    print(report.table(summaries))
    print()
    print(report.cpu_table(summaries, roles=(*report.CPU_ROLES, "runc+containers", *DAEMONS)))
    print("CPU: runc+containers is what the watchdog's reaped children used: runc, containers;")
    print("     machine is every process on the machine, idle left out")
    print()
    print(targets_table(found))
    if errors := report.errors(summaries):
        print("\nerrors:\n" + errors)
    path = RESULTS / "runtimes.json"
    report.write_json(
        path,
        report.document(
            summaries,
            started=started.isoformat(timespec="seconds"),
            options=asdict(opts),
            targets=found,
            leftover_containers=[c.to_json() for c in left],
        ),
    )
    print(f"\ncontainers of calls left behind: {len(left) or 'none'}")
    print(f"JSON: {path.relative_to(ROOT)}   logs: {logs.relative_to(ROOT)}/")
    return 0 if not left and not any(s.errors for s in summaries) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(1)
