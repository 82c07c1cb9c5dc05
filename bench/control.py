"""The control path under native load: gateway, NATS and the echo watchdog, no container.

`python -m bench.control` starts a nats-server (`sync_interval: always`), a gateway and the
echo watchdog, loads them with `wrk`, and measures against the same run's references: the
gateway's own `/healthz`, durable JetStream publishes to the same server, and the floor
(`bench.floor`: the same loads on a bare Starlette and nats-py gateway with an echo
responder, nothing of ours). The series run in rounds, each series beside its references,
so that a drift of the machine's speed weighs on both sides of a ratio alike. It prints a
table of series, one of targets (issue 11) with their ratios, their range over the rounds,
the floor's ratio and whether each is met, and writes them to `bench/results/control.json`.
`--profile` adds a round under py-spy, with the top frames of the gateway and the watchdog.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bench import profile, streams, wrk
from bench.cpu import CLIENT, CpuMeter
from bench.dashboard import OpenDashboard
from bench.parts import ROOT, BenchError, Launcher, free_port, progress, wait_healthy, with_launcher
from bench.receiver import CallbackReceiver
from bench.stack import FUNCTION, Stack, deploy, echo_watchdog, start_stack
from bench.stats import summed
from faas.errors import Error

RESULTS = ROOT / "bench" / "results"
BODY = b"hello"
PARTS = ("gateway", "watchdog", "nats-server")
STALL = 30.0  # seconds without a callback before the missing ones count as lost
QUIET = 1.0  # then, seconds without one before the count is taken


@dataclass
class Series:
    name: str
    concurrency: int
    result: wrk.Result
    cpu: dict[str, float]  # seconds, by part, over the series
    callbacks: int | None = None  # async: calls with a callback
    duplicates: int | None = None  # async: callbacks beyond one per call
    drain_seconds: float | None = None  # async: first submission (or release) to last callback
    writes: streams.Writes | None = None  # async: messages stored, until the last callback
    drain_cpu: dict[str, float] = field(default_factory=dict)  # held: seconds, by part
    lost_in_rounds: int | None = None  # merged: each round's lost calls, added up

    @property
    def cpu_ms_per_call(self) -> float:
        """Gateway, watchdog and nats-server together, per right answer."""
        spent = sum(self.cpu.get(part, 0.0) for part in PARTS)
        return 1000 * spent / self.result.good if self.result.good else float("nan")

    @property
    def drain_rate(self) -> float | None:
        if self.callbacks is None or not self.drain_seconds:
            return None
        return self.callbacks / self.drain_seconds

    @property
    def durable_writes_per_call(self) -> float | None:
        if self.writes is None or not self.callbacks:
            return None
        return self.writes.durable / self.callbacks

    @property
    def lost(self) -> int:
        """Accepted calls never called back. Of rounds merged, each round's: a round's calls
        still in flight when wrk stopped call back too, and must not hide another's loss."""
        if self.lost_in_rounds is not None:
            return self.lost_in_rounds
        return 0 if self.callbacks is None else max(0, self.result.good - self.callbacks)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "concurrency": self.concurrency,
            **asdict(self.result),
            "rate": self.result.rate,
            "cpu_seconds": self.cpu,
            "cpu_ms_per_call": self.cpu_ms_per_call,
            "callbacks": self.callbacks,
            "duplicates": self.duplicates,
            "lost": self.lost,
            "drain_rate": self.drain_rate,
            "writes": None if self.writes is None else asdict(self.writes),
            "drain_cpu_seconds": self.drain_cpu,
            "durable_writes_per_call": self.durable_writes_per_call,
        }


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    limit: float
    at_most: bool  # met when value <= limit; else when value >= limit
    unit: str
    floor: float | None = None  # the same measure of bench.floor's bare gateway
    rounds: tuple[float, ...] = ()  # the same measure in each round alone

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"met": self.met}


@dataclass
class Round:
    """One slice of every series, run back to back, so that each ratio has its parts
    measured under the same load of the machine."""

    series: dict[str, Series] = field(default_factory=dict)
    floor: dict[str, Series] = field(default_factory=dict)
    raw_publish: dict[str, float] = field(default_factory=dict)


