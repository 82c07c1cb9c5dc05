"""Unit tests of gateway.ui.timeline: a record's steps on one axis."""

from __future__ import annotations

import pytest

from faas.records import AttemptRecord, CallbackAttempt, CallbackRecord, CallRecord, CallState
from gateway.ui.timeline import waterfall

T0 = "2024-05-01T10:00:00.000Z"


def r(seconds: float) -> float:
    return round(seconds, 3)


def at(seconds: float) -> str:
    return f"2024-05-01T10:00:{seconds:06.3f}Z"


def attempt(
    number: int, taken: float, started: float, exited: float | None, **extra: object
) -> AttemptRecord:
    return AttemptRecord(
        attempt=number,
        watchdog="w1",
        takenAt=at(taken),
        containerCreatedAt=at(taken + 0.01),
        startedAt=at(started),
        exitedAt=at(exited) if exited is not None else None,
        **extra,  # type: ignore[arg-type]
    )


def test_queued_then_container_then_run() -> None:
    record = CallRecord(
        "c",
        "f",
        createdAt=T0,
        state=CallState.SUCCEEDED,
        attemptLog=[attempt(1, 1.0, 1.5, 3.0, exitCode=0, outcome="ok")],
    )
    flow = waterfall(record)
    by_label = {s.label: s for s in flow.steps}
    assert by_label["queued"].start == 0 and by_label["queued"].end == pytest.approx(1.0)
    assert by_label["attempt 1: container"].start == pytest.approx(1.01)
    ran = by_label["attempt 1: ran"]
    assert (r(ran.start), r(ran.end), ran.kind) == (1.5, 3.0, "exit")
    assert flow.span == pytest.approx(3.0)
    assert flow.left(ran) == pytest.approx(50.0)
    assert flow.width(ran) == pytest.approx(50.0)


def test_a_container_made_ahead_is_a_moment_with_a_note() -> None:
    early = AttemptRecord(
        1,
        "w1",
        takenAt=at(0.5),
        containerCreatedAt="2024-05-01T09:59:50.000Z",
        startedAt=at(0.6),
        exitedAt=at(0.7),
    )
    flow = waterfall(CallRecord("c", "f", createdAt=T0, attemptLog=[early]))
    (made,) = [s for s in flow.steps if s.kind == "container"]
    assert (made.start, made.end) == (0.0, 0.0)
    assert made.note == "made 10.0 s ahead of the call"
    assert flow.span == pytest.approx(0.7)  # the ten seconds before do not stretch the axis


def test_a_failed_attempt_and_a_retry_each_have_their_rows() -> None:
    record = CallRecord(
        "c",
        "f",
        createdAt=T0,
        attemptLog=[
            attempt(
                1, 1.0, 1.1, 1.2, exitCode=3, outcome="failed", explanation="exited with code 3"
            ),
            attempt(2, 2.0, 2.1, 2.2, exitCode=0, outcome="ok"),
        ],
    )
    kinds = {s.label: s.kind for s in waterfall(record).steps}
    assert kinds["attempt 1: ran"] == "fail" and kinds["attempt 2: ran"] == "exit"
    notes = {s.label: s.note for s in waterfall(record).steps}
    assert notes["attempt 1: ran"] == "exited with code 3"


def test_a_running_attempt_ends_now() -> None:
    record = CallRecord(
        "c", "f", createdAt=T0, state=CallState.RUNNING, attemptLog=[attempt(1, 1.0, 1.0, None)]
    )
    now = 1714557600.0 + 4.0
    (ran,) = [s for s in waterfall(record, at=now).steps if s.label.endswith("ran")]
    assert ran.end == pytest.approx(4.0) and ran.kind == "run"


def test_a_queued_call_is_queued_until_now() -> None:
    flow = waterfall(CallRecord("c", "f", createdAt=T0), at=1714557600.0 + 2.5)
    assert [(s.label, r(s.end)) for s in flow.steps] == [("queued", 2.5)]


def test_callback_posts_are_markers_with_their_answer() -> None:
    callback = CallbackRecord(
        history=[CallbackAttempt(at(4.0), None, "refused"), CallbackAttempt(at(5.0), 204)]
    )
    record = CallRecord(
        "c", "f", createdAt=T0, attemptLog=[attempt(1, 1.0, 1.1, 1.2)], callback=callback
    )
    posts = [(s.label, r(s.start), s.note) for s in waterfall(record).steps if s.kind == "callback"]
    assert posts == [("callback 1", 4.0, "refused"), ("callback 2", 5.0, "204")]


def test_a_record_from_before_the_attempt_log_still_shows_its_run() -> None:
    record = CallRecord(
        "c", "f", createdAt=T0, startedAt=at(1.0), finishedAt=at(2.0), state=CallState.SUCCEEDED
    )
    labels = [(s.label, r(s.start), r(s.end)) for s in waterfall(record).steps]
    assert labels == [("queued", 0.0, 1.0), ("ran", 1.0, 2.0)]
