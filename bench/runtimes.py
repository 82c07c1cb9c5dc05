"""The three container runtimes against plain `docker run`, on the same images, in one run.

    .venv/bin/python -m bench.runtimes [--quick] [--calls 40] [--concurrent-calls 80]

For each image (default `faas/wc:latest`, busybox, and `faas/hello:latest`, Python): (a)
`docker run -i --rm --network none` one after another; and a call end to end through a real
gateway, nats-server and watchdog with `--runtime docker`, `--runtime runc` and
`--runtime crun`, at concurrency 1 and 8. The series of an image run in `--rounds`
interleaved rounds, each with its share of the calls, so that the machine's drift weighs on
every side of a ratio alike.
Prints a table and the targets of the daemonless runtimes, writes
bench/results/runtimes.json; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bench import containers, report
from bench.cpu import CpuMeter, pids_named
from bench.load import DockerRun, HttpCall
from bench.parts import ROOT, BenchError, Launcher, progress, with_launcher
from bench.run import expected_output, fresh_logs
from bench.stack import FUNCTION, Stack, deploy, docker_watchdog, start_stack
from bench.stats import Series, Summary, merged
from faas.errors import Error

RESULTS = ROOT / "bench" / "results"
OCI_RUNTIMES = ("crun", "runc")  # the daemonless ones, each with the targets below
RUNTIMES = ("docker", *OCI_RUNTIMES)
DAEMONS = ("dockerd", "containerd")  # the Docker engine's share of a call's CPU
REAPED = "runtime+containers"  # the watchdog's reaped children: crun or runc, containers
# The daemonless runtimes' targets: (image, median at concurrency 1 over docker run)
MEDIAN_TARGETS = {"faas/wc:latest": 0.10, "faas/hello:latest": 0.20}
THROUGHPUT_TARGET = 10.0  # calls/s at concurrency 8 over the Docker runtime's


@dataclass(frozen=True)
class Options:
    images: tuple[str, ...] = ("faas/wc:latest", "faas/hello:latest")
    body: str = "one two\nthree\n"
    calls: int = 40  # (a), and each runtime at concurrency 1
    concurrent_calls: int = 80  # each runtime at --concurrency
    concurrency: int = 8
    warmup: int = 3
    rounds: int = 2  # each series split into this many slices, run in turn with the others


QUICK = Options(calls=5, concurrent_calls=16, warmup=1, rounds=1)


def options(argv: Sequence[str] | None) -> Options:
    d = Options()
    p = argparse.ArgumentParser(prog="python -m bench.runtimes", description=__doc__.split("\n")[0])
    p.add_argument("--image", action="append", dest="images", help="image (repeatable)")
    p.add_argument("--calls", type=int, help=f"(a) and concurrency 1 (default {d.calls})")
    p.add_argument("--concurrent-calls", type=int, help=f"default {d.concurrent_calls}")
    p.add_argument("--concurrency", type=int, help=f"default {d.concurrency}")
    p.add_argument("--warmup", type=int, help=f"uncounted calls first (default {d.warmup})")
    p.add_argument("--rounds", type=int, help=f"interleaved rounds (default {d.rounds})")
    p.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    args = p.parse_args(argv)
    given = {k: v for k, v in vars(args).items() if v is not None and k in Options.__annotations__}
    if "images" in given:
        given["images"] = tuple(given["images"])
    opts = replace(QUICK if args.quick else d, **given)
    if min(opts.calls, opts.concurrent_calls, opts.concurrency, opts.warmup, opts.rounds) < 1:
        p.error("counts, --concurrency, --warmup and --rounds must be at least 1")
    return opts


def label(runtime: str, image: str) -> str:
    return f"{runtime} {short(image)}"


def short(image: str) -> str:
    return image.split("/")[-1].split(":")[0]


def meter(stack: Stack) -> CpuMeter:
    """The stack's processes, the watchdog's reaped children (crun or runc, containers),
    the Docker engine's daemons and the machine's total."""
    pids = stack.pids | {name: pid for name in DAEMONS for pid in pids_named(name)[:1]}
    return CpuMeter(pids, reaped={REAPED: pids["watchdog"]}, machine=True)


@dataclass(frozen=True)
class Step:
    """One series of an image: `calls` calls at `concurrency`, a slice of them per round."""

    name: str
    concurrency: int
    calls: int
    run: Callable[[int], Series]  # calls -> the series of that many


def steps_of(
    stacks: list[Stack], opts: Options, plain: DockerRun, image: str, expected: bytes
) -> list[Step]:
    """(a) `plain`, then each runtime's calls at concurrency 1, then each one's at
    --concurrency."""
    alone = f"(a) docker run {short(image)}"
    steps = [Step(alone, 1, opts.calls, lambda n: plain.series(alone, n, expected))]
    for concurrency, calls in ((1, opts.calls), (opts.concurrency, opts.concurrent_calls)):
        for stack in stacks:
            name, call = label(stack.name, image), _call(stack, opts, expected)
            timed = functools.partial(_timed, stack, call, name, concurrency)
            steps.append(Step(name, concurrency, calls, timed))
    return steps


def _call(stack: Stack, opts: Options, expected: bytes) -> HttpCall:
    """A call of the stack's function with the body; it must answer `expected`."""
    path = f"/function/{FUNCTION}"
    return HttpCall(stack.gateway_url, "POST", path, opts.body.encode(), expected)


