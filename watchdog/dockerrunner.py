"""Run one call in a fresh container through the Docker engine. Blocking: call from a thread."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import Mount

from faas.secretstore import SecretError
from faas.wire import CallRequest, CallResult
from watchdog.environ import call_environment
from watchdog.exchange import Stop, Tap, exchange
from watchdog.runner import WATCHDOG_LABEL, failed_to_run, finished, labels, output_for
from watchdog.secretfiles import SECRETS_PATH, SecretProvider, remove_leftovers, secret_files

log = logging.getLogger(__name__)

TMPFS = "rw,nosuid,nodev,size=64m"


class DockerRunner:
    """One container per call: create, attach, start, exchange stdin/stdout, wait."""

    def __init__(
        self,
        client: docker.DockerClient,
        watchdog_id: str,
        secrets: SecretProvider | None = None,
    ) -> None:
        self.api = client.api
        self.watchdog_id = watchdog_id
        self.secrets = secrets  # name list -> values; None: this watchdog has no secrets key

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
        try:
            container_id = self._create(call, secrets)
        except ImageNotFound:
            return self._error(call, started, f"image {call.run.image} is not on this host"), None
        except DockerException as exc:
            why = f"cannot create a container of image {call.run.image}: {_reason(exc)}"
            return self._error(call, started, why), None
        try:
            result = self._run_created(call, container_id, started, aborted, tap)
        except DockerException as exc:
            why = f"the container of image {call.run.image} failed: {_reason(exc)}"
            result = self._error(call, started, why)
        return result, container_id

    def _create(self, call: CallRequest, secrets: Path | None) -> str:
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
    ) -> CallResult:
        out = output_for(call, tap)
        attached = self.api.attach_socket(
            container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        raw = attached._sock
        try:
            self.api.start(container_id)
            start_seconds = time.monotonic() - started
            stop = exchange(raw, call.body, out, started + call.run.timeout, aborted)
        finally:
            attached.close()
            raw.close()
        if stop is not Stop.EOF:
            self._kill(container_id)
        exit_code = int(self.api.wait(container_id, timeout=30)["StatusCode"])
        oom = stop is Stop.EOF and exit_code != 0 and self._oom_killed(container_id)
        return finished(call, out, stop, exit_code, oom, started, start_seconds, self.watchdog_id)

    def _oom_killed(self, container_id: str) -> bool:
        state: dict[str, Any] = self.api.inspect_container(container_id)["State"]
        return bool(state.get("OOMKilled"))

    def _kill(self, container_id: str) -> None:
        try:
            self.api.kill(container_id)
        except APIError as exc:  # it exited meanwhile
            log.debug("kill %s: %s", container_id[:12], exc)

    def _error(self, call: CallRequest, started: float, message: str) -> CallResult:
        return failed_to_run(call, started, self.watchdog_id, message)

    def remove(self, container_id: str) -> None:
        remove_container(self.api, container_id)

    def remove_orphans(self) -> int:
        """Remove containers (and secret folders) a previous run of this watchdog left behind."""
        count = remove_docker_orphans(self.api, self.watchdog_id)
        folders = remove_leftovers(self.watchdog_id)
        if folders:
            log.info("removed %d secret folder(s) left by an earlier run", folders)
        return count

    def close(self) -> None:
        """Nothing is held between calls."""

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
