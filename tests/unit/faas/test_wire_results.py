"""Unit tests of faas.wire: a result's status, callback jobs and heartbeats on the wire."""

from __future__ import annotations

import msgpack
import pytest

from faas.errors import WireError
from faas.wire import (
    TEMPFAIL,
    VERSION,
    CallbackJob,
    CallResult,
    Heartbeat,
    Outcome,
    WatchdogState,
    pack,
    unpack,
    unpack_any,
)

# CallResult.status


def test_tempfail_is_exit_code_75() -> None:
    assert TEMPFAIL == 75


def test_failed_with_exit_code_75_is_429() -> None:
    assert CallResult("c", Outcome.FAILED, exit_code=75).status == 429


@pytest.mark.parametrize("code", [None, 0, 1, 74, 76, 137])
def test_failed_with_another_exit_code_is_500(code: int | None) -> None:
    assert CallResult("c", Outcome.FAILED, exit_code=code).status == 500


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (Outcome.OK, 200),
        (Outcome.TIMEOUT, 504),
        (Outcome.TOO_LARGE, 502),
        (Outcome.OUT_OF_MEMORY, 500),
        (Outcome.ERROR, 502),
        (Outcome.EXPIRED, 504),
        (Outcome.UNAVAILABLE, 503),
    ],
)
def test_exit_code_75_means_429_only_on_failed(outcome: Outcome, status: int) -> None:
    assert CallResult("c", outcome, exit_code=75).status == status
    assert CallResult("c", outcome).status == status


def test_status_survives_the_wire() -> None:
    result = unpack(pack(CallResult("c", Outcome.FAILED, exit_code=75)), CallResult)
    assert result.status == 429


# CallResult.failure_text: the body of a call that did not succeed


def test_failure_text_is_the_message_then_stderr() -> None:
    result = CallResult("c", Outcome.FAILED, exit_code=1, stderr=b"Traceback\n", message="exit 1")
    assert result.failure_text() == b"exit 1\nstderr:\nTraceback\n"


def test_failure_text_without_stderr_is_the_message() -> None:
    result = CallResult("c", Outcome.TIMEOUT, message="timed out after 10s")
    assert result.failure_text() == b"timed out after 10s\n"


def test_failure_text_keeps_stderr_bytes_and_leaves_out_the_body() -> None:
    result = CallResult("c", Outcome.FAILED, body=b"out", stderr=b"\xff\x00", message="bad")
    assert result.failure_text() == b"bad\nstderr:\n\xff\x00"


# CallbackJob

JOB = CallbackJob(
    call_id="c1",
    function="hello",
    url="https://example.test/hook?x=1",
    status=429,
    record_key="hello.01714557600000000.c1",
    body=b"\x00\xff try later\n",
    content_type="text/plain",
    duration=3.25,
    exit_code=75,
)


def test_callback_job_round_trip() -> None:
    job = unpack(pack(JOB), CallbackJob)
    assert job == JOB
    assert isinstance(job.body, bytes)
    assert unpack_any(pack(JOB)) == JOB


def test_callback_job_with_defaults_round_trip() -> None:
    job = CallbackJob("c2", "f", "http://h/", 200)
    back = unpack(pack(job), CallbackJob)
    assert back == job
    assert back.exit_code is None
    assert (back.record_key, back.body, back.content_type, back.duration) == ("", b"", "", 0.0)


def test_callback_job_is_tagged_on_the_wire() -> None:
    data = msgpack.unpackb(pack(JOB))
    assert (data["v"], data["t"]) == (VERSION, "CallbackJob")
    assert data["f"]["url"] == "https://example.test/hook?x=1"


def test_callback_job_is_not_a_call_result() -> None:
    with pytest.raises(WireError, match="expected CallResult, got CallbackJob"):
        unpack(pack(JOB), CallResult)


def test_callback_job_missing_a_field_is_refused() -> None:
    data = msgpack.packb({"v": VERSION, "t": "CallbackJob", "f": {"call_id": "c", "url": "u"}})
    with pytest.raises(WireError, match="bad CallbackJob"):
        unpack(data, CallbackJob)


