"""What every container runner shares: the protocol the watchdog drives, labels, outcomes."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Protocol

from faas.records import MAX_TEXT
from faas.wire import CallKind, CallRequest, CallResult, Outcome
from watchdog.cgroups import Usage
from watchdog.exchange import Exchange, Stop, Tap

log = logging.getLogger(__name__)

CALL_LABEL = "faas.call"
FUNCTION_LABEL = "faas.function"
WATCHDOG_LABEL = "faas.watchdog"
MAX_STDERR = 64 * 1024


class Runner(Protocol):
    """What the watchdog needs from a container runner.

    `blocking`: `run` waits for a container, so the watchdog calls it in a thread of its
    pool; False for a runner that answers at once (a benchmark's), called on the event loop.
    """

    blocking: bool

    def run(
        self, call: CallRequest, aborted: threading.Event, tap: Tap | None = None
    ) -> tuple[CallResult, str | None]:
        """Run the call; return its result and the id of the container left to remove.

        `tap`, when given, is called from the running thread with the output as it comes.
        A `blocking` runner checks `aborted` (set from another thread) while it waits.
        """
        ...

    def remove(self, container_id: str) -> None: ...

    def remove_orphans(self) -> int: ...

    def forget(self, function: str) -> None:
        """The function was updated or removed: drop what is kept for it (blocking)."""
        ...

    def close(self) -> None:
        """Release what the runner holds (pools, connections); the watchdog has stopped."""
        ...


@dataclass
class Ran:
    """What a call's container showed beyond its output: its image, its timeline (wall-clock
    seconds, 0.0 for what did not happen) and what it used."""

    image_id: str = ""
    created_at: float = 0.0  # before the call came, for a container made ahead of it
    started_at: float = 0.0
    exited_at: float = 0.0
    usage: Usage = field(default_factory=Usage)


def labels(call: CallRequest, watchdog_id: str) -> dict[str, str]:
    return {CALL_LABEL: call.call_id, FUNCTION_LABEL: call.function, WATCHDOG_LABEL: watchdog_id}


def output_for(call: CallRequest, tap: Tap | None) -> Exchange:
    """A function's stdout is its answer, capped; a job's is never cut short, only kept short."""
    if call.kind == CallKind.JOB:
        # a byte more than a record keeps, so that the record says the output was cut
        return Exchange(MAX_TEXT + 1, MAX_STDERR, overflow=False, tap=tap)
    return Exchange(call.run.max_output, MAX_STDERR, tap=tap)


def outcome_of(stop: Stop, exit_code: int, oom_killed: bool) -> Outcome:
    if stop is Stop.DEADLINE:
        return Outcome.TIMEOUT
    if stop is Stop.OVERFLOW:
        return Outcome.TOO_LARGE
    if stop is Stop.ABORTED:
        return Outcome.ERROR
    if exit_code == 0:
        return Outcome.OK
    if oom_killed:
        return Outcome.OUT_OF_MEMORY
    return Outcome.FAILED


def finished(
    call: CallRequest,
    out: Exchange,
    stop: Stop,
    exit_code: int,
    oom_killed: bool,
    started: float,
    start_seconds: float,
    watchdog_id: str,
    ran: Ran,
) -> CallResult:
    """The result of a call whose container ran."""
    outcome = outcome_of(stop, exit_code, oom_killed)
    result = CallResult(
        call_id=call.call_id,
        outcome=outcome,
        exit_code=exit_code,
        body=bytes(out.stdout) if outcome is not Outcome.TOO_LARGE else b"",
        stderr=bytes(out.stderr),
        content_type=call.run.content_type,
        duration=time.monotonic() - started,
        watchdog=watchdog_id,
        message=message(outcome, call, exit_code),
        start_seconds=start_seconds,
    )
    return with_facts(result, ran)


def failed_to_run(
    call: CallRequest, started: float, watchdog_id: str, why: str, ran: Ran | None = None
) -> CallResult:
    """The result of a call whose container could not be made or started; `ran`: what is
    known of it (its image, when it was made)."""
    log.warning("call %s (%s): %s", call.call_id, call.function, why)
    result = CallResult(
        call_id=call.call_id,
        outcome=Outcome.ERROR,
        duration=time.monotonic() - started,
        watchdog=watchdog_id,
        message=why,
    )
    return with_facts(result, ran) if ran is not None else result


def with_facts(result: CallResult, ran: Ran) -> CallResult:
    """The result, saying what its container showed."""
    return replace(
        result,
        image_id=ran.image_id,
        created_at=ran.created_at,
        started_at=ran.started_at,
        exited_at=ran.exited_at,
        peak_memory=ran.usage.peak_memory,
        cpu_seconds=ran.usage.cpu_seconds,
    )


def message(outcome: Outcome, call: CallRequest, exit_code: int) -> str:
    job = call.kind == CallKind.JOB
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
