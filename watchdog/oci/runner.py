"""Run one call in a fresh OCI container through crun or runc, without the Docker daemon on
the call's path. Blocking: call from a thread.

The watchdog is the child subreaper of its containers: `create` exits once a container is
made, its first process becomes the watchdog's child, and the watchdog waits for it (pidfd),
kills it at its deadline, and reads its exit status itself.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from faas.secretstore import SecretError
from faas.wire import CallKind, CallRequest, CallResult
from watchdog import cgroups
from watchdog.environ import call_environment, request_variables
from watchdog.exchange import Stop, Tap, exchange_pipes
from watchdog.oci import kernel
from watchdog.oci.factory import Factory, Made, NotAhead
from watchdog.oci.images import ImageError, ImageStore
from watchdog.oci.network import Bridge, NetworkError, resolv_conf
from watchdog.oci.ociruntime import OciRuntime, OciRuntimeError
from watchdog.oci.pool import Entry, Limits, Pool, env_prefix
from watchdog.oci.profile import Profile
from watchdog.runner import Ran, failed_to_run, finished, output_for
from watchdog.secretfiles import SecretProvider, secret_files

AHEAD_NICENESS = 10


class OciRunner:
    """One container per call: make its bundle, `create`, `start`, exchange, wait."""

    blocking = True

    def __init__(
        self,
        runtime: OciRuntime,
        images: ImageStore,
        profile: Profile,
        bridge: Bridge | None,
        calls_dir: Path,
        watchdog_id: str,
        secrets: SecretProvider | None = None,
        ahead: Limits | None = None,
        shim: Path | None = None,
    ) -> None:
        self.runtime = runtime
        self.images = images
        self.bridge = bridge
        self.calls_dir = calls_dir
        self.watchdog_id = watchdog_id
        self.secrets = secrets
        self.factory = Factory(
            runtime, images, profile, bridge, calls_dir, watchdog_id, resolv_conf(), shim
        )
        self._lock = threading.Lock()
        # with a shim (a static busybox), containers are made ahead of their calls
        self.pool = Pool(ahead, self._make_ahead, self.remove) if ahead and shim else None
        self._templates: dict[str, CallRequest] = {}  # pool key -> a call to make them from
        self._not_ahead: set[str] = set()  # pool keys whose containers are made for the call

    def start(self) -> None:
        """Become the subreaper of the containers, make the folders, set the bridge up."""
        kernel.become_subreaper()
        self.calls_dir.mkdir(parents=True, exist_ok=True)
        self.runtime.root.mkdir(parents=True, exist_ok=True)
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
                made = self.factory.make(call, container_id, call_environment(call), secrets)
                self.factory.create(made)
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
        except OciRuntimeError as exc:
            why = f"cannot start a container of image {call.run.image}: {exc}"
        except OSError as exc:
            why = f"cannot make a container of image {call.run.image}: {exc}"
        made = self.factory.made(container_id)
        ran = Ran(made.image_id, made.created_at) if made is not None else None
        result = failed_to_run(call, started, self.watchdog_id, why, ran)
        return result, container_id if made is not None else None

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
        made = self.factory.made(entry.container_id)
        assert made is not None  # the pool's until taken: nobody removed it
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
            made = self.factory.make(call, container_id, dict(call.run.env), None, shim=True)
            self.factory.create(made, niceness=AHEAD_NICENESS)
        except NotAhead:
            with self._lock:
                self._not_ahead.add(key)
            self.remove(container_id)
            raise
        except BaseException:
            self.remove(container_id)
            raise
        return Entry(key, call.function, container_id, _rss(made.pid), time.monotonic())

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
                self.runtime.start(made.container_id)
            except OciRuntimeError:
                kernel.close(stdin, *outputs)
                raise
            started_at = time.time()
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
            exit_code = self.factory.reap(made)
        exited_at = time.time()
        oom = stop is Stop.EOF and exit_code != 0 and cgroups.oom_killed(made.cgroups_path)
        usage = cgroups.usage(made.cgroups_path)  # its cgroup stays until `remove`
        ran = Ran(made.image_id, made.created_at, started_at, exited_at, usage)
        return finished(
            call, out, stop, exit_code, oom, started, start_seconds, self.watchdog_id, ran
        )

    def remove(self, container_id: str) -> None:
        self.factory.remove(container_id)

    def remove_orphans(self) -> int:
        """Remove the containers, mounts and folders a killed run of this watchdog left."""
        return self.factory.remove_orphans()


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
