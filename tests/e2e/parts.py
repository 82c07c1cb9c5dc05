"""Real processes for end-to-end tests: nats-server, gateways and watchdogs on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cli import natsserver
from cli.stack import load_stack
from faas.basicauth import BasicAuth, write_secrets
from faas.secretstore import ensure_key
from tests.e2e.functions import TEST_FUNCTIONS
from tests.natsserver import cluster_ports

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(proc: subprocess.Popen[bytes], timeout: float = 40) -> int:
    """SIGTERM, wait, then SIGKILL; return the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@dataclass
class Nats:
    url: str
    proc: subprocess.Popen[bytes]
    data: Path
    port: int
    max_body: int
    cluster: list[tuple[str, int]] = field(default_factory=list)  # of its cluster, if any


@dataclass
class NatsCluster:
    """nats-servers as one JetStream cluster; `url` names them all, as a client is given."""

    nodes: list[Nats]

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)


Bus = Nats | NatsCluster  # what gateways and watchdogs connect to


@dataclass
class Gateway:
    url: str
    proc: subprocess.Popen[bytes]
    auth: BasicAuth | None = None  # the credentials it wants, if any
    runtime: str = ""  # what its watchdog was told to run containers with; "": the default

    def client(self, **options: Any) -> httpx.Client:
        """An HTTP client of the gateway, sending its credentials unless told otherwise."""
        if self.auth:
            options.setdefault("auth", (self.auth.user, self.auth.password))
        options.setdefault("timeout", 60)
        return httpx.Client(base_url=self.url, **options)


@dataclass
class Watchdog:
    id: str
    proc: subprocess.Popen[bytes]