@dataclass
class Run:
    series: dict[str, Series] = field(default_factory=dict)  # each: its rounds merged
    raw_publish: dict[str, float] = field(default_factory=dict)
    floor: dict[str, Series] = field(default_factory=dict)  # bench.floor, the same loads
    rounds: list[Round] = field(default_factory=list)
    profiles: dict[str, list[profile.Frame]] = field(default_factory=dict)
    dashboard: dict[str, Series] = field(default_factory=dict)  # the same, the dashboard open
    dashboard_polls: int = 0
    dashboard_failures: list[str] = field(default_factory=list)


def sync_load() -> wrk.Load:
    return wrk.Load("POST", f"/function/{FUNCTION}", BODY, expected=BODY)


def async_load(callback_url: str) -> wrk.Load:
    headers = (("X-Callback-Url", callback_url),)
    return wrk.Load("POST", f"/async-function/{FUNCTION}", BODY, headers, status=202)


HEALTHZ = wrk.Load("GET", "/healthz", expected=b"OK\n")
FLOOR_ASYNC = async_load("http://127.0.0.1:9/")  # the floor queues it and calls nobody back


def measure(
    stack: Stack,
    name: str,
    load: wrk.Load,
    concurrency: int,
    seconds: float,
    profiles: dict[str, list[profile.Frame]] | None = None,
    profiled: tuple[str, ...] = ("gateway", "watchdog"),
) -> Series:
    progress(f"{name}, concurrency {concurrency}: {seconds:g}s")
    meter = CpuMeter(stack.pids)
    recordings = []
    if profiles is not None:
        folder = RESULTS / "logs"
        recordings = [
            profile.start(f"{name}-{part}", stack.pids[part], seconds, folder) for part in profiled
        ]
    meter.start()
    result = wrk.run(stack.gateway_url, load, concurrency, seconds)
    cpu = meter.used()
    for recording in recordings:
        assert profiles is not None
        profiles[recording.name] = profile.finish(recording)
    return Series(name, concurrency, result, cpu)


def measure_async(
    stack: Stack,
    receiver: CallbackReceiver,
    concurrency: int,
    seconds: float,
    profiles: dict[str, list[profile.Frame]] | None = None,
    held: bool = False,
) -> Series:
    """Accepts under load, then every callback: none lost, none twice. `held`: the watchdog
    is stopped (SIGSTOP) while the calls are accepted, so the gateway has the machine to
    itself as the raw publishes do, and the drain is timed from its release (SIGCONT)."""
    receiver.clear()
    before = streams.count(stack.nats_url)
    name = f"async c{concurrency}" + (" held" if held else "")
    load = async_load(receiver.url)
    watchdog = stack.pids["watchdog"]
    parts = ("gateway",) if held else ("gateway", "watchdog")  # py-spy can't read a stopped one
    if held:
        os.kill(watchdog, signal.SIGSTOP)
    try:
        began = time.perf_counter()
        series = measure(stack, name, load, concurrency, seconds, profiles, parts)
    finally:
        if held:
            os.kill(watchdog, signal.SIGCONT)
            began = time.perf_counter()
    meter = CpuMeter(stack.pids)
    meter.start()
    draining = None
    if held and profiles is not None:  # the watchdog alone, on the backlog
        draining = profile.start(f"{name} drain-watchdog", watchdog, seconds, RESULTS / "logs")
    receiver.wait_count(series.result.good, STALL)
    if draining is not None:
        assert profiles is not None
        profiles[draining.name] = profile.finish(draining)
    # wrk leaves out calls in flight when it stops: the gateway may have accepted them too
    receiver.wait_count(sys.maxsize, QUIET)
    got = receiver.snapshot()
    series.callbacks = len(got)
    arrivals = [a for call in got.values() for a in call]
    series.duplicates = len(arrivals) - series.callbacks
    if arrivals:
        series.drain_seconds = max(a.at for a in arrivals) - began
    if held:  # the CPU of the backlog's drain, which had the machine to itself
        series.drain_cpu = meter.used()
    series.writes = streams.count(stack.nats_url) - before
    return series


