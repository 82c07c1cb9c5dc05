"""A running platform for one measurement: NATS, a gateway, a watchdog and the function."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from bench.parts import READY_TIMEOUT, BenchError, Launcher, Process
from faas.spec import NETWORK_ANNOTATION

FUNCTION = "bench"


@dataclass
class Stack:
    """One nats-server, one gateway and one watchdog, started together."""

    name: str
    nats_url: str
    gateway_url: str
    watchdog_id: str
    processes: list[Process]  # in the order they are stopped: front to back

    @property
    def nats(self) -> Process:
        """The (first) nats-server."""
        return self.processes[2]

    @property
    def pids(self) -> dict[str, int]:
        """Process ids by role, for CPU accounting (of a cluster, its first server's)."""
        gateway, watchdog = self.processes[:2]
        return {
            "gateway": gateway.proc.pid,
            "watchdog": watchdog.proc.pid,
            "nats-server": self.nats.proc.pid,
        }


@dataclass(frozen=True)
class WatchdogKind:
    """How to start a watchdog: a python module and its subcommand, if any."""

    module: str
    subcommand: tuple[str, ...]
    capacity: int
    options: tuple[str, ...] = ()

    def args(self, nats_url: str, watchdog_id: str) -> list[str]:
        return [
            "-m",
            self.module,
            *self.subcommand,
            "--nats",
            nats_url,
            "--capacity",
            str(self.capacity),
            "--id",
            watchdog_id,
            *self.options,
        ]


def docker_watchdog(capacity: int, runtime: str = "docker") -> WatchdogKind:
    """A real watchdog, running containers through `runtime` (docker, runc or crun)."""
    return WatchdogKind("cli", ("watchdog",), capacity, ("--runtime", runtime))


def echo_watchdog(capacity: int) -> WatchdogKind:
    return WatchdogKind("bench.echo_watchdog", (), capacity)


def start_stack(launcher: Launcher, name: str, kind: WatchdogKind) -> Stack:
    """Start NATS, a gateway and a watchdog, in that order; the launcher stops them."""
    nats_url, nats = launcher.nats(f"{name}-nats")
    gateway_url, gateway = launcher.gateway(f"{name}-gateway", nats_url)
    watchdog_id = f"bench-{uuid.uuid4().hex[:8]}"
    watchdog = launcher.spawn(f"{name}-watchdog", kind.args(nats_url, watchdog_id))
    # The gateway stops first: calls it still holds finish on the running watchdog, where
    # with the watchdog gone they would wait in the queue for their whole timeout.
    return Stack(name, nats_url, gateway_url, watchdog_id, [gateway, watchdog, nats])


def deploy(stack: Stack, image: str, network: str) -> None:
    """Deploy the benchmark's function and wait until the gateway sees the watchdog."""
    deployment = {"service": FUNCTION, "image": image, "annotations": {NETWORK_ANNOTATION: network}}
    with httpx.Client(base_url=stack.gateway_url, timeout=10) as http:
        post_function(http, deployment)
        _wait_for_watchdog(http, stack)


def post_function(http: httpx.Client, deployment: dict[str, Any]) -> None:
    reply = http.post("/system/functions", json=deployment)
    if reply.status_code not in (200, 201, 202):
        raise BenchError(f"deploy answered {reply.status_code}: {reply.text.strip()}")


def remove_function(http: httpx.Client, name: str) -> None:
    reply = http.request("DELETE", "/system/functions", json={"functionName": name})
    if reply.status_code not in (200, 202, 204):
        raise BenchError(f"removing {name} answered {reply.status_code}: {reply.text.strip()}")


def _wait_for_watchdog(http: httpx.Client, stack: Stack) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        for process in stack.processes:
            process.check_running()
        if http.get(f"/system/function/{FUNCTION}").json().get("availableReplicas") == 1:
            return
        time.sleep(0.1)
    raise BenchError(f"{stack.name}: no watchdog connected within {READY_TIMEOUT:g}s")