# Heartbeat and WatchdogState


@pytest.mark.parametrize("state", list(WatchdogState))
def test_heartbeat_round_trip_keeps_the_state(state: WatchdogState) -> None:
    beat = unpack(pack(Heartbeat("w1", capacity=4, in_use=2, state=state)), Heartbeat)
    assert beat == Heartbeat("w1", 4, 2, state)
    assert beat.state is state


def test_heartbeat_state_defaults_to_ready() -> None:
    assert Heartbeat("w1", 1, 0).state is WatchdogState.READY


def test_heartbeat_without_a_state_on_the_wire_is_ready() -> None:
    fields = {"watchdog": "w1", "capacity": 2, "in_use": 1}
    data = msgpack.packb({"v": VERSION, "t": "Heartbeat", "f": fields})
    beat = unpack(data, Heartbeat)
    assert beat == Heartbeat("w1", 2, 1, WatchdogState.READY)
    assert beat.state is WatchdogState.READY


def test_heartbeat_with_an_unknown_state_is_refused() -> None:
    fields = {"watchdog": "w1", "capacity": 2, "in_use": 1, "state": "asleep"}
    data = msgpack.packb({"v": VERSION, "t": "Heartbeat", "f": fields})
    with pytest.raises(WireError, match="bad Heartbeat"):
        unpack(data, Heartbeat)


def test_watchdog_states_are_the_wire_strings() -> None:
    assert [s.value for s in WatchdogState] == ["ready", "draining", "gone"]
    assert msgpack.unpackb(pack(Heartbeat("w", 1, 0, WatchdogState.GONE)))["f"]["state"] == "gone"


def test_container_start_seconds_round_trip_and_default_to_zero() -> None:
    result = unpack(pack(CallResult("c", Outcome.OK, start_seconds=0.125)), CallResult)
    assert result.start_seconds == 0.125
    assert CallResult("c", Outcome.ERROR).start_seconds == 0.0


def test_a_result_from_a_watchdog_without_start_seconds_still_reads() -> None:
    fields = {"call_id": "c", "outcome": "ok", "duration": 0.5}
    data = msgpack.packb({"v": VERSION, "t": "CallResult", "f": fields})
    assert unpack(data, CallResult).start_seconds == 0.0


# what a result says of its container, for the call's attempt log

RAN = CallResult(
    "c",
    Outcome.OK,
    exit_code=0,
    image_id="sha256:" + "ab" * 32,
    created_at=1_714_557_600.125,
    started_at=1_714_557_601.5,
    exited_at=1_714_557_601.75,
    peak_memory=5 * 2**20,
    cpu_seconds=0.0125,
)


def test_the_container_facts_round_trip() -> None:
    assert unpack(pack(RAN), CallResult) == RAN


def test_the_container_facts_default_to_not_known() -> None:
    result = CallResult("c", Outcome.ERROR)
    assert (result.image_id, result.created_at, result.started_at, result.exited_at) == (
        "",
        0.0,
        0.0,
        0.0,
    )
    assert (result.peak_memory, result.cpu_seconds) == (None, None)


def test_a_result_from_a_watchdog_without_container_facts_still_reads() -> None:
    fields = {"call_id": "c", "outcome": "ok", "exit_code": 0, "duration": 0.5}
    data = msgpack.packb({"v": VERSION, "t": "CallResult", "f": fields})
    assert unpack(data, CallResult) == CallResult("c", Outcome.OK, exit_code=0, duration=0.5)


FACTS = ("image_id", "created_at", "started_at", "exited_at", "peak_memory", "cpu_seconds")


def test_the_container_facts_add_little_to_a_reply() -> None:
    """A sync call's reply carries them too: five numbers and the image id, nothing more."""
    envelope = msgpack.unpackb(pack(RAN))
    without = {k: v for k, v in envelope["f"].items() if k not in FACTS}
    assert set(envelope["f"]) - set(without) == set(FACTS)
    added = len(pack(RAN)) - len(msgpack.packb({**envelope, "f": without}))
    assert added <= len(RAN.image_id) + 120