def raw_publishes(stack: Stack, concurrency: int, seconds: float) -> dict[str, float]:
    progress(f"durable JetStream publishes, concurrency {concurrency}: {seconds:g}s")
    meter = CpuMeter({"nats-server": stack.pids["nats-server"]})
    meter.start()
    argv = [sys.executable, "-m", "bench.jspublish", "--nats", stack.nats_url]
    argv += ["--concurrency", str(concurrency), "--seconds", str(seconds)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise BenchError(f"bench.jspublish failed: {done.stderr.decode().strip()}")
    data: dict[str, float] = json.loads(done.stdout)
    data["rate"] = data["publishes"] / data["seconds"]
    data["nats_cpu_seconds"] = meter.used()["nats-server"]
    return data


@dataclass(frozen=True)
class Step:
    """One series of a round: run for some seconds, optionally profiled."""

    floor: bool  # a series of bench.floor's gateway
    key: str
    run: Callable[..., Series]  # (seconds, profiles=None) -> Series


def run_all(launcher: Launcher, opts: argparse.Namespace) -> Run:
    stack = start_stack(launcher, "control", echo_watchdog(opts.capacity))
    deploy(stack, "faas/bench-echo:none", "none")  # the echo watchdog starts no container
    floor = start_floor(launcher, stack)
    out = Run()
    secs = opts.seconds / opts.rounds
    progress("warm-up")
    for load in (HEALTHZ, sync_load()):
        wrk.run(stack.gateway_url, load, 64, 2)
    with CallbackReceiver() as receiver:
        measure_async(stack, receiver, 8, 2, None)  # warm-up
        steps = round_steps(stack, floor, receiver)
        for n in range(opts.rounds):
            progress(f"round {n + 1} of {opts.rounds}, {secs:.3g}s a series")
            out.rounds.append(run_round(stack, steps, secs, reverse=n % 2 == 1))
        if opts.profile:  # apart: py-spy slows what it samples
            progress("a round more, profiled with py-spy")
            for step in steps:
                if not step.floor and not step.key.startswith("healthz"):
                    step.run(secs, out.profiles)
    launcher.stop(floor.processes[:2])
    for key in out.rounds[0].series:
        out.series[key] = merge([r.series[key] for r in out.rounds])
    for key in out.rounds[0].floor:
        out.floor[key] = merge([r.floor[key] for r in out.rounds])
    out.raw_publish = merge_raw([r.raw_publish for r in out.rounds])
    if opts.dashboard:
        with_dashboard(stack, out, opts.seconds)
    return out


def start_floor(launcher: Launcher, stack: Stack) -> Stack:
    """bench.floor's gateway and responder, on the platform's nats-server."""
    port = free_port()
    args = ["-m", "bench.floor", "gateway", "--nats", stack.nats_url, "--port", str(port)]
    gateway = launcher.spawn("floor-gateway", args)
    responder = launcher.spawn(
        "floor-responder", ["-m", "bench.floor", "responder", "--nats", stack.nats_url]
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, gateway)
    floor = Stack("floor", stack.nats_url, url, "", [gateway, responder, stack.nats])
    for load in (HEALTHZ, sync_load(), FLOOR_ASYNC):
        wrk.run(url, load, 64, 2)  # warm-up, and the responder surely listens
    return floor


def round_steps(stack: Stack, floor: Stack, receiver: CallbackReceiver) -> list[Step]:
    """Each series beside its reference: the platform's, then the floor's."""
    p = functools.partial
    steps = []
    for c in (1, 64):
        steps += [
            Step(False, f"healthz c{c}", p(measure, stack, "healthz", HEALTHZ, c)),
            Step(True, f"healthz c{c}", p(measure, floor, "floor healthz", HEALTHZ, c)),
            Step(False, f"sync c{c}", p(measure, stack, f"sync c{c}", sync_load(), c)),
            Step(True, f"sync c{c}", p(measure, floor, "floor sync", sync_load(), c)),
        ]
    for c in (8, 64):
        steps += [
            Step(False, f"async c{c}", p(measure_async, stack, receiver, c)),
            Step(True, f"async c{c}", p(measure, floor, "floor async", FLOOR_ASYNC, c)),
        ]
    held = p(measure_async, stack, receiver, 64, held=True)
    return [*steps, Step(False, "async c64 held", held)]


def run_round(stack: Stack, steps: list[Step], secs: float, reverse: bool) -> Round:
    """Every step for `secs`, then the raw publishes; backwards when `reverse`, so that
    over the rounds no series is always the one measured after the others."""
    one = Round()
    order = steps[::-1] if reverse else steps
    if reverse:
        one.raw_publish = raw_publishes(stack, 64, secs)
    for step in order:
        (one.floor if step.floor else one.series)[step.key] = step.run(secs)
    if not reverse:
        one.raw_publish = raw_publishes(stack, 64, secs)
    return one


def merge(rounds: list[Series]) -> Series:
    """One series' rounds as one: answers, seconds, CPU, callbacks and writes summed (so
    rates are over all of them); each latency percentile the median of the rounds'."""
    results = [x.result for x in rounds]
    result = wrk.Result(
        requests=sum(r.requests for r in results),
        seconds=sum(r.seconds for r in results),
        wrong=sum(r.wrong for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p90_ms=statistics.median(r.p90_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
    )
    first = rounds[0]
    merged = Series(first.name, first.concurrency, result, summed(x.cpu for x in rounds))
    if first.callbacks is not None:
        merged.callbacks = sum(x.callbacks or 0 for x in rounds)
        merged.duplicates = sum(x.duplicates or 0 for x in rounds)
        merged.drain_seconds = sum(x.drain_seconds or 0.0 for x in rounds)
        merged.writes = sum((x.writes for x in rounds if x.writes), streams.Writes(0, 0))
        merged.drain_cpu = summed(x.drain_cpu for x in rounds)
        merged.lost_in_rounds = sum(x.lost for x in rounds)
    return merged


def merge_raw(rounds: list[dict[str, float]]) -> dict[str, float]:
    total = summed(rounds)
    total["rate"] = total["publishes"] / total["seconds"]
    return total


def with_dashboard(stack: Stack, out: Run, secs: float) -> None:
    """The sync and async series again, with a dashboard tab polling its live regions."""
    progress("the same series with the dashboard open")
    with OpenDashboard(stack.gateway_url) as tab, CallbackReceiver() as receiver:
        d = out.dashboard
        d["sync c1"] = measure(stack, "sync c1", sync_load(), 1, secs)
        d["sync c64"] = measure(stack, "sync c64", sync_load(), 64, secs)
        d["async c64"] = measure_async(stack, receiver, 64, secs, None)
    out.dashboard_polls, out.dashboard_failures = tab.answers, tab.failures


def dashboard_table(run: Run) -> str:
    rows = [
        f"{'dashboard open':<14} {'calls/s':>9} {'open':>9} {'ratio':>6} {'p50 ms':>7} {'open':>7}"
    ]
    for name, opened in run.dashboard.items():
        closed = run.series[name]
        ratio = opened.result.rate / closed.result.rate if closed.result.rate else float("nan")
        rows.append(
            f"{name:<14} {closed.result.rate:>9.0f} {opened.result.rate:>9.0f} {ratio:>6.2f} "
            f"{closed.result.p50_ms:>7.2f} {opened.result.p50_ms:>7.2f}"
        )
    rows.append(
        f"({run.dashboard_polls} dashboard refreshes, {len(run.dashboard_failures)} failed)"
    )
    return "\n".join(rows)


def targets(run: Run) -> list[Target]:
    """Issue 11's targets over all rounds, each with its value in every round."""
    found = targets_of(run.series, run.floor, run.raw_publish)
    each = [targets_of(r.series, r.floor, r.raw_publish) for r in run.rounds]
    return [replace(t, rounds=tuple(r[i].value for r in each)) for i, t in enumerate(found)]


def targets_of(s: dict[str, Series], f: dict[str, Series], raw: dict[str, float]) -> list[Target]:
    drain, held_drain = s["async c64"].drain_rate or 0.0, s["async c64 held"].drain_rate or 0.0
    return [
        Target(
            "sync c1: p50 over /healthz's",
            s["sync c1"].result.p50_ms - s["healthz c1"].result.p50_ms,
            0.3,
            True,
            "ms",
            f["sync c1"].result.p50_ms - f["healthz c1"].result.p50_ms,
        ),
        Target(
            "sync c64: calls/s over /healthz's req/s",
            s["sync c64"].result.rate / s["healthz c64"].result.rate,
            0.5,
            False,
            "x",
            f["sync c64"].result.rate / f["healthz c64"].result.rate,
        ),
        Target(
            "sync c64: CPU per call (gateway+watchdog+nats)",
            s["sync c64"].cpu_ms_per_call,
            0.4,
            True,
            "ms",
            f["sync c64"].cpu_ms_per_call,
        ),
        Target(
            "async c64: 202s/s over durable publishes/s",
            s["async c64"].result.rate / raw["rate"],
            0.8,
            False,
            "x",
            f["async c64"].result.rate / raw["rate"],
        ),
        Target(
            "  the same, watchdog held (nothing drains)",
            s["async c64 held"].result.rate / raw["rate"],
            0.8,
            False,
            "x",
            f["async c64"].result.rate / raw["rate"],
        ),
        Target(
            "async c8: 202 p50",
            s["async c8"].result.p50_ms,
            10.0,
            True,
            "ms",
            f["async c8"].result.p50_ms,
        ),
        Target(
            "async c64: drain over accepts",
            drain / s["async c64"].result.rate,
            0.8,
            False,
            "x",
        ),
        Target(
            "  the same, held: backlog drain over accepts",
            held_drain / s["async c64 held"].result.rate,
            0.8,
            False,
            "x",
        ),
    ]


def series_table(run: Run) -> str:
    head = (
        f"{'series':<12} {'c':>3} {'answers':>8} {'wrong':>5} {'per s':>8} {'p50 ms':>7} "
        f"{'p90 ms':>7} {'p99 ms':>7} {'cpu ms/call':>11}  gateway/watchdog/nats/client"
    )
    rows = [head]
    for x in [*run.series.values(), *run.floor.values()]:  # the floor's: gateway/responder
        r = x.result
        parts = "/".join(
            f"{1000 * x.cpu.get(p, 0.0) / max(1, r.good):.3f}" for p in (*PARTS, CLIENT)
        )
        rows.append(
            f"{_kind(x.name):<12} {x.concurrency:>3} {r.good:>8} {r.wrong:>5} "
            f"{r.rate:>8.0f} {r.p50_ms:>7.2f} {r.p90_ms:>7.2f} {r.p99_ms:>7.2f} "
            f"{x.cpu_ms_per_call:>11.3f}  {parts}"
        )
        if x.callbacks is not None:
            cpu = ""
            if x.drain_cpu and x.callbacks:
                used = sum(x.drain_cpu.get(p, 0.0) for p in PARTS)
                cpu = f"{'':>31}{1000 * used / x.callbacks:>11.3f}  " + "/".join(
                    f"{1000 * x.drain_cpu.get(p, 0.0) / x.callbacks:.3f}" for p in (*PARTS, CLIENT)
                )
            rows.append(
                f"{'  drain':<12} {'':>3} {x.callbacks:>8} {x.lost:>5} "
                f"{x.drain_rate or 0:>8.0f}{cpu}  (callbacks; wrong = lost; {x.duplicates} twice)"
            )
        if x.writes is not None:
            rows.append(
                f"{'  writes':<12} {'':>3} {x.writes.durable:>8} {'':>5} "
                f"{x.durable_writes_per_call or 0:>8.1f}  (durable messages; per call; "
                f"{x.writes.memory} in memory)"
            )
    raw = run.raw_publish
    rows.append(
        f"{'raw publish':<12} {64:>3} {raw['publishes']:>8.0f} {0:>5} {raw['rate']:>8.0f}"
        f"  (durable, acked; client CPU {raw['client_cpu_seconds']:.1f}s of {raw['seconds']:.1f}s)"
    )
    return "\n".join(rows)


def _kind(name: str) -> str:
    """A series' name without its concurrency: "async c64 held" is "async held"."""
    return " ".join(w for w in name.split() if not (w[0] == "c" and w[1:].isdigit()))


def targets_table(found: list[Target]) -> str:
    rows = [f"{'target':<48} {'measured':>9} {'rounds':>11} {'floor':>9} {'goal':>9}  met"]
    for t in found:
        goal = f"{'<=' if t.at_most else '>='}{t.limit:g}{t.unit}"
        bare = "-" if t.floor is None else f"{t.floor:.2f}{t.unit}"
        spread = f"{min(t.rounds):.2f}-{max(t.rounds):.2f}" if t.rounds else "-"
        rows.append(
            f"{t.name:<48} {t.value:>8.2f}{t.unit} {spread:>11} {bare:>9} {goal:>9}  "
            f"{'yes' if t.met else 'NO'}"
        )
    rows.append("(rounds: the lowest and highest of the rounds alone; floor: the same measure")
    rows.append(" of bench.floor, a bare Starlette and nats-py gateway, in the same rounds)")
    return "\n".join(rows)


def profiles_table(profiles: dict[str, list[profile.Frame]]) -> str:
    rows = []
    for name, frames in profiles.items():
        rows.append(f"\n{name}: top frames by own samples (self%, total%)")
        rows += [f"  {f.self_share:6.1%} {f.total_share:6.1%}  {f.name}" for f in frames]
    return "\n".join(rows)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.control", description=__doc__)
    p.add_argument(
        "--seconds", type=float, default=12.0, help="per series, over all rounds (default 12)"
    )
    p.add_argument("--rounds", type=int, default=3, help="rounds of every series (default 3)")
    p.add_argument("--capacity", type=int, default=128, help="echo watchdog's (default 128)")
    p.add_argument(
        "--profile", action="store_true", help="then a round more, py-spy on gateway and watchdog"
    )
    p.add_argument(
        "--dashboard", action="store_true", help="also each series with the dashboard open"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    opts = p.parse_args(argv)
    if opts.rounds < 1 or opts.seconds <= 0:
        p.error("--rounds must be at least 1 and --seconds more than 0")
    logs = RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    try:
        run = with_launcher(logs, functools.partial(run_all, opts=opts))
    except Error as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    found = targets(run)
    print(series_table(run))
    print()
    print(targets_table(found))
    if run.dashboard:
        print()
        print(dashboard_table(run))
    if run.profiles:
        print(profiles_table(run.profiles))
    data = {
        "started": started,
        "options": vars(opts),
        "series": [x.to_json() for x in run.series.values()],
        "raw_publish": run.raw_publish,
        "floor": [x.to_json() for x in run.floor.values()],
        "rounds": [
            {
                "series": [x.to_json() for x in r.series.values()],
                "floor": [x.to_json() for x in r.floor.values()],
                "raw_publish": r.raw_publish,
            }
            for r in run.rounds
        ],
        "targets": [t.to_json() for t in found],
        "profiles": {k: [f.to_json() for f in v] for k, v in run.profiles.items()},
        "dashboard": {
            "series": [x.to_json() for x in run.dashboard.values()],
            "refreshes": run.dashboard_polls,
            "failures": run.dashboard_failures,
        },
    }
    path = RESULTS / "control.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nJSON: {path.relative_to(ROOT)}")
    measured = [*run.series.values(), *run.floor.values(), *run.dashboard.values()]
    failed = any(x.result.wrong or x.result.socket_errors or x.lost for x in measured)
    failed = failed or bool(run.dashboard_failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
