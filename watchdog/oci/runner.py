"""Run one call in a fresh OCI container through runc, without the Docker daemon on the call's
path. Blocking: call from a thread.

The watchdog is the child subreaper of its containers: `runc create` exits once a container is
made, its first process becomes the watchdog's child, and the watchdog waits for it (pidfd),
kills it at its deadline, and reads its exit status itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from faas.secretstore import SecretError
from faas.wire import CallKind, CallRequest, CallResult
from watchdog.dockerrunner import remove_docker_orphans
from watchdog.environ import call_environment, request_variables
from watchdog.exchange import Stop, Tap, exchange_pipes
from watchdog.oci import bundle, cgroups, kernel
from watchdog.oci.images import ImageError, ImageStore, NotUnpacked
from watchdog.oci.network import Bridge, Lease, NetworkError, resolv_conf
from watchdog.oci.pool import Entry, Later, Limits, Pool, env_prefix, shim_args
from watchdog.oci.profile import Profile
from watchdog.oci.runc import Runc, RuncError, error_text
from watchdog.runner import (
    CALL_LABEL,
    WATCHDOG_LABEL,
    failed_to_run,
    finished,
    labels,
    output_for,
)
from watchdog.secretfiles import SecretProvider, remove_leftovers, secret_files

log = logging.getLogger(__name__)

CGROUP_PARENT = "faas"
AHEAD_NICENESS = 10
AHEAD = "(ahead)"  # the faas.call label of a container made ahead: its folder's `call` says
CREATE_TIMEOUT = 30.0


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


class OciRunner:
    """One container per call: make its bundle, `runc create`, `runc start`, exchange, wait."""

    def __init__(
        self,
        runc: Runc,
        images: ImageStore,
        profile: Profile,
        bridge: Bridge | None,
        calls_dir: Path,
        watchdog_id: str,
        secrets: SecretProvider | None = None,
        ahead: Limits | None = None,
        shim: Path | None = None,
    ) -> None:
        self.runc = runc
        self.images = images
        self.profile = profile
        self.bridge = bridge  # None: calls with network "bridge" fail, saying why
        self.calls_dir = calls_dir
        self.watchdog_id = watchdog_id
        self.secrets = secrets
        self.resolv_conf = resolv_conf()
        self._made: dict[str, Made] = {}
        self._lock = threading.Lock()
        self.shim = shim  # a static busybox: with it, containers are made ahead of calls
        self.pool = Pool(ahead, self._make_ahead, self.remove) if ahead and shim else None
        self._templates: dict[str, CallRequest] = {}  # pool key -> a call to make them from
        self._not_ahead: set[str] = set()  # pool keys whose containers are made for the call

    def start(self) -> None:
        """Become the subreaper of the containers, make the folders, set the bridge up."""
        kernel.become_subreaper()
        self.calls_dir.mkdir(parents=True, exist_ok=True)
        self.runc.root.mkdir(parents=True, exist_ok=True)
        self.images.start()
        if self.bridge is not None:
            self.bridge.start()
        if self.pool is not None:
            self.pool.start()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.stop()
        if self.bridge is not None:
            self.bridge.stop()

    def forget(self, function: str) -> None:
        """The function was updated or removed: no container made ahead for it stays."""
        with self._lock:
            self._templates = {k: c for k, c in self._templates.items() if c.function != function}
            self._not_ahead = {k for k in self._not_ahead if not k.startswith(f"{function}\0")}
        if self.pool is not None:
            self.pool.forget(function)

    def run(
        self, call: CallRequest, aborted: threading.Event, tap: Tap | None = None
    ) -> tuple[CallResult, str | None]:
        started = time.monotonic()
        ahead = self._take_ahead(call)
        if ahead is not None:
            made, prefix = ahead
            return self._guarded(call, made.container_id, started, lambda: self._run(
                call, made, started, aborted, tap, prefix))  # fmt: skip
        container_id = f"faas-{uuid.uuid4().hex}"

        def fresh() -> CallResult:
            with secret_files(call.run.secrets, self.secrets, self.watchdog_id) as secrets:
                made = self._make(call, container_id, call_environment(call), secrets)
                self._create(made)
                return self._run(call, made, started, aborted, tap)

        return self._guarded(call, container_id, started, fresh)

    def _guarded(
        self, call: CallRequest, container_id: str, started: float, work: Callable[[], CallResult]
    ) -> tuple[CallResult, str | None]:
        """The call's result, or the reason it could not run; and the container to remove."""
        try:
            return work(), container_id
        except SecretError as exc:
            why = f"cannot give {call.function} its secrets: {exc}"
        except (ImageError, NetworkError) as exc:
            why = str(exc)
        except RuncError as exc:
            why = f"cannot start a container of image {call.run.image}: {exc}"
        except OSError as exc:
            why = f"cannot make a container of image {call.run.image}: {exc}"
        known = container_id in self._made
        return failed_to_run(call, started, self.watchdog_id, why), container_id if known else None

    def _take_ahead(self, call: CallRequest) -> tuple[Made, bytes] | None:
        """A container made ahead for this function's spec, and the lines its shim reads."""
        if self.pool is None or call.run.secrets or call.kind == CallKind.JOB:
            return None
        prefix = env_prefix(request_variables(call))
        if prefix is None:
            return None
        key = _pool_key(call)
        with self._lock:
            if key in self._not_ahead:
                return None
            self._templates.setdefault(key, replace(call, call_id="", body=b"", headers=[]))
        entry = self.pool.take(key, call.function)
        if entry is None:
            return None
        with self._lock:
            made = self._made[entry.container_id]
        os.setpriority(os.PRIO_PROCESS, made.pid, 0)  # the call runs at the usual priority
        (made.folder / "call").write_text(call.call_id)  # its faas.call label says AHEAD
        return made, prefix

    def _make_ahead(self, key: str) -> Entry:
        """A container for the next call with this key (the pool's thread)."""
        with self._lock:
            call = self._templates.get(key)
        if call is None:
            raise NotAhead("its function was deployed again or removed")
        container_id = f"faas-{uuid.uuid4().hex}"
        try:
            made = self._make(call, container_id, dict(call.run.env), None, shim=True)
            self._create(made, niceness=AHEAD_NICENESS)
        except NotAhead:
            with self._lock:
                self._not_ahead.add(key)
            self.remove(container_id)
            raise
        except BaseException:
            self.remove(container_id)
            raise
        return Entry(key, call.function, container_id, _rss(made.pid), time.monotonic())

    def _make(
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
            annotations=labels(call, self.watchdog_id) | ({CALL_LABEL: AHEAD} if shim else {}),
            netns=made.lease.path if made.lease else None,
            secrets=secrets,
            shim=self.shim if shim else None,
        )
        args = bundle.command(image.config, call.run.command, call.run.image)
        environment = bundle.environment(image.config, env, hostname)
        cwd = image.config.working_dir or "/"
        if shim and not bundle.resolves(image.rootfs, args[0], environment, cwd):
            # runc itself says so, as a start failure, for a container made for its call
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

    def _run(
        self,
        call: CallRequest,
        made: Made,
        started: float,
        aborted: threading.Event,
        tap: Tap | None,
        prefix: bytes = b"",
    ) -> CallResult:
        """Start the created container, exchange stdin and output, wait for its end."""
        out = output_for(call, tap)
        stdin, outputs = made.stdin, made.outputs
        made.stdin, made.outputs = -1, {}
        with kernel.pidfd(made.pid) as pidfd:
            try:
                self.runc.start(made.container_id)
            except RuncError:
                kernel.close(stdin, *outputs)
                raise
            start_seconds = time.monotonic() - started
            deadline = started + call.run.timeout
            body = prefix + call.body if prefix else call.body
            try:
                stop = exchange_pipes(stdin, outputs, body, out, deadline, aborted)
            finally:
                kernel.close(*outputs)
            if stop is Stop.EOF:  # its output closed; it may still run
                stop = kernel.wait_exit(pidfd, deadline, aborted)
            if stop is not Stop.EOF:
                kernel.kill(made.pid)
            exit_code = self._reap(made)
        oom = stop is Stop.EOF and exit_code != 0 and cgroups.oom_killed(made.cgroups_path)
        return finished(call, out, stop, exit_code, oom, started, start_seconds, self.watchdog_id)

    def _create(self, made: Made, niceness: int = 0) -> None:
        """`runc create`, its stdio the container's; keep our ends of the three pipes.

        With `niceness`, runc and the container's first process run at that lower priority
        (containers made ahead yield the CPU to calls running); `_take_ahead` lifts it."""
        in_read, in_write = os.pipe()
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        log_file = made.folder / "runc.log"
        argv = self.runc.create(made.container_id, made.folder, made.folder / "pid", log_file)
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
            raise RuncError(_log_text(log_file) or f"runc create exited with code {code}")
        made.pid = int((made.folder / "pid").read_text())

    def _reap(self, made: Made) -> int:
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
        """Its cgroups and runc state; without runc's exec where its process was reaped here."""
        if made is not None and made.exited:
            try:
                self.runc.remove_stopped(container_id, cgroups.directories(made.cgroups_path))
                return
            except OSError as exc:
                log.debug("container %s: %s; runc delete instead", container_id, exc)
        try:
            self.runc.delete(container_id)
        except RuncError as exc:
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
        for state in self.runc.list():
            annotations = state.get("annotations") or {}
            if annotations.get(WATCHDOG_LABEL) == self.watchdog_id and CALL_LABEL in annotations:
                self.runc.delete(str(state["id"]))
                count += 1
        for folder in self.calls_dir.glob("faas-*"):
            if owner_of(folder) == self.watchdog_id:
                with contextlib.suppress(OSError):
                    kernel.umount(folder / "rootfs")
                shutil.rmtree(folder, ignore_errors=True)
        remove_leftovers(self.watchdog_id)
        return count + remove_docker_orphans(self.images.client.api, self.watchdog_id)


def _pool_key(call: CallRequest) -> str:
    """Calls whose containers are alike: same function and same spec, to the byte."""
    return f"{call.function}\0" + repr(sorted(vars(call.run).items()))


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def owner_of(folder: Path) -> str:
    """The watchdog a call folder belongs to, from the annotations of its config."""
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
