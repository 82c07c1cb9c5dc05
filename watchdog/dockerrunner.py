"""Run one call in a fresh container through the Docker engine. Blocking: call from a thread.

Docker removes a container's cgroup as soon as it exits, before its peak memory and CPU time
can be read; so, with the cgroupfs driver, each container gets a parent cgroup of its own
(`/faas-docker/<watchdog>/<run>`), which keeps its counts until the container is removed.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import Mount

from faas.secretstore import SecretError
from faas.wire import CallRequest, CallResult
from watchdog import cgroups
from watchdog.cgroups import Usage
from watchdog.environ import call_environment
from watchdog.exchange import Stop, Tap, exchange
from watchdog.runner import WATCHDOG_LABEL, Ran, failed_to_run, finished, labels, output_for
from watchdog.secretfiles import (
    SECRETS_PATH,
    SecretProvider,
    remove_leftovers,
    safe_name,
    secret_files,
)

log = logging.getLogger(__name__)

TMPFS = "rw,nosuid,nodev,size=64m"
CGROUP_PARENT = "faas-docker"


def cgroup_parent_of(client: docker.DockerClient, watchdog_id: str) -> str | None:
    """The cgroup under which this watchdog's containers get their own parents; None when
    Docker's driver is not cgroupfs (systemd wants slices): their use is then not read."""
    try:
        driver = client.info().get("CgroupDriver")
    except DockerException as exc:
        log.warning("cannot ask Docker for its cgroup driver (%s): no resource use read", exc)
        return None
    if driver != "cgroupfs":
        log.info("Docker's cgroup driver is %s: its containers' resource use is not read", driver)
        return None
    name = safe_name(watchdog_id)
    return f"/{CGROUP_PARENT}/{name if name.strip('.') else '_'}"


