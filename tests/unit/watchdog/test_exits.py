"""Unit tests of watchdog.exits: each way a run can end, in words, and its signal."""

from __future__ import annotations

import pytest

from faas.wire import CallResult, Outcome, RunSpec
from watchdog.exits import explain, mebibytes, signal_name, signal_of

RUN = RunSpec("img", memory=64 * 2**20, timeout=5.0, max_output=1_000_000)


@pytest.mark.parametrize(
    ("result", "words"),
    [
        (CallResult("c", Outcome.OK, exit_code=0), "exited 0"),
        (CallResult("c", Outcome.FAILED, exit_code=3), "exited with code 3"),
        (CallResult("c", Outcome.FAILED, exit_code=137), "killed by signal 9 (SIGKILL)"),
        (CallResult("c", Outcome.FAILED, exit_code=143), "killed by signal 15 (SIGTERM)"),
        (
            CallResult("c", Outcome.FAILED, exit_code=75),
            "exited with code 75 (EX_TEMPFAIL: try again later)",
        ),
        (CallResult("c", Outcome.TIMEOUT, exit_code=137), "killed at its 5 s timeout"),
        (
            CallResult("c", Outcome.OUT_OF_MEMORY, exit_code=137),
            "ran out of memory (limit 64 MiB)",
        ),
        (
            CallResult("c", Outcome.TOO_LARGE, exit_code=141),
            "output went past the 1000000-byte limit",
        ),
        (
            CallResult("c", Outcome.ERROR, message="image x is not on this host"),
            "could not run: image x is not on this host",
        ),
        (
            CallResult("c", Outcome.ERROR, exit_code=137, message="call to f was stopped"),
            "stopped: its watchdog was shutting down",
        ),
        (CallResult("c", Outcome.EXPIRED, message="no capacity in time"), "no capacity in time"),
    ],
    ids=lambda v: v.outcome.value if isinstance(v, CallResult) else "",
)
def test_explain_each_outcome(result: CallResult, words: str) -> None:
    assert explain(result, RUN) == words


def test_explain_a_fractional_timeout_and_memory_limit() -> None:
    run = RunSpec("img", memory=int(1.5 * 2**20), timeout=0.5)
    assert explain(CallResult("c", Outcome.TIMEOUT, exit_code=137), run) == (
        "killed at its 0.5 s timeout"
    )
    assert explain(CallResult("c", Outcome.OUT_OF_MEMORY, exit_code=137), run) == (
        "ran out of memory (limit 1.5 MiB)"
    )


def test_explain_running_out_of_memory_without_a_limit_of_its_own() -> None:
    result = CallResult("c", Outcome.OUT_OF_MEMORY, exit_code=137)
    assert explain(result, RunSpec("img")) == "ran out of memory"


@pytest.mark.parametrize(
    ("code", "number"),
    [(None, None), (0, None), (1, None), (128, None), (129, 1), (137, 9), (255, None)],
)
def test_signal_of_an_exit_code(code: int | None, number: int | None) -> None:
    assert signal_of(code) == number


def test_signal_names() -> None:
    assert (signal_name(9), signal_name(11), signal_name(1)) == ("SIGKILL", "SIGSEGV", "SIGHUP")
    assert signal_name(40) == "SIG40"  # a real-time signal has no name of its own


def test_mebibytes() -> None:
    assert (mebibytes(2**20), mebibytes(256 * 2**20), mebibytes(6 * 2**20 + 2**19)) == (
        "1 MiB",
        "256 MiB",
        "6.5 MiB",
    )
