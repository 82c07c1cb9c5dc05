"""A three-node NATS cluster against one server, and failover after a node's SIGKILL.

`python -m bench.cluster` runs, one stack after the other on the same machine (the echo
watchdog: no container), async accepts under `wrk` at concurrency 64 and their drain to
the last callback, first with one nats-server, then with three as one JetStream cluster
(every stream and bucket on 3). On the cluster it then SIGKILLs the server the gateway is
connected to while one caller sends sync calls back to back, `--kills` times (the node is
restarted between rounds): the failover time is from the kill to the first correct answer
of a call sent after it. Prints a table; writes `bench/results/cluster.json`.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.control import BODY, Series, measure_async
from bench.parts import ROOT, BenchError, Launcher, Process, progress, with_launcher
from bench.receiver import CallbackReceiver
from bench.stack import FUNCTION, Stack, deploy, echo_watchdog
from cli import natsserver
from faas.errors import Error
from faas.settings import DEFAULT_MAX_BODY

RESULTS = ROOT / "bench" / "results"
SIZE = 3
CALL_TIMEOUT = 5.0  # a sync call slower than this counts as failed
SETTLE = 3.0  # seconds of calls before a kill, and for a restarted node to rejoin


@dataclass
class Failover:
    seconds: float  # kill to the first correct answer of a call sent after it
    failed: int  # calls that did not answer correctly in the meantime
    calls: int

    def to_json(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "failed": self.failed, "calls": self.calls}


@dataclass
class Node:
    port: int
    process: Process
    data: Path


def start_cluster(launcher: Launcher, name: str) -> list[Node]:
    ports = natsserver.cluster_ports(SIZE)
    addresses = [("127.0.0.1", port) for port in ports]
    nodes = []
    for port in ports:
        data = launcher.workdir / f"{name}-{port}"
        data.mkdir(parents=True)
        proc = natsserver.start(data, "127.0.0.1", port, DEFAULT_MAX_BODY, addresses)
        process = Process(f"{name}-{port}", proc, data / "nats.log")
        launcher.processes.append(process)
        nodes.append(Node(port, process, data))
    return nodes


def restart(launcher: Launcher, node: Node, nodes: list[Node]) -> None:
    addresses = [("127.0.0.1", n.port) for n in nodes]
    proc = natsserver.start(node.data, "127.0.0.1", node.port, DEFAULT_MAX_BODY, addresses)
    node.process = Process(node.process.name, proc, node.data / "nats.log")
    launcher.processes.append(node.process)


def start(
    launcher: Launcher, name: str, opts: argparse.Namespace, clustered: bool
) -> tuple[Stack, list[Node]]:
    """NATS (one server, or the cluster's nodes), a gateway and the echo watchdog."""
    extra: list[str] = []
    nodes: list[Node] = []
    if clustered:
        nodes = start_cluster(launcher, name)
        url = ",".join(f"nats://127.0.0.1:{n.port}" for n in nodes)
        nats = [n.process for n in nodes]
        extra = ["--nats-replicas", str(SIZE)]
    else:
        url, single = launcher.nats(f"{name}-nats")
        nats = [single]
    gateway_url, gateway = launcher.gateway(f"{name}-gateway", url, *extra)
    watchdog_id = f"bench-{uuid.uuid4().hex[:8]}"
    kind = echo_watchdog(opts.capacity)
    watchdog = launcher.spawn(f"{name}-watchdog", kind.args(url, watchdog_id) + extra)
    stack = Stack(name, url, gateway_url, watchdog_id, [gateway, watchdog, *nats])
    deploy(stack, "faas/bench-echo:none", "none")
    return stack, nodes


def async_series(stack: Stack, seconds: float) -> Series:
    with CallbackReceiver() as receiver:
        measure_async(stack, receiver, 8, 2, None)  # warm-up
        return measure_async(stack, receiver, 64, seconds, None)


def connected_port(pid: int, ports: list[int]) -> int:
    """The cluster port the process `pid` holds a connection to."""
    sockets = subprocess.run(
        ["ss", "-tnpH", "state", "established"], capture_output=True, text=True, check=True
    ).stdout
    for line in sockets.splitlines():
        if f"pid={pid}," in line:
            peer = int(line.split()[3].rsplit(":", 1)[1])
            if peer in ports:
                return peer
    raise BenchError(f"process {pid} is connected to none of the cluster's servers")


def failover(launcher: Launcher, stack: Stack, nodes: list[Node]) -> Failover:
    """Sync calls back to back; kill the gateway's server; time until one answers again."""
    calls: list[tuple[float, float, bool]] = []  # sent, answered, correct
    stop = threading.Event()

    def caller() -> None:
        with httpx.Client(base_url=stack.gateway_url, timeout=CALL_TIMEOUT) as http:
            while not stop.is_set():
                sent = time.monotonic()
                try:
                    reply = http.post(f"/function/{FUNCTION}", content=BODY)
                    ok = reply.status_code == 200 and reply.content == BODY
                except httpx.HTTPError:
                    ok = False
                calls.append((sent, time.monotonic(), ok))

    thread = threading.Thread(target=caller, daemon=True)
    thread.start()
    time.sleep(SETTLE)
    gateway_pid = stack.processes[0].proc.pid
    port = connected_port(gateway_pid, [n.port for n in nodes])
    victim = next(n for n in nodes if n.port == port)
    killed = time.monotonic()
    victim.process.proc.kill()
    victim.process.proc.wait()
    deadline = killed + 60
    while time.monotonic() < deadline and not any(s > killed and ok for s, _, ok in calls):
        time.sleep(0.01)
    stop.set()
    thread.join()
    after = [c for c in calls if c[1] > killed]
    first = next((c for c in after if c[0] > killed and c[2]), None)
    if first is None:
        raise BenchError("no sync call succeeded within 60 s of the kill")
    launcher.processes.remove(victim.process)
    restart(launcher, victim, nodes)
    time.sleep(SETTLE)
    return Failover(first[1] - killed, sum(1 for c in after if not c[2]), len(after))


def run_all(launcher: Launcher, opts: argparse.Namespace) -> dict[str, Any]:
    progress("one nats-server")
    single, _ = start(launcher, "single", opts, clustered=False)
    one = async_series(single, opts.seconds)
    launcher.stop(single.processes)
    progress(f"{SIZE} nats-servers, one JetStream cluster")
    clustered, nodes = start(launcher, "cluster", opts, clustered=True)
    many = async_series(clustered, opts.seconds)
    rounds = []
    for n in range(opts.kills):
        progress(f"failover {n + 1} of {opts.kills}: SIGKILL of the gateway's server")
        rounds.append(failover(launcher, clustered, nodes))
    return {"single": one, "cluster": many, "failover": rounds}


def table(found: dict[str, Any]) -> str:
    one: Series = found["single"]
    many: Series = found["cluster"]
    rows = [f"{'async c64':<22} {'1 server':>10} {'3-node cluster':>15} {'ratio':>7}"]
    measures: list[tuple[str, Callable[[Series], float]]] = [
        ("accepts/s (202)", lambda s: s.result.rate),
        ("accept p50 ms", lambda s: s.result.p50_ms),
        ("drain calls/s", lambda s: s.drain_rate or 0.0),
    ]
    for label, get in measures:
        a, b = get(one), get(many)
        rows.append(f"{label:<22} {a:>10.1f} {b:>15.1f} {b / a if a else 0:>7.2f}")
    counts: list[tuple[str, Callable[[Series], int | None]]] = [
        ("lost", lambda s: s.lost),
        ("callbacks twice", lambda s: s.duplicates),
    ]
    for label, count in counts:
        rows.append(f"{label:<22} {count(one):>10} {count(many):>15}")
    rounds = found["failover"]
    times = [r.seconds for r in rounds]
    rows.append("")
    rows.append(
        f"failover (kill to first correct sync call), {len(rounds)} kills: median "
        f"{statistics.median(times):.2f} s, max {max(times):.2f} s; calls failed meanwhile: "
        f"{', '.join(str(r.failed) for r in rounds)}"
    )
    return "\n".join(rows)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__)
    p.add_argument("--seconds", type=float, default=10.0, help="per async series (default 10)")
    p.add_argument("--capacity", type=int, default=128, help="echo watchdog's (default 128)")
    p.add_argument("--kills", type=int, default=3, help="failover rounds (default 3)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    opts = parser().parse_args(argv)
    logs = RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    try:
        found = with_launcher(logs, functools.partial(run_all, opts=opts))
    except Error as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    print(table(found))
    one, many = found["single"], found["cluster"]
    data = {
        "started": started,
        "options": vars(opts),
        "single": one.to_json(),
        "cluster": many.to_json(),
        "accepts_ratio": many.result.rate / one.result.rate,
        "drain_ratio": (many.drain_rate or 0) / (one.drain_rate or 1),
        "failover": [r.to_json() for r in found["failover"]],
    }
    path = RESULTS / "cluster.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nJSON: {path.relative_to(ROOT)}")
    return 1 if one.lost or many.lost else 0


if __name__ == "__main__":
    sys.exit(main())