class DockerRunner:
    """One container per call: create, attach, start, exchange stdin/stdout, wait."""

    blocking = True

    def __init__(
        self,
        client: docker.DockerClient,
        watchdog_id: str,
        secrets: SecretProvider | None = None,
        cgroup_parent: str | None = None,
    ) -> None:
        self.api = client.api
        self.watchdog_id = watchdog_id
        self.secrets = secrets  # name list -> values; None: this watchdog has no secrets key
        self.cgroup_parent = cgroup_parent  # None: no cgroup of our own, no resource use
        self._cgroups: dict[str, str] = {}  # container id -> the cgroup made its parent
        self._lock = threading.Lock()

    def run(
        self, call: CallRequest, aborted: threading.Event, tap: Tap | None = None
    ) -> tuple[CallResult, str | None]:
        started = time.monotonic()
        try:
            with secret_files(call.run.secrets, self.secrets, self.watchdog_id) as folder:
                return self._run(call, aborted, started, folder, tap)
        except SecretError as exc:
            message = f"cannot give {call.function} its secrets: {exc}"
            return self._error(call, started, message), None

    def _run(
        self,
        call: CallRequest,
        aborted: threading.Event,
        started: float,
        secrets: Path | None,
        tap: Tap | None,
    ) -> tuple[CallResult, str | None]:
        cgroup = f"{self.cgroup_parent}/{uuid.uuid4().hex}" if self.cgroup_parent else None
        try:
            container_id = self._create(call, secrets, cgroup)
        except ImageNotFound:
            return self._error(call, started, f"image {call.run.image} is not on this host"), None
        except DockerException as exc:
            why = f"cannot create a container of image {call.run.image}: {_reason(exc)}"
            return self._error(call, started, why), None
        ran = Ran(created_at=time.time())
        if cgroup is not None:
            with self._lock:
                self._cgroups[container_id] = cgroup
        try:
            result = self._run_created(call, container_id, started, aborted, tap, ran)
        except DockerException as exc:
            why = f"the container of image {call.run.image} failed: {_reason(exc)}"
            result = failed_to_run(call, started, self.watchdog_id, why, ran)
        return result, container_id

    def _create(self, call: CallRequest, secrets: Path | None, cgroup: str | None) -> str:
        mount = Mount(SECRETS_PATH, str(secrets), type="bind", read_only=True) if secrets else None
        run = self.api.create_host_config(
            mounts=[mount] if mount else None,
            mem_limit=call.run.memory or None,
            memswap_limit=call.run.memory or None,
            nano_cpus=int(call.run.cpus * 1e9) or None,
            pids_limit=call.run.pids or None,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            read_only=call.run.read_only,
            tmpfs={"/tmp": TMPFS} if call.run.read_only else None,
            network_mode=call.run.network,
            log_config={"type": "none"},
            cgroup_parent=cgroup,
        )
        created = self.api.create_container(
            call.run.image,
            command=call.run.command or None,
            stdin_open=True,
            environment=call_environment(call),
            labels=labels(call, self.watchdog_id),
            host_config=run,
        )
        return str(created["Id"])

    def _run_created(
        self,
        call: CallRequest,
        container_id: str,
        started: float,
        aborted: threading.Event,
        tap: Tap | None,
        ran: Ran,
    ) -> CallResult:
        out = output_for(call, tap)
        attached = self.api.attach_socket(
            container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        raw = attached._sock
        try:
            self.api.start(container_id)
            ran.started_at = time.time()
            start_seconds = time.monotonic() - started
            stop = exchange(raw, call.body, out, started + call.run.timeout, aborted)
        finally:
            attached.close()
            raw.close()
        if stop is not Stop.EOF:
            self._kill(container_id)
        exit_code = int(self.api.wait(container_id, timeout=30)["StatusCode"])
        ran.exited_at = time.time()
        inspected: dict[str, Any] = self.api.inspect_container(container_id)
        ran.image_id = str(inspected.get("Image") or "")
        ran.usage = self._usage(container_id)
        oom = stop is Stop.EOF and exit_code != 0 and bool(inspected["State"].get("OOMKilled"))
        return finished(
            call, out, stop, exit_code, oom, started, start_seconds, self.watchdog_id, ran
        )

    def _usage(self, container_id: str) -> Usage:
        """What the exited container used, from the parent cgroup it had of its own."""
        with self._lock:
            cgroup = self._cgroups.get(container_id)
        return cgroups.usage(cgroup) if cgroup is not None else Usage()

    def _kill(self, container_id: str) -> None:
        try:
            self.api.kill(container_id)
        except APIError as exc:  # it exited meanwhile
            log.debug("kill %s: %s", container_id[:12], exc)

    def _error(self, call: CallRequest, started: float, message: str) -> CallResult:
        return failed_to_run(call, started, self.watchdog_id, message)

    def remove(self, container_id: str) -> None:
        remove_container(self.api, container_id)
        with self._lock:
            cgroup = self._cgroups.pop(container_id, None)
        if cgroup is not None:
            cgroups.remove(cgroup)

    def remove_orphans(self) -> int:
        """Remove containers (and secret folders, cgroups) a previous run of this watchdog
        left behind."""
        count = remove_docker_orphans(self.api, self.watchdog_id)
        folders = remove_leftovers(self.watchdog_id)
        if folders:
            log.info("removed %d secret folder(s) left by an earlier run", folders)
        if self.cgroup_parent is not None:
            for cgroup in cgroups.children(self.cgroup_parent):
                cgroups.remove(cgroup)
        return count

    def close(self) -> None:
        """Remove the cgroup this watchdog's calls were made under."""
        if self.cgroup_parent is not None:
            cgroups.remove(self.cgroup_parent)

    def forget(self, function: str) -> None:
        """Nothing is kept for a function."""


def remove_container(api: docker.APIClient, container_id: str) -> None:
    try:
        api.remove_container(container_id, force=True)
    except NotFound:
        pass  # already gone
    except APIError as exc:
        log.warning("cannot remove container %s: %s", container_id[:12], exc)


def remove_docker_orphans(api: docker.APIClient, watchdog_id: str) -> int:
    """Remove the Docker containers of calls this watchdog ran before it was killed."""
    orphans = api.containers(all=True, filters={"label": f"{WATCHDOG_LABEL}={watchdog_id}"})
    for container in orphans:
        remove_container(api, container["Id"])
    return len(orphans)


def _reason(exc: DockerException) -> str:
    """The engine's own words where it gave some, not the HTTP request that carried them."""
    return str(exc.explanation) if isinstance(exc, APIError) and exc.explanation else str(exc)