def _timed(stack: Stack, call: HttpCall, name: str, concurrency: int, calls: int) -> Series:
    progress(f"{name}, concurrency {concurrency}: {calls} calls")
    return asyncio.run(call.series(name, calls, concurrency, meter(stack)))


def measure(opts: Options, launcher: Launcher) -> list[Series]:
    stacks = []
    for runtime in RUNTIMES:
        progress(f"{runtime}: starting NATS, a gateway and a watchdog --runtime {runtime}")
        stacks.append(start_stack(launcher, runtime, docker_watchdog(opts.concurrency, runtime)))
    measured = []
    for image in opts.images:
        run = DockerRun(image, "none", opts.body.encode())
        progress(f"{short(image)}: warm-up of docker run and of each runtime")
        expected = expected_output(run, opts.warmup)
        for stack in stacks:
            deploy(stack, image, "none")
            asyncio.run(_warm(stack, opts, expected))
        measured += in_rounds(steps_of(stacks, opts, run, image, expected), opts.rounds, image)
    return measured


async def _warm(stack: Stack, opts: Options, expected: bytes) -> None:
    call = _call(stack, opts, expected)
    for concurrency in (1, opts.concurrency):
        await call.series("warm-up", max(opts.warmup, concurrency), concurrency, CpuMeter())


def in_rounds(steps: list[Step], rounds: int, image: str) -> list[Series]:
    """Every step's calls in `rounds` slices, the steps in turn, every other round reversed."""
    parts: list[list[Series]] = [[] for _ in steps]
    for n in range(rounds):
        order = list(enumerate(steps))
        for i, step in order[::-1] if n % 2 else order:
            share = step.calls // rounds + (1 if n < step.calls % rounds else 0)
            if share:
                parts[i].append(step.run(share))
    measured = [merged(p) for p in parts if p]
    for series in measured[1:]:
        series.versus = f"(a) docker run {short(image)}"
    return measured


def targets(summaries: list[Summary], images: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each target of the runtime issue, for each daemonless runtime: the ratio measured and
    whether it is met."""
    by = {(s.name, s.concurrency): s for s in summaries}
    conc = max(s.concurrency for s in summaries)
    found = []
    for image, runtime in ((i, r) for i in images for r in OCI_RUNTIMES):
        docker_run = by.get((f"(a) docker run {short(image)}", 1))
        alone = by.get((label(runtime, image), 1))
        if image in MEDIAN_TARGETS and docker_run and alone:
            value = report.ratio(alone.median_ms, docker_run.median_ms)
            found.append(_target(f"{runtime} {short(image)} median / docker run", value, "<=",
                                 MEDIAN_TARGETS[image]))  # fmt: skip
        ours, docker = by.get((label(runtime, image), conc)), by.get((label("docker", image), conc))
        if ours and docker:
            value = report.ratio(ours.calls_per_s, docker.calls_per_s)
            name = f"{runtime} {short(image)} calls/s / docker runtime's, concurrency {conc}"
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
    print(report.cpu_table(summaries, roles=(*report.CPU_ROLES, REAPED, *DAEMONS)))
    print(f"CPU: {REAPED} is what the watchdog's reaped children used: crun or runc and")
    print("     the containers; machine is every process on the machine, idle left out")
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
