"""The platform's processes for a benchmark: nats-server, gateway and watchdog on free ports."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

from cli import natsserver
from faas.errors import Error
from faas.settings import DEFAULT_MAX_BODY

ROOT = Path(__file__).resolve().parents[1]
STOP_TIMEOUT = 45.0  # above the watchdog's 30 s grace and uvicorn's 30 s graceful shutdown
READY_TIMEOUT = 30.0
T = TypeVar("T")


class BenchError(Error):
    """A part of the platform did not start or answer as the benchmark needs."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    """A child process and the file its output goes to."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def check_running(self) -> None:
        if self.proc.poll() is not None:
            raise BenchError(f"{self.name} exited with code {self.proc.returncode}; see {self.log}")


def stop(process: Process, timeout: float = STOP_TIMEOUT) -> int:
    """SIGTERM, wait, then SIGKILL; return the exit code."""
    proc = process.proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            print(
                f"bench: {process.name} ignored SIGTERM for {timeout:g}s: killed", file=sys.stderr
            )
            proc.kill()
            proc.wait()
    return proc.returncode


@dataclass
class Launcher:
    """Starts processes and stops every one it started, newest first."""

    workdir: Path  # temporary: NATS data
    logs: Path  # kept: every process's output
    processes: list[Process] = field(default_factory=list)

    def nats(self, name: str) -> tuple[str, Process]:
        port = free_port()
        data = self.workdir / name
        data.mkdir(parents=True)
        proc = natsserver.start(data, "127.0.0.1", port, DEFAULT_MAX_BODY)
        process = Process(name, proc, data / "nats.log")
        self.processes.append(process)
        return f"nats://127.0.0.1:{port}", process

    def spawn(self, name: str, args: list[str]) -> Process:
        """Run `python ARGS` from the repository root, its output to logs/NAME.log."""
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, *args],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches only us; we stop the children in order
            )
        process = Process(name, proc, log)
        self.processes.append(process)
        return process

    def gateway(self, name: str, nats_url: str, *args: str) -> tuple[str, Process]:
        port = free_port()
        process = self.spawn(
            name, ["-m", "cli", "gateway", "--nats", nats_url, "--port", str(port), *args]
        )
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process)
        return url, process

    def stop(self, processes: list[Process]) -> None:
        """Stop these processes in this order, and forget them."""
        for process in processes:
            code = stop(process)
            if code not in (0, -signal.SIGTERM):
                print(f"bench: {process.name} exited with code {code}", file=sys.stderr)
            self._keep_log(process)
            if process in self.processes:
                self.processes.remove(process)

    def stop_all(self) -> None:
        """Stop what is still running, newest first."""
        self.stop(list(reversed(self.processes)))

    def _keep_log(self, process: Process) -> None:
        """Copy a log written outside the logs folder (nats-server's) into it."""
        if process.log.parent != self.logs and process.log.exists():
            shutil.copyfile(process.log, self.logs / f"{process.name}.log")


def wait_healthy(url: str, process: Process, timeout: float = READY_TIMEOUT) -> None:
    """Until GET /healthz answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.check_running()
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise BenchError(f"gateway {url} not healthy within {timeout:g}s; see {process.log}")


def progress(text: str) -> None:
    print(f"bench {time.strftime('%H:%M:%S')}: {text}", file=sys.stderr, flush=True)


def with_launcher(logs: Path, measure: Callable[[Launcher], T]) -> T:
    """Run `measure` with a launcher whose processes are all stopped after it, whatever."""
    with tempfile.TemporaryDirectory(prefix="faas-bench-") as tmp:
        launcher = Launcher(Path(tmp), logs)
        try:
            return measure(launcher)
        finally:
            progress("stopping every process started")
            launcher.stop_all()
