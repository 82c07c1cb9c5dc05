"""A container's exit in words a user understands, and the signal that ended it."""

from __future__ import annotations

import signal

from faas.wire import TEMPFAIL, CallResult, Outcome, RunSpec

CANCELLED = "cancelled"
SHUT_DOWN = "stopped: its watchdog was shutting down"


def signal_of(exit_code: int | None) -> int | None:
    """The signal that ended the function, from its exit code: 128 + the signal's number, as
    both runtimes and the shells report it."""
    if exit_code is None or not 128 < exit_code < 128 + signal.NSIG:
        return None
    return exit_code - 128


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"SIG{number}"


def explain(result: CallResult, run: RunSpec) -> str:
    """How the run ended: `exited 0`, `killed at its 5 s timeout`, `could not run: ...`."""
    code = result.exit_code
    match result.outcome:
        case Outcome.OK:
            return "exited 0"
        case Outcome.FAILED:
            return _failed(code)
        case Outcome.TIMEOUT:
            return f"killed at its {run.timeout:g} s timeout"
        case Outcome.OUT_OF_MEMORY if run.memory:
            return f"ran out of memory (limit {mebibytes(run.memory)})"
        case Outcome.OUT_OF_MEMORY:
            return "ran out of memory"
        case Outcome.TOO_LARGE:
            return f"output went past the {run.max_output}-byte limit"
        case Outcome.ERROR if code is None:
            return f"could not run: {result.message}"
        case Outcome.ERROR:
            return SHUT_DOWN  # aborted while it ran; a cancel is said by the record
    return result.message


def _failed(code: int | None) -> str:
    number = signal_of(code)
    if number is not None:
        return f"killed by signal {number} ({signal_name(number)})"
    if code == TEMPFAIL:
        return f"exited with code {code} (EX_TEMPFAIL: try again later)"
    return f"exited with code {code}"


def mebibytes(size: int) -> str:
    return f"{size / 2**20:.4g} MiB"