@dataclass
class Parts:
    """Starts parts on demand and stops all of them at the end of a test."""

    tmp: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # for every gateway and watchdog
    watchdog_ids: set[str] = field(default_factory=set)  # of every watchdog started

    def nats(self, max_body: int = 8 * 2**20) -> Nats:
        port = free_port()
        data = self.tmp / f"nats-{port}"
        data.mkdir()
        proc = natsserver.start(data, "127.0.0.1", port, max_body)
        self.procs.append(proc)
        return Nats(f"nats://127.0.0.1:{port}", proc, data, port, max_body)

    def nats_cluster(
        self, size: int = 3, max_body: int = 8 * 2**20, host: str = "127.0.0.1"
    ) -> NatsCluster:
        """`size` nats-servers as one cluster listening on `host`; give parts
        `--nats-replicas` to use it."""
        ports = cluster_ports(size)
        addresses = [(host, port) for port in ports]
        nodes = []
        for port in ports:
            data = self.tmp / f"nats-{port}"
            data.mkdir()
            proc = natsserver.start(data, host, port, max_body, addresses)
            self.procs.append(proc)
            nodes.append(Nats(f"nats://127.0.0.1:{port}", proc, data, port, max_body, addresses))
        return NatsCluster(nodes)

    def secrets_key(self) -> Path:
        """A secrets key, given to every gateway and watchdog started from now on."""
        key = ensure_key(self.tmp / "secrets.key")
        self.env["FAAS_SECRETS_KEY_FILE"] = str(key)
        return key

    def restart_nats(self, nats: Nats) -> None:
        """Stop the server and start it again on the same port and store."""
        stop(nats.proc)
        self.start_nats(nats)

    def start_nats(self, nats: Nats) -> None:
        """Start a stopped server again, on its port and store (in its cluster, if any)."""
        host = nats.cluster[0][0] if nats.cluster else "127.0.0.1"
        nats.proc = natsserver.start(nats.data, host, nats.port, nats.max_body, nats.cluster)
        self.procs.append(nats.proc)

    def gateway(self, nats: Bus, *args: str, auth: BasicAuth | None = None) -> Gateway:
        """A gateway; with auth, its credentials are in files it reads with --auth-dir."""
        port = free_port()
        if auth:
            secrets = self.tmp / f"secrets-{port}"
            write_secrets(secrets, auth)
            args = ("--auth-dir", str(secrets), *args)
        proc = self._spawn("gateway", "--nats", nats.url, "--port", str(port), *args)
        gateway = Gateway(f"http://127.0.0.1:{port}", proc, auth)
        _wait_healthy(gateway)
        return gateway

    def watchdog(
        self,
        nats: Bus | str,
        capacity: int = 2,
        *args: str,
        wid: str = "",
        on: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> Watchdog:
        """A watchdog; `on` runs it elsewhere (e.g. in a host's network namespace), with
        `env` added to the parts' environment."""
        wid = wid or f"test-{uuid.uuid4().hex[:8]}"
        self.watchdog_ids.add(wid)
        url = nats if isinstance(nats, str) else nats.url
        proc = self._spawn(
            "watchdog",
            "--nats",
            url,
            "--capacity",
            str(capacity),
            "--id",
            wid,
            *args,
            on=on or [],
            env=env or {},
        )
        return Watchdog(wid, proc)

    def _spawn(
        self, *args: str, on: list[str] | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [*(on or []), sys.executable, "-m", "cli", *args],
            cwd=ROOT,
            env={**os.environ, **self.env, **(env or {})},
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)


def faas(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[bytes]:
    """Run the `faas` command to its end."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def stack_of(folder: Path, image: str, name: str = "pushed") -> Path:
    """A stack file of one function of `image`."""
    stack = folder / "stack.yml"
    stack.write_text(f"version: 1.0\nfunctions:\n  {name}:\n    image: {image}\n")
    return stack


def _wait_healthy(gateway: Gateway, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gateway.proc.poll() is not None:
            raise RuntimeError(f"gateway exited with code {gateway.proc.returncode}")
        try:
            if httpx.get(gateway.url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gateway {gateway.url} not healthy within {timeout}s")


def wait_for_watchdog(gateway: Gateway, timeout: float = 30) -> None:
    """Until the gateway reports a watchdog connected (availableReplicas of a probe function)."""
    deadline = time.monotonic() + timeout
    with gateway.client() as http:
        http.post("/system/functions", json={"service": "probe", "image": "none"})
        while time.monotonic() < deadline:
            if http.get("/system/function/probe").json()["availableReplicas"] == 1:
                http.request("DELETE", "/system/functions", json={"functionName": "probe"})
                return
            time.sleep(0.1)
    raise RuntimeError("no watchdog connected to the gateway in time")


@dataclass
class Cluster:
    nats: Nats
    gateway: Gateway
    watchdog: Watchdog


def cluster(parts: Parts, capacity: int, max_body: int = 8 * 2**20) -> Cluster:
    """NATS, a gateway and a watchdog that the gateway has seen."""
    nats = parts.nats(max_body)
    gateway = parts.gateway(nats)
    watchdog = parts.watchdog(nats, capacity)
    wait_for_watchdog(gateway)
    return Cluster(nats, gateway, watchdog)


def deploy(
    gateway: Gateway, name: str, command: str, image: str = "faas/base-busybox:latest"
) -> None:
    with gateway.client() as http:
        body = {"service": name, "image": image, "envProcess": command}
        assert http.post("/system/functions", json=body).status_code == 202


def submit(gateway: Gateway, name: str, body: bytes = b"", /, **headers: str) -> httpx.Response:
    with gateway.client() as http:
        return http.post(f"/async-function/{name}", content=body, headers=headers)


def record(gateway: Gateway, call_id: str) -> dict[str, Any]:
    with gateway.client() as http:
        reply = http.get(f"/system/calls/{call_id}")
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def wait_record(gateway: Gateway, call_id: str, done: Any, timeout: float = 60) -> dict[str, Any]:
    """Until the record is there (a sync call's follows its answer) and `done(record)` holds."""
    deadline = time.monotonic() + timeout
    while not done(current := _record_when_there(gateway, call_id, deadline)):
        assert time.monotonic() < deadline, f"record never got there: {current}"
        time.sleep(0.1)
    return current


def _record_when_there(gateway: Gateway, call_id: str, deadline: float) -> dict[str, Any]:
    while True:
        with gateway.client() as http:
            reply = http.get(f"/system/calls/{call_id}")
        if reply.status_code != 404 or time.monotonic() > deadline:
            assert reply.status_code == 200, reply.text
            return reply.json()  # type: ignore[no-any-return]
        time.sleep(0.05)


OCI_RUNTIMES = ("crun", "runc")
RUNTIMES = (*OCI_RUNTIMES, "docker")


def deploy_samples(gateway: Gateway, more: list[dict[str, Any]]) -> None:
    """Deploy stack.yml's sample functions, then these deployment bodies."""
    with gateway.client() as http:
        for fn in load_stack(ROOT / "stack.yml").functions.values():
            assert http.post("/system/functions", json=fn.deployment()).status_code == 202
        for body in more:
            assert http.post("/system/functions", json=body).status_code == 202


def platform_of(tmp: Path, runtime: str | None) -> Iterator[Gateway]:
    """NATS, a gateway and a watchdog of capacity 4, with the sample and test functions."""
    made = Parts(tmp)
    try:
        nats = made.nats()
        gateway = made.gateway(nats)
        made.watchdog(nats, 4, *(("--runtime", runtime) if runtime else ()))
        wait_for_watchdog(gateway)
        deploy_samples(gateway, TEST_FUNCTIONS)
        gateway.runtime = runtime or ""
        yield gateway
    finally:
        made.stop_all()
