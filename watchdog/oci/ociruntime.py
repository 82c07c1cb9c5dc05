"""The OCI runtime's command line, runc's or crun's (the same but for `start`): what the
watchdog asks of it."""

from __future__ import annotations

import base64
import contextlib
import errno
import functools
import hashlib
import json
import logging
import os
import select
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watchdog import cgroups

log = logging.getLogger(__name__)

TIMEOUT = 30.0  # seconds any one command of the runtime may take


class OciRuntimeError(Exception):
    """The runtime refused or failed; the message is its own."""


SECCOMP_BPF = "run.oci.seccomp_bpf_data"  # crun: this filter, compiled, in place of its own


@dataclass
class OciRuntime:
    """One OCI runtime binary, runc or crun, with its own state folder (`--root`), apart
    from Docker's."""

    binary: str
    root: Path
    # crun's compilation of seccomp filters (base64 of the BPF), by digest of their OCI form
    compiled: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def find(cls, root: Path, name: str = "runc") -> OciRuntime | None:
        path = shutil.which(name)
        return cls(path, root) if path else None

    @functools.cached_property
    def name(self) -> str:
        """crun or runc: crun is C, and makes a container for a third of runc's CPU."""
        return "crun" if Path(self.binary).name.startswith("crun") else "runc"

    def compiled_annotation(self, filter_key: str) -> dict[str, str]:
        """The annotation that gives crun a seccomp filter (by `seccomp_key`) already
        compiled, once it compiled it: crun then loads it as is, rather than compiling it
        again for each container (about 1.7 ms of CPU for Docker's profile here)."""
        found = self.compiled.get(filter_key)
        return {SECCOMP_BPF: found} if found else {}

    def keep_compiled(self, container_id: str, filter_key: str) -> None:
        """After crun created a container with this filter: keep what it compiled."""
        if self.name != "crun" or filter_key in self.compiled:
            return
        with contextlib.suppress(OSError):
            bpf = (self.root / container_id / "seccomp.bpf").read_bytes()
            if bpf and len(bpf) % 8 == 0:  # whole BPF instructions
                self.compiled[filter_key] = base64.b64encode(bpf).decode()

    def unusable(self) -> str | None:
        """Why this runtime cannot run containers here, or None when it can."""
        if os.geteuid() != 0:
            return "the watchdog does not run as root"
        try:
            self._run("--version")
        except OciRuntimeError as exc:
            return f"{self.binary} does not run: {exc}"
        if self.name == "crun" and (held := cgroups.hybrid_v2_controllers()):
            return (
                f"crun refuses this host's hybrid cgroup layout while its v2 hierarchy holds "
                f"controllers ({', '.join(held)}): mount each as v1 (scripts/bootstrap does)"
            )
        return None

    def command(self, *args: str) -> list[str]:
        return [self.binary, "--root", str(self.root), *args]

    def create(self, container_id: str, bundle: Path, pid_file: Path, log_file: Path) -> list[str]:
        """The command that creates a container whose stdio is the command's own."""
        return self.command(
            "--log",
            str(log_file),
            "--log-format",
            "json",
            "create",
            "--bundle",
            str(bundle),
            "--pid-file",
            str(pid_file),
            container_id,
        )

    def start(self, container_id: str) -> None:
        """Let a created container run its process.

        What `runc start` and `crun start` do, without their exec: release the init blocked
        on the container's exec FIFO (runc's init writes it, so it is read; crun's reads it,
        so it is written), then remove the FIFO (the runtime then lists the container as
        running). Where there is no FIFO (another layout), the runtime's `start` itself.
        """
        fifo = self.root / container_id / "exec.fifo"
        try:
            released = _write_fifo(fifo) if self.name == "crun" else _read_fifo(fifo)
        except FileNotFoundError:
            self._run("start", container_id)
            return
        if not released:
            raise OciRuntimeError(f"container {container_id} did not start: its init is gone")
        with contextlib.suppress(FileNotFoundError):
            fifo.unlink()

    def delete(self, container_id: str) -> None:
        """Remove the container, killing it first if it still runs; gone already is fine."""
        try:
            self._run("delete", "--force", container_id)
        except OciRuntimeError as exc:
            if "does not exist" not in str(exc) and "not exist" not in str(exc):
                raise

    def remove_stopped(self, container_id: str, cgroup_dirs: list[Path]) -> None:
        """What `runc delete` does for a container whose processes are all gone, without the
        exec of a Go program (a quarter of a container's CPU): remove its cgroups and state.
        Raises OSError when that cannot be done (a cgroup still busy): `delete` then."""
        for path in cgroup_dirs:
            with contextlib.suppress(FileNotFoundError):
                path.rmdir()
        shutil.rmtree(self.root / container_id)

    def list(self) -> list[dict[str, Any]]:
        out = self._run("list", "--format", "json")
        return json.loads(out) or [] if out.strip() else []

    def _run(self, *args: str) -> str:
        try:
            done = subprocess.run(
                self.command(*args), capture_output=True, timeout=TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise OciRuntimeError(str(exc)) from exc
        if done.returncode != 0:
            raise OciRuntimeError(error_text(done.stderr) or f"exit code {done.returncode}")
        return done.stdout.decode()


def error_text(raw: bytes) -> str:
    """runc's message from its stderr or its JSON log: the last error it wrote."""
    message = ""
    for line in raw.decode(errors="replace").splitlines():
        line = line.strip()
        try:
            entry = json.loads(line)
        except ValueError:
            message = line or message
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "fatal"):
            message = str(entry.get("msg", ""))
    return message


def seccomp_key(seccomp: dict[str, Any]) -> str:
    """What names a seccomp filter in its OCI form."""
    return hashlib.sha256(json.dumps(seccomp, sort_keys=True).encode()).hexdigest()


def _read_fifo(fifo: Path) -> bool:
    """runc's FIFO: read the byte its init writes; False when the init is gone."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        ready, _, _ = select.select([fd], [], [], TIMEOUT)
        return bool(ready) and bool(os.read(fd, 1))
    finally:
        os.close(fd)


def _write_fifo(fifo: Path) -> bool:
    """crun's FIFO: write a byte to its init, which holds it open for reading; False when
    the init is gone (no reader)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            return False
        raise
    try:
        os.write(fd, b"0")
    finally:
        os.close(fd)
    return True
