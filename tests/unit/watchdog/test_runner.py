"""Unit tests of watchdog.runner: the result of a run says what its container showed."""

from __future__ import annotations

import time

from faas.wire import CallRequest, CallResult, Outcome, RunSpec
from watchdog.cgroups import Usage
from watchdog.exchange import Exchange, Stop
from watchdog.runner import Ran, failed_to_run, finished

CALL = CallRequest("c1", "hello", RunSpec("faas/hello:latest", memory=64 * 2**20))
RAN = Ran("sha256:abc", 100.0, 101.0, 102.5, Usage(5 * 2**20, 0.25))


def test_finished_carries_the_image_timeline_and_use() -> None:
    out = Exchange(1024, 1024)
    out.add("stdout", b"hi")
    result = finished(CALL, out, Stop.EOF, 137, True, time.monotonic(), 0.01, "w1", RAN)
    assert (result.outcome, result.exit_code, result.body) == (Outcome.OUT_OF_MEMORY, 137, b"hi")
    assert (result.image_id, result.created_at, result.started_at, result.exited_at) == (
        "sha256:abc",
        100.0,
        101.0,
        102.5,
    )
    assert (result.peak_memory, result.cpu_seconds) == (5 * 2**20, 0.25)


def test_failed_to_run_says_what_is_known_of_its_container() -> None:
    made = Ran("sha256:abc", created_at=100.0)
    result = failed_to_run(CALL, time.monotonic(), "w1", "runc refused", made)
    assert (result.outcome, result.message, result.exit_code) == (
        Outcome.ERROR,
        "runc refused",
        None,
    )
    assert (result.image_id, result.created_at, result.started_at) == ("sha256:abc", 100.0, 0.0)
    assert (result.peak_memory, result.cpu_seconds) == (None, None)


def test_failed_to_run_without_a_container_knows_none_of_it() -> None:
    result = failed_to_run(CALL, time.monotonic(), "w1", "no image")
    assert result == CallResult(
        "c1", Outcome.ERROR, duration=result.duration, watchdog="w1", message="no image"
    )
