"""Run one call in a fresh container through the Docker SDK. Blocking: call from a thread."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import Mount

from faas.jobs import JOB_KIND
from faas.records import MAX_TEXT
from faas.secretstore import SecretError
from faas.wire import CallRequest, CallResult, Outcome
from watchdog.environ import call_environment
from watchdog.exchange import Exchange, Stop, Tap, exchange
from watchdog.secretfiles import SECRETS_PATH, SecretProvider, remove_leftovers, secret_files

log = logging.getLogger(__name__)

CALL_LABEL = "faas.call"
FUNCTION_LABEL = "faas.function"
WATCHDOG_LABEL = "faas.watchdog"
MAX_STDERR = 64 * 1024
TMPFS = "rw,nosuid,nodev,size=64m"


class Runner(Protocol):
    """What the watchdog needs from a container runner."""

    def run(
        self, call: CallRequest, aborted: threading.Event, tap: Tap | None = None
    ) -> tuple[CallResult, str | None]:
        """Run the call; return its result and the id of the container left to remove.

        `tap`, when given, is called from the running thread with the output as it comes.
        """
        ...

    def remove(self, container_id: str) -> None: ...

    def remove_orphans(self) -> int: ...


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
            return self._error(call, started, f"cannot create container: {exc}"), None
        try:
            result = self._run_created(call, container_id, started, aborted, tap)
        except DockerException as exc:
            result = self._error(call, started, f"container failed: {exc}")
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
            labels=self.labels(call),
            host_config=run,
        )
        return str(created["Id"])

    def labels(self, call: CallRequest) -> dict[str, str]:
        return {
            CALL_LABEL: call.call_id,
            FUNCTION_LABEL: call.function,
            WATCHDOG_LABEL: self.watchdog_id,
        }

    def _run_created(
        self,
        call: CallRequest,
        container_id: str,
        started: float,
        aborted: threading.Event,
        tap: Tap | None,
    ) -> CallResult:
        out = _output(call, tap)
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
        outcome = self._outcome(stop, exit_code, container_id)
        return CallResult(
            call_id=call.call_id,
            outcome=outcome,
            exit_code=exit_code,
            body=bytes(out.stdout) if outcome is not Outcome.TOO_LARGE else b"",
            stderr=bytes(out.stderr),
            content_type=call.run.content_type,
            duration=time.monotonic() - started,
            watchdog=self.watchdog_id,
            message=_message(outcome, call, exit_code),
            start_seconds=start_seconds,
        )

    def _outcome(self, stop: Stop, exit_code: int, container_id: str) -> Outcome:
        if stop is Stop.DEADLINE:
            return Outcome.TIMEOUT
        if stop is Stop.OVERFLOW:
            return Outcome.TOO_LARGE
        if stop is Stop.ABORTED:
            return Outcome.ERROR
        if exit_code == 0:
            return Outcome.OK
        if self._oom_killed(container_id):
            return Outcome.OUT_OF_MEMORY
        return Outcome.FAILED

    def _oom_killed(self, container_id: str) -> bool:
        state: dict[str, Any] = self.api.inspect_container(container_id)["State"]
        return bool(state.get("OOMKilled"))

    def _kill(self, container_id: str) -> None:
        try:
            self.api.kill(container_id)
        except APIError as exc:  # it exited meanwhile
            log.debug("kill %s: %s", container_id[:12], exc)

    def _error(self, call: CallRequest, started: float, message: str) -> CallResult:
        log.warning("call %s (%s): %s", call.call_id, call.function, message)
        return CallResult(
            call_id=call.call_id,
            outcome=Outcome.ERROR,
            duration=time.monotonic() - started,
            watchdog=self.watchdog_id,
            message=message,
        )

    def remove(self, container_id: str) -> None:
        try:
            self.api.remove_container(container_id, force=True)
        except NotFound:
            pass  # already gone
        except APIError as exc:
            log.warning("cannot remove container %s: %s", container_id[:12], exc)

    def remove_orphans(self) -> int:
        """Remove containers (and secret folders) a previous run of this watchdog left behind."""
        orphans = self.api.containers(
            all=True, filters={"label": f"{WATCHDOG_LABEL}={self.watchdog_id}"}
        )
        for container in orphans:
            self.remove(container["Id"])
        folders = remove_leftovers(self.watchdog_id)
        if folders:
            log.info("removed %d secret folder(s) left by an earlier run", folders)
        return len(orphans)


def _output(call: CallRequest, tap: Tap | None) -> Exchange:
    """A function's stdout is its answer, capped; a job's is never cut short, only kept short."""
    if call.kind == JOB_KIND:
        # a byte more than a record keeps, so that the record says the output was cut
        return Exchange(MAX_TEXT + 1, MAX_STDERR, overflow=False, tap=tap)
    return Exchange(call.run.max_output, MAX_STDERR, tap=tap)


def _message(outcome: Outcome, call: CallRequest, exit_code: int) -> str:
    job = call.kind == JOB_KIND
    name = "the job" if job else f"function {call.function}"
    stopped = "the job" if job else f"call to {call.function}"
    return {
        Outcome.OK: "",
        Outcome.FAILED: f"{name} exited with code {exit_code}",
        Outcome.TIMEOUT: f"{name} timed out after {call.run.timeout:g}s and was killed",
        Outcome.TOO_LARGE: f"{name} wrote more than {call.run.max_output} bytes",
        Outcome.OUT_OF_MEMORY: f"{name} ran out of memory ({call.run.memory} bytes)",
        Outcome.ERROR: f"{stopped} was stopped: the watchdog is shutting down",
    }.get(outcome, "")
