"""What one call's container is made of on this host, and its making and unmaking: the
folder, the root filesystem (an overlay when writable), the network lease, the OCI config,
`create` of the OCI runtime (crun or runc); and after the call, all of it removed, with no
leftovers."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faas.wire import CallRequest
from watchdog import cgroups
from watchdog.dockerrunner import remove_docker_orphans
from watchdog.oci import bundle, kernel
from watchdog.oci.images import ImageStore, NotUnpacked
from watchdog.oci.network import Bridge, Lease, NetworkError
from watchdog.oci.ociruntime import OciRuntime, OciRuntimeError, error_text, seccomp_key
from watchdog.oci.pool import Later, shim_args
from watchdog.oci.profile import Profile
from watchdog.runner import CALL_LABEL, WATCHDOG_LABEL, labels
from watchdog.secretfiles import remove_leftovers

log = logging.getLogger(__name__)

CGROUP_PARENT = "faas"
AHEAD = "(ahead)"  # the faas.call label of a container made ahead: its folder's `call` says
CREATE_TIMEOUT = 30.0
OWNER_FILE = "owner"  # in a call folder: the id of the watchdog that made it


class NotAhead(Exception):
    """A container of this spec is not to be made ahead; the message says why."""


@dataclass
class Made:
    """What one container is made of on the host, removed with it."""

    container_id: str
    folder: Path
    image_id: str = ""
    lease: Lease | None = None
    overlay: bool = False
    pid: int = 0  # its first process, a child of the watchdog until reaped
    exited: bool = False  # its first process was reaped here: only its traces are left
    created_at: float = 0.0  # wall-clock seconds `create` ended; 0.0: not created
    stdin: int = -1  # our ends of its stdio pipes, once created
    outputs: dict[int, str] = field(default_factory=dict)

    @property
    def rootfs(self) -> Path:
        return self.folder / "rootfs"

    @property
    def cgroups_path(self) -> str:
        return f"/{CGROUP_PARENT}/{self.container_id}"

    def close_pipes(self) -> None:
        kernel.close(self.stdin, *self.outputs)
        self.stdin, self.outputs = -1, {}


class Factory:
    """Makes containers and removes them; knows every one it made until it is removed."""

    def __init__(
        self,
        runtime: OciRuntime,
        images: ImageStore,
        profile: Profile,
        bridge: Bridge | None,
        calls_dir: Path,
        watchdog_id: str,
        resolv_conf: str,
        shim: Path | None,
    ) -> None:
        self.runtime = runtime
        self.images = images
        self.profile = profile
        self._filter = seccomp_key(profile.seccomp)
        self.bridge = bridge  # None: calls with network "bridge" fail, saying why
        self.calls_dir = calls_dir
        self.watchdog_id = watchdog_id
        self.resolv_conf = resolv_conf
        self.shim = shim  # a static busybox: the first process of containers made ahead
        self._made: dict[str, Made] = {}
        self._lock = threading.Lock()

    def made(self, container_id: str) -> Made | None:
        with self._lock:
            return self._made.get(container_id)

    def make(
        self,
        call: CallRequest,
        container_id: str,
        env: dict[str, str],
        secrets: Path | None,
        shim: bool = False,
    ) -> Made:
        """The container's folder, root filesystem, network and OCI config; undone by
        `remove`. With `shim`, its first process reads the call's variables first."""
        made = Made(container_id, self.calls_dir / container_id)
        made.folder.mkdir(mode=0o711)
        # owned from the start: killed before its config is written, it is still an orphan
        # of this watchdog, which its next run removes (mount and all)
        (made.folder / OWNER_FILE).write_text(self.watchdog_id)
        with self._lock:
            self._made[container_id] = made
        try:  # unpacking an image is for a call to wait for, not the pool
            image = self.images.acquire(call.run.image, call.run.revision, unpack=not shim)
        except NotUnpacked as exc:
            raise Later(str(exc)) from exc
        made.image_id = image.config.image_id
        rootfs = image.rootfs if call.run.read_only else self._overlay(made, image.rootfs)
        if call.run.network == "bridge":
            if self.bridge is None:
                raise NetworkError("this watchdog has no bridge network: see its log")
            made.lease = self.bridge.take()
        hostname = container_id.removeprefix("faas-")[:12]
        self._write_files(made, hostname)
        box = bundle.Container(
            image=call.run.image,
            config=image.config,
            profile=self.profile,
            rootfs=rootfs,
            files=made.folder,
            cgroups_path=made.cgroups_path,
            hostname=hostname,
            annotations=labels(call, self.watchdog_id)
            | ({CALL_LABEL: AHEAD} if shim else {})
            | self.runtime.compiled_annotation(self._filter),
            netns=made.lease.path if made.lease else None,
            secrets=secrets,
            shim=self.shim if shim else None,
        )
        args = bundle.command(image.config, call.run.command, call.run.image)
        environment = bundle.environment(image.config, env, hostname)
        cwd = image.config.working_dir or "/"
        if shim and not bundle.resolves(image.rootfs, args[0], environment, cwd):
            # the runtime itself says so, as a start failure, for a container made for its call
            raise NotAhead(f"{args[0]} is not in image {call.run.image}")
        config = bundle.oci_config(
            box,
            shim_args(args) if shim else args,
            environment,
            bundle.resolve_user(image.rootfs, image.config.user),
            call.run.memory,
            call.run.cpus,
            call.run.pids,
            call.run.read_only,
        )
        bundle.write(made.folder / "config.json", config)
        return made

    def _overlay(self, made: Made, lower: Path) -> Path:
        """A writable root: the image's below, the call's changes in its own folder above."""
        for name in ("rootfs", "upper", "work"):
            (made.folder / name).mkdir()
        options = (
            f"lowerdir={lower},upperdir={made.folder / 'upper'},workdir={made.folder / 'work'}"
        )
        kernel.mount("overlay", made.rootfs, "overlay", options)
        made.overlay = True
        return made.rootfs

    def _write_files(self, made: Made, hostname: str) -> None:
        address = made.lease.address if made.lease else "127.0.0.1"
        hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        (made.folder / "hosts").write_text(hosts + f"{address}\t{hostname}\n")
        (made.folder / "hostname").write_text(hostname + "\n")
        (made.folder / "resolv.conf").write_text(self.resolv_conf)

    def create(self, made: Made, niceness: int = 0) -> None:
        """The runtime's `create`, its stdio the container's; keep our ends of the three pipes.

        With `niceness`, the runtime and the container's first process run at that lower priority
        (containers made ahead yield the CPU to calls running); `_take_ahead` lifts it."""
        in_read, in_write = os.pipe()
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        log_file = made.folder / "runtime.log"
        argv = self.runtime.create(made.container_id, made.folder, made.folder / "pid", log_file)
        if niceness:
            argv = ["nice", "-n", str(niceness), *argv]
        try:
            proc = subprocess.Popen(argv, stdin=in_read, stdout=out_write, stderr=err_write)
        except OSError:
            kernel.close(in_read, in_write, out_read, out_write, err_read, err_write)
            raise
        kernel.close(in_read, out_write, err_write)
        made.stdin, made.outputs = in_write, {out_read: "stdout", err_read: "stderr"}
        code = kernel.wait(proc, CREATE_TIMEOUT)
        if code != 0:
            raise OciRuntimeError(
                _log_text(log_file) or f"{self.runtime.name} create exited with code {code}"
            )
        made.pid = int((made.folder / "pid").read_text())
        made.created_at = time.time()
        self.runtime.keep_compiled(made.container_id, self._filter)

    def reap(self, made: Made) -> int:
        """Wait for the container's first process; its exit code, 128 + signal when killed."""
        _, status = os.waitpid(made.pid, 0)
        made.pid, made.exited = 0, True
        code = os.waitstatus_to_exitcode(status)
        return 128 - code if code < 0 else code

    def remove(self, container_id: str) -> None:
        with self._lock:
            made = self._made.pop(container_id, None)
        if made is not None:
            made.close_pipes()
            if made.pid:  # never reaped: made, never started or never waited for
                kernel.kill(made.pid)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(made.pid, 0)
                made.pid, made.exited = 0, True
        self._delete(container_id, made)
        if made is not None:
            self._unmake(made)

    def _delete(self, container_id: str, made: Made | None) -> None:
        """Its cgroups and runtime state; without the runtime's exec where its process was
        reaped here."""
        if made is not None and made.exited:
            try:
                self.runtime.remove_stopped(container_id, cgroups.directories(made.cgroups_path))
                return
            except OSError as exc:
                log.debug("container %s: %s; the runtime's delete instead", container_id, exc)
        try:
            self.runtime.delete(container_id)
        except OciRuntimeError as exc:
            log.warning("cannot delete container %s: %s", container_id, exc)

    def _unmake(self, made: Made) -> None:
        if made.overlay:
            try:
                kernel.umount(made.rootfs)
            except OSError as exc:
                log.warning("cannot unmount %s: %s", made.rootfs, exc)
        if made.lease is not None and self.bridge is not None:
            self.bridge.remove(made.lease)
        if made.image_id:
            self.images.release(made.image_id)
        shutil.rmtree(made.folder, ignore_errors=True)

    def remove_orphans(self) -> int:
        """Remove the containers, mounts and folders a killed run of this watchdog left."""
        count = 0
        for state in self.runtime.list():
            if self._owns(state):
                self.runtime.delete(str(state["id"]))
                count += 1
        for folder in self.calls_dir.glob("faas-*"):
            if owner_of(folder) == self.watchdog_id:
                with contextlib.suppress(OSError):
                    kernel.umount(folder / "rootfs")
                shutil.rmtree(folder, ignore_errors=True)
        remove_leftovers(self.watchdog_id)
        if self.images.client is None:  # no Docker here: nothing of ours in it
            return count
        return count + remove_docker_orphans(self.images.client.api, self.watchdog_id)

    def _owns(self, state: dict[str, Any]) -> bool:
        """Whether a container the runtime lists is one of this watchdog's calls: runc lists
        its annotations; crun does not, but its bundle is the call's folder."""
        annotations = state.get("annotations")
        if annotations is not None:
            return annotations.get(WATCHDOG_LABEL) == self.watchdog_id and CALL_LABEL in annotations
        bundle_dir = Path(str(state.get("bundle", "")))
        return bundle_dir.parent == self.calls_dir and owner_of(bundle_dir) == self.watchdog_id


def owner_of(folder: Path) -> str:
    """The watchdog a call folder belongs to: its owner file, else (a folder made before
    there were owner files) the annotations of its config."""
    with contextlib.suppress(OSError):
        return (folder / OWNER_FILE).read_text().strip()
    try:
        config = bundle.read(folder / "config.json")
    except (OSError, ValueError):
        return ""
    return str((config.get("annotations") or {}).get(WATCHDOG_LABEL, ""))


def _log_text(path: Path) -> str:
    try:
        return error_text(path.read_bytes())
    except OSError:
        return ""
