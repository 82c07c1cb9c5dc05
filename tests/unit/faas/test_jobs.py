"""Unit tests of one-shot jobs' bodies (faas.jobspec) and their calls (gateway.routes.jobs)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from faas.errors import SpecError
from faas.jobspec import DEFAULT_TIMEOUT, JOB_FUNCTION, JobSpec
from faas.retry import RetryPolicy
from faas.spec import DEFAULT_MEMORY, DEFAULT_PIDS, check_name
from faas.wire import CallKind, CallRequest, pack, unpack
from gateway.invocations import job_call
from watchdog.callrecords import policy_of

IMAGE = "faas/base-busybox:latest"


def test_only_the_image_is_required() -> None:
    job = JobSpec.from_json({"image": IMAGE})
    assert job == JobSpec(IMAGE)
    assert (job.command, job.env, job.timeout, job.network) == ([], {}, DEFAULT_TIMEOUT, "bridge")
    assert (job.memory, job.callback_url) == (DEFAULT_MEMORY, "")


def test_every_field_is_read() -> None:
    body = {
        "image": IMAGE,
        "command": ["sh", "-c", "echo hi"],
        "env": {"MODE": "full", "EMPTY": ""},
        "timeout": "10m",
        "network": "none",
        "memory": "64Mi",
        "callbackUrl": "https://example.test/done",
    }
    job = JobSpec.from_json(body)
    assert job == JobSpec(
        IMAGE,
        ["sh", "-c", "echo hi"],
        {"MODE": "full", "EMPTY": ""},
        600.0,
        "none",
        64 * 2**20,
        "https://example.test/done",
    )


@pytest.mark.parametrize(("raw", "seconds"), [(90, 90.0), (0.5, 0.5), ("90s", 90.0), ("2", 2.0)])
def test_the_timeout_is_seconds_or_a_duration(raw: Any, seconds: float) -> None:
    assert JobSpec.from_json({"image": IMAGE, "timeout": raw}).timeout == seconds


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (None, "JSON object"),
        ([IMAGE], "JSON object"),
        ({}, "'image' is required"),
        ({"image": ""}, "'image' is required"),
        ({"image": 3}, "'image'"),
        ({"image": "two words"}, "'image'"),
        ({"image": IMAGE, "cmd": ["echo"]}, "unknown field 'cmd'"),
        ({"image": IMAGE, "command": "echo hi"}, "'command'"),
        ({"image": IMAGE, "command": ["echo", 1]}, "'command'"),
        ({"image": IMAGE, "command": ["a\0b"]}, "'command'"),
        ({"image": IMAGE, "env": ["A=1"]}, "'env'"),
        ({"image": IMAGE, "env": {"A": 1}}, "'env'"),
        ({"image": IMAGE, "env": {"A=B": "1"}}, "'env'"),
        ({"image": IMAGE, "env": {"": "1"}}, "'env'"),
        ({"image": IMAGE, "timeout": 0}, "'timeout'"),
        ({"image": IMAGE, "timeout": -5}, "'timeout'"),
        ({"image": IMAGE, "timeout": math.inf}, "'timeout'"),
        ({"image": IMAGE, "timeout": math.nan}, "'timeout'"),
        ({"image": IMAGE, "timeout": True}, "'timeout'"),
        ({"image": IMAGE, "timeout": "soon"}, "'timeout'"),
        ({"image": IMAGE, "timeout": [1]}, "'timeout'"),
        ({"image": IMAGE, "network": "host"}, "'network'"),
        ({"image": IMAGE, "network": ["none"]}, "'network'"),
        ({"image": IMAGE, "memory": "lots"}, "'memory'"),
        ({"image": IMAGE, "memory": "1Ki"}, "'memory'"),
        ({"image": IMAGE, "memory": "9" * 400}, "'memory'"),
        ({"image": IMAGE, "memory": "4096Ti"}, "'memory'"),
        ({"image": IMAGE, "memory": 1.5}, "'memory'"),
        ({"image": IMAGE, "callbackUrl": "ftp://example.test/x"}, "'callbackUrl'"),
        ({"image": IMAGE, "callbackUrl": 3}, "'callbackUrl'"),
    ],
)
def test_a_bad_body_is_refused_in_one_line_naming_the_field(body: Any, field: str) -> None:
    with pytest.raises(SpecError) as refused:
        JobSpec.from_json(body)
    assert field in str(refused.value)
    assert "\n" not in str(refused.value)


def test_no_function_can_have_the_jobs_name() -> None:
    with pytest.raises(SpecError):
        check_name(JOB_FUNCTION)


def test_a_job_runs_as_an_async_call_of_the_reserved_name_tried_once() -> None:
    job = JobSpec.from_json(
        {"image": IMAGE, "command": ["true"], "env": {"A": "1"}, "timeout": 7, "network": "none"}
    )
    call = job_call("j-1", job)
    assert (call.call_id, call.function, call.kind) == ("j-1", JOB_FUNCTION, CallKind.JOB)
    assert (call.max_attempts, call.start_by, call.body) == (1, math.inf, b"")
    assert policy_of(call) == RetryPolicy(attempts=1)
    run = call.run
    assert (run.image, run.command, run.env, run.network) == (IMAGE, ["true"], {"A": "1"}, "none")
    assert (run.timeout, run.memory, run.pids) == (7.0, DEFAULT_MEMORY, DEFAULT_PIDS)
    assert unpack(pack(call), CallRequest) == call
