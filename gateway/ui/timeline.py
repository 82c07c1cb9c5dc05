"""A call's life as a waterfall: each step's offset and length on one time axis."""

from __future__ import annotations

import time
from dataclasses import dataclass

from faas import rfc3339
from faas.records import AttemptRecord, CallRecord


@dataclass(frozen=True)
class Step:
    label: str
    start: float  # seconds since the call was accepted
    end: float  # == start for a moment (a marker)
    kind: str  # the bar's colour: queued, container, run, exit, fail, callback
    note: str = ""

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Waterfall:
    steps: list[Step]
    span: float  # seconds from the first step's start to the last one's end

    def left(self, step: Step) -> float:
        """Where the step starts, in percent of the track."""
        return 100 * (step.start - self.origin) / self.span if self.span else 0.0

    def width(self, step: Step) -> float:
        return 100 * step.length / self.span if self.span else 0.0

    @property
    def origin(self) -> float:
        return min((s.start for s in self.steps), default=0.0)


def waterfall(record: CallRecord, at: float | None = None) -> Waterfall:
    """The record's steps; a step still going ends at `at` (now)."""
    base = _t(record.createdAt)
    assert base is not None, "a record has its creation time"
    now = (time.time() if at is None else at) - base
    steps: list[Step] = []
    first_taken = _first_taken(record)
    queued_end = (first_taken - base) if first_taken is not None else _end(record, base, now)
    steps.append(Step("queued", 0.0, max(queued_end, 0.0), "queued"))
    for attempt in record.attemptLog:
        steps += _attempt_steps(attempt, base, now)
    if not record.attemptLog and record.startedAt:  # a record from before the attempt log
        start = _t(record.startedAt)
        assert start is not None
        steps.append(Step("ran", start - base, _end(record, base, now), "run", record.message))
    for number, post in enumerate(record.callback.history, 1):
        at_post = _t(post.at)
        if at_post is not None:
            answer = str(post.status) if post.status is not None else post.error or "no answer"
            steps.append(
                Step(f"callback {number}", at_post - base, at_post - base, "callback", answer)
            )
    origin = min(s.start for s in steps)
    span = max(s.end for s in steps) - origin
    return Waterfall(steps, span)


def duration_words(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _attempt_steps(attempt: AttemptRecord, base: float, now: float) -> list[Step]:
    created, taken = _t(attempt.containerCreatedAt), _t(attempt.takenAt)
    started, exited = _t(attempt.startedAt), _t(attempt.exitedAt)
    name = f"attempt {attempt.attempt}"
    steps = []
    if created is not None and started is not None:
        if created < base:  # made ahead, waiting for a call: a moment on this axis
            note = f"made {duration_words(base - created)} ahead of the call"
            steps.append(Step(f"{name}: container", 0.0, 0.0, "container", note))
        else:
            steps.append(Step(f"{name}: container", created - base, started - base, "container"))
    if taken is not None:
        label = f"{name}: taken by {attempt.watchdog}"
        steps.append(Step(label, taken - base, taken - base, "queued"))
    if started is not None:
        end = exited - base if exited is not None else now
        ok = attempt.outcome in ("ok", "") and attempt.exitCode in (0, None)
        kind = "run" if exited is None else "exit" if ok else "fail"
        steps.append(Step(f"{name}: ran", started - base, end, kind, attempt.explanation))
    return steps


def _first_taken(record: CallRecord) -> float | None:
    for attempt in record.attemptLog:
        for stamp in (attempt.takenAt, attempt.startedAt):
            if (t := _t(stamp)) is not None:
                return t
    return _t(record.startedAt)


def _end(record: CallRecord, base: float, now: float) -> float:
    finished = _t(record.finishedAt)
    return finished - base if finished is not None else now


def _t(stamp: str | None) -> float | None:
    return rfc3339.parse(stamp).timestamp() if stamp else None
