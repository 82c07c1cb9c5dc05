"""`faas up`: nats-server, a gateway and a watchdog on this machine, as one process tree."""

from __future__ import annotations

import functools
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

import httpx

from cli import natsserver
from cli.build import build_stack
from cli.client import Client
from cli.push import push_stack
from cli.stack import Stack, load_stack
from faas.basicauth import PASSWORD_FILE, BasicAuth, ensure_secrets
from faas.errors import Error
from faas.secretstore import ensure_key
from faas.settings import UpSettings

log = logging.getLogger(__name__)

STOP_WAIT = 45.0  # per child: the watchdog's grace period plus room
READY_WAIT = 120.0  # for the watchdog to join: it may unpack images first
LOOPBACK = ("127.0.0.1", "localhost", "::1")  # a NATS only this host reaches


class Up:
    """Starts the parts in order, stops them in reverse on SIGINT or SIGTERM."""

    def __init__(self, settings: UpSettings) -> None:
        self.settings = settings
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.restart: dict[str, Callable[[], subprocess.Popen[bytes]]] = {}
        self.stopping = threading.Event()

    @property
    def nats_url(self) -> str:
        """Every server's URL, comma-separated: what a gateway or watchdog is given."""
        host = self.settings.nats_host_shown
        return ",".join(f"nats://{host}:{port}" for port in self.settings.nats_ports)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        stack = load_stack(self.settings.stack_file) if self.settings.stack_file else None
        try:
            self._start(stack)
            return self._watch()
        finally:
            self._stop_all()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping.set()

    def _start(self, stack: Stack | None) -> None:
        s = self.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        auth = ensure_secrets(s.secrets_dir)
        ensure_key(s.secrets_key_file)
        _check_free(s.port, "gateway")
        for port in s.nats_ports:
            _check_free(port, "NATS")
            if s.nats_cluster > 1:
                _check_free(port + natsserver.ROUTE_PORT_OFFSET, "NATS cluster routes")
        if stack:
            build_stack(stack)
        self._start_nats()
        local = ",".join(f"nats://127.0.0.1:{port}" for port in s.nats_ports)
        nats = ["--nats", local]
        if s.nats_replicas:
            nats += ["--nats-replicas", str(s.nats_replicas)]
        self._start_gateway(nats)
        if s.watchdog:
            key = ["--secrets-key", str(s.secrets_key_file)]
            self._spawn("watchdog", ["watchdog", *nats, "--capacity", str(s.capacity), *key])
        if stack:
            self._deploy(stack, auth)
        if s.watchdog:  # the how-to-call lines come once a call can be served
            self._wait_for("/readyz", "the watchdog did not join the gateway", READY_WAIT)
        self._print_usage(stack, auth)

    def _start_nats(self) -> None:
        s = self.settings
        cluster = [(s.nats_host, port) for port in s.nats_ports] if s.nats_cluster > 1 else []
        for port in s.nats_ports:
            data = s.nats_dir(port)
            where = f"{s.nats_host_shown}:{port}"
            print(f"starting nats-server on {where} (data in {data})", flush=True)
            data.mkdir(parents=True, exist_ok=True)
            host = s.nats_host
            start = functools.partial(natsserver.start, data, host, port, s.max_body, cluster)
            self.children.append((f"nats-server {port}", start()))
            # a cluster's others serve on without it; a lone one's parts reconnect and make
            # again what it kept in memory: either way, it is started again
            self.restart[f"nats-server {port}"] = start

    def _start_gateway(self, nats: list[str]) -> None:
        s = self.settings
        args = ["gateway", *nats, "--port", str(s.port), "--max-body", str(s.max_body)]
        args += ["--auth-dir", str(s.secrets_dir)] + (["--invoke-auth"] if s.invoke_auth else [])
        args += ["--secrets-key", str(s.secrets_key_file)]
        self._spawn("gateway", args)
        self._wait_for("/healthz", f"the gateway did not answer on {self.gateway_url}", 20)

    def _spawn(self, name: str, args: list[str]) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", *args], start_new_session=True, env=os.environ.copy()
        )
        self.children.append((name, proc))

    def _wait_for(self, path: str, failure: str, timeout: float) -> None:
        """Until the gateway answers 200 on `path`; else fail saying what it last said."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline and not self.stopping.is_set():
            self._check_children()
            try:
                answer = httpx.get(self.gateway_url + path, timeout=1)
            except httpx.HTTPError as exc:
                last = str(exc) or type(exc).__name__
            else:
                if answer.status_code == 200:
                    return
                last = answer.text.strip()
            time.sleep(0.1)
        raise Error(f"{failure} within {timeout:g}s: {last}")

    def _deploy(self, stack: Stack, auth: BasicAuth) -> None:
        """Deploy the stack; when other hosts can reach NATS, push its images first, so their
        watchdogs can run them."""
        with Client(self.gateway_url, auth=auth) as client:
            if self.settings.nats_host not in LOOPBACK:
                push_stack(stack, client, None)
            for fn in stack.functions.values():
                print(f"[{fn.name}] {client.deploy(fn.deployment())}", flush=True)

    def _print_usage(self, stack: Stack | None, auth: BasicAuth) -> None:
        names = list(stack.functions) if stack else []
        example = names[0] if names else "NAME"
        read_password = f"cat {shlex.quote(str(self.settings.secrets_dir / PASSWORD_FILE))}"
        user = shlex.quote(auth.user)
        curl_auth = f'-u {user}:"$({read_password})" ' if self.settings.invoke_auth else ""
        lines = [
            "",
            f"gateway:  {self.gateway_url}",
            f"dashboard: {self.gateway_url}/ui/   (log in with the user and password below)",
            f"user:     {auth.user}",
            f"password: {read_password}",
            *self._nats_lines(),
            f"functions: {', '.join(names) or '(none deployed)'}",
            "",
            "log in, for faas list, deploy and the rest:",
            f"  {read_password} | "
            f"faas login --gateway {self.gateway_url} -u {user} --password-stdin",
            "",
            "call one:"
            if self.settings.watchdog
            else "call one, once a watchdog has joined "
            f"({self.gateway_url}/readyz answers 200 then):",
            f"  curl {curl_auth}-d world {self.gateway_url}/function/{example}",
            f"  echo world | faas invoke {example} --gateway {self.gateway_url}",
            "",
            "Ctrl-C stops everything.",
        ]
        print("\n".join(lines), flush=True)

    def _nats_lines(self) -> list[str]:
        s = self.settings
        if s.nats_cluster == 1:
            more = f"more watchdogs: faas watchdog --nats {self.nats_url}"
            return [f"nats:     {self.nats_url}   ({more})"]
        lines = [
            f"nats:     {self.nats_url}",
            f"          {s.nats_cluster} servers, one JetStream cluster; every stream and bucket "
            f"kept on {s.nats_replicas}; a server that exits is restarted",
        ]
        if s.nats_host in ("127.0.0.1", "localhost", "::1"):
            return [*lines, "          (other hosts join one started with --nats-host 0.0.0.0)"]
        replicas = f" --nats-replicas {s.nats_replicas}"
        return [
            *lines,
            "more gateways and watchdogs, on other hosts:",
            f"  faas gateway --nats {self.nats_url}{replicas}",
            f"  faas watchdog --nats {self.nats_url}{replicas}",
        ]

    def _watch(self) -> int:
        while not self.stopping.wait(0.5):
            try:
                self._check_children()
            except Error as exc:
                print(f"faas up: {exc}; stopping", file=sys.stderr, flush=True)
                return 1
        print("\nstopping...", flush=True)
        return 0

    def _check_children(self) -> None:
        for i, (name, proc) in enumerate(self.children):
            if proc.poll() is None:
                continue
            if name not in self.restart:
                raise Error(f"{name} exited with code {proc.returncode}")
            print(f"faas up: {name} exited with code {proc.returncode}; restarting it", flush=True)
            self.children[i] = (name, self.restart[name]())

    def _stop_all(self) -> None:
        """Stop children newest first: the watchdog finishes its calls before the bus goes."""
        for name, proc in reversed(self.children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(STOP_WAIT)
                except subprocess.TimeoutExpired:
                    log.warning("%s did not stop in %gs: killing it", name, STOP_WAIT)
                    proc.kill()
                    proc.wait()
        self.children.clear()


def _check_free(port: int, what: str) -> None:
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise Error(f"port {port} for the {what} is taken: is another `faas up` running?")


def up(settings: UpSettings) -> int:
    return Up(settings).run()
