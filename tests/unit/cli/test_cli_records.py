"""Unit tests of cli.records: the gateway's answers read into typed records, or refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cli.fields import MalformedAnswer, listing
from cli.records import (
    FunctionStatus,
    GatewayInfo,
    LogEntry,
    Release,
    ScheduleDetail,
    ScheduleRow,
    TickRun,
    call_record,
    log_entry,
    queued_call_id,
    secret_name,
)
from faas.errors import GatewayError
from faas.records import CallbackRecord, CallbackState, CallRecord, CallState, RequestRecord
from faas.schedule import Schedule
from faas.spec import FunctionSpec
from gateway.schedulestatus import ScheduleDetail as GatewayDetail
from gateway.schedulestatus import TickRun as GatewayTick
from gateway.schedulestatus import status
from gateway.ticks import LastTick

DEPLOYMENT = {
    "service": "hello",
    "image": "img:1",
    "envProcess": "python3 handler.py",
    "envVars": {"A": "1"},
    "constraints": ["node=a"],
    "secrets": ["api-key"],
    "labels": {"team": "x"},
    "annotations": {"com.openfaas.retry.attempts": "3"},
    "limits": {"memory": "128Mi", "cpu": "0.5"},
    "requests": {"memory": "64Mi"},
    "readOnlyRootFilesystem": True,
}


def refused(read: Any, data: Any) -> str:
    """What the refusal of `data` says; it is a GatewayError the CLI shows as one line."""
    with pytest.raises(MalformedAnswer) as caught:
        read(data)
    assert isinstance(caught.value, GatewayError)
    return str(caught.value)


# FunctionStatus


def test_function_status_reads_what_the_gateway_sends() -> None:
    spec = FunctionSpec.from_deployment(DEPLOYMENT).with_created_at("2026-11-21T12:00:00Z")
    status = FunctionStatus.from_json(json.loads(json.dumps(spec.status(7, 1))))
    assert status == FunctionStatus(
        name="hello",
        image="img:1",
        namespace="openfaas-fn",
        env_process="python3 handler.py",
        env_vars={"A": "1"},
        constraints=["node=a"],
        secrets=["api-key"],
        labels={"team": "x"},
        annotations={"com.openfaas.retry.attempts": "3"},
        limits={"memory": "128Mi", "cpu": "0.5"},
        requests={"memory": "64Mi"},
        read_only_root_filesystem=True,
        created_at="2026-11-21T12:00:00Z",
        invocation_count=7,
        replicas=1,
        available_replicas=1,
    )


def test_function_status_of_an_older_gateway_gets_defaults() -> None:
    status = FunctionStatus.from_json({"name": "hello", "labels": None, "newerField": 1})
    assert status == FunctionStatus("hello")
    assert (status.image, status.labels, status.invocation_count) == ("", {}, 0)


def test_function_status_keeps_an_openfaas_float_count() -> None:
    assert FunctionStatus.from_json({"name": "f", "invocationCount": 1.5e6}).invocation_count == (
        1_500_000.0
    )
    assert str(FunctionStatus.from_json({"name": "f", "invocationCount": 12}).invocation_count) == (
        "12"
    )


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ([], "function status: a list, not an object"),
        ({"image": "img"}, "function status: 'name' is missing"),
        ({"name": 3}, "function status: 'name' is a number, not a string"),
        ({"name": "f", "invocationCount": "7"}, "'invocationCount' is a string, not a number"),
        ({"name": "f", "availableReplicas": True}, "'availableReplicas' is a boolean, not a whole"),
        ({"name": "f", "replicas": 1.5}, "'replicas' is a number, not a whole number"),
        ({"name": "f", "labels": {"a": 1}}, "'labels' is not an object of strings"),
        ({"name": "f", "secrets": "s"}, "'secrets' is a string, not a list"),
        ({"name": "f", "secrets": [1]}, "'secrets' is not a list of strings"),
        ({"name": "f", "readOnlyRootFilesystem": "yes"}, "is a string, not true or false"),
    ],
)
def test_a_malformed_function_status_is_refused_saying_why(data: Any, said: str) -> None:
    message = refused(FunctionStatus.from_json, data)
    assert message.startswith("the gateway sent a malformed function status: ")
    assert said in message


# call records


FULL = CallRecord(
    callId="c1",
    function="hello",
    kind="job",
    state=CallState.FAILED,
    attempts=2,
    maxAttempts=3,
    exitCode=3,
    status=500,
    message="the job exited with code 3",
    createdAt="2026-11-21T12:00:00.123Z",
    startedAt="2026-11-21T12:00:00.200Z",
    finishedAt="2026-11-21T12:00:00.610Z",
    durationSeconds=0.41,
    output="out\n",
    outputTruncated=True,
    stderr="err\n",
    watchdog="vm",
    callbackUrl="http://127.0.0.1:9/done",
    callback=CallbackRecord(CallbackState.FAILED, 2, 502, "bad gateway", None),
)


def test_a_call_record_reads_back_as_sent() -> None:
    record = call_record(json.loads(FULL.dumps()))
    assert record == FULL
    assert (record.state, record.callback.state) == (CallState.FAILED, CallbackState.FAILED)


def test_a_retry_s_record_reads_back_with_its_request() -> None:
    request = RequestRecord("PUT", "/x", "a=1", [["content-type", "text/plain"]], "aGk=", 2)
    retry = CallRecord("c2", "hello", request=request, retryOf="c1")
    assert call_record(json.loads(retry.dumps())) == retry


def test_a_request_whose_headers_are_not_pairs_is_refused() -> None:
    data = FULL.to_json() | {"request": {"headers": [["only-a-name"]]}}
    assert "'headers' is not a list of [name, value] pairs" in refused(call_record, data)


def test_a_call_record_of_an_older_gateway_gets_the_records_defaults() -> None:
    record = call_record({"callId": "c1", "function": "f", "state": "queued", "later": 1})
    assert record == CallRecord("c1", "f", createdAt="")  # unknown, not now
    assert record.callback == CallbackRecord()
    assert call_record({"callId": "c1", "function": "f", "state": "queued", "callback": None}) == (
        record
    )


def test_a_whole_duration_is_a_number_too() -> None:
    data = {"callId": "c1", "function": "f", "state": "succeeded", "durationSeconds": 2}
    assert call_record(data).durationSeconds == 2


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"callId": None}, "call record: 'callId' is missing"),
        ({"state": None}, "call record: 'state' is missing"),
        ({"state": "sleeping"}, "call record: 'state' is 'sleeping', not one of queued, running"),
        ({"exitCode": "3"}, "call record: 'exitCode' is a string, not a whole number"),
        ({"durationSeconds": "1s"}, "call record: 'durationSeconds' is a string, not a number"),
        ({"callback": "none"}, "call record's 'callback': a string, not an object"),
        ({"callback": {"state": "lost"}}, "call record's 'callback': 'state' is 'lost', not one"),
    ],
)
def test_a_malformed_call_record_is_refused_saying_why(change: dict[str, Any], said: str) -> None:
    data = FULL.to_json() | change
    assert said in refused(call_record, data)


# GatewayInfo


INFO = {
    "provider": {
        "provider": "faas-oneshot",
        "orchestration": "docker",
        "version": {"release": "9.9.9", "sha": "abc", "commit_message": "m"},
    },
    "version": {"release": "1.0.0", "sha": "", "commit_message": ""},
    "arch": "x86_64",
}


def test_gateway_info_reads_what_the_gateway_sends() -> None:
    info = GatewayInfo.from_json(INFO)
    assert info == GatewayInfo(
        provider="faas-oneshot",
        orchestration="docker",
        provider_version=Release("9.9.9", "abc", "m"),
        version=Release("1.0.0"),
        arch="x86_64",
    )
    assert info.release == "9.9.9"  # the provider's first


@pytest.mark.parametrize(
    ("data", "release"),
    [
        ({"version": {"release": "1.0.0"}}, "1.0.0"),
        ({"provider": {"version": {}}, "version": {"release": "1.0.0"}}, "1.0.0"),
        ({"provider": {"version": {"sha": "abc"}}, "version": {"release": "1.0.0"}}, ""),
        ({}, ""),
    ],
)
def test_gateway_info_of_an_older_gateway_gets_defaults(data: Any, release: str) -> None:
    info = GatewayInfo.from_json(data)
    assert (info.provider, info.orchestration, info.arch) == ("", "", "")
    assert info.release == release


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ("faas", "gateway info: a string, not an object"),
        ({"provider": "faas"}, "gateway info's 'provider': a string, not an object"),
        ({"version": {"release": 1}}, "gateway info's 'version': 'release' is a number"),
    ],
)
def test_malformed_gateway_info_is_refused_saying_why(data: Any, said: str) -> None:
    assert said in refused(GatewayInfo.from_json, data)


# ScheduleRow


ROW = {
    "name": "tick",
    "namespace": "openfaas-fn",
    "schedule": "*/5 * * * *",
    "timezone": "Europe/Paris",
    "overlap": "forbid",
    "missed": "catch-up",
    "catchUpLimit": 3,
    "callbackUrl": "http://127.0.0.1:9/done",
    "nextTick": "2026-11-21T12:05:00Z",
    "lastTick": "2026-11-21T12:00:00Z",
    "lastRun": "c-1",
}


def test_a_schedule_reads_what_the_gateway_sends() -> None:
    assert ScheduleRow.from_json(ROW) == ScheduleRow(
        name="tick",
        schedule="*/5 * * * *",
        namespace="openfaas-fn",
        timezone="Europe/Paris",
        overlap="forbid",
        missed="catch-up",
        catch_up_limit=3,
        callback_url="http://127.0.0.1:9/done",
        next_tick="2026-11-21T12:05:00Z",
        last_tick="2026-11-21T12:00:00Z",
        last_run="c-1",
    )


def test_a_schedule_of_an_older_gateway_gets_the_schedule_defaults() -> None:
    row = ScheduleRow.from_json({"name": "tick", "schedule": "@every 1m", "nextTick": None})
    assert row == ScheduleRow("tick", "@every 1m")
    assert (row.timezone, row.overlap, row.missed, row.catch_up_limit) == (
        "UTC",
        "allow",
        "skip",
        1,
    )
    assert (row.next_tick, row.last_tick, row.last_run) == (None, None, None)


def test_a_schedule_s_detail_reads_what_the_gateway_sends() -> None:
    spec = FunctionSpec.from_deployment({"service": "tick", "image": "i"})
    last = LastTick(1_800_000_000.0, "tick-20270115T080000Z")
    row = status(spec, Schedule("@every 60s"), last, "2027-01-15T08:00:30Z", 1_800_000_030.0)
    ticks = [GatewayTick("2027-01-15T08:00:00Z", "tick-20270115T080000Z", CallState.SKIPPED)]
    sent = json.loads(json.dumps(GatewayDetail(**vars(row), ticks=ticks).to_json()))
    detail = ScheduleDetail.from_json(sent)
    assert detail.ticks == [TickRun("2027-01-15T08:00:00Z", "tick-20270115T080000Z", "skipped")]
    assert (detail.row.paused, detail.row.paused_at) == (True, "2027-01-15T08:00:30Z")
    assert detail.row.next_ticks == [f"2027-01-15T08:0{m}:00Z" for m in range(1, 6)]
    assert detail.row.next_tick == "2027-01-15T08:01:00Z"


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"name": "tick"}, "schedule: 'schedule' is missing"),
        (ROW | {"catchUpLimit": "3"}, "schedule: 'catchUpLimit' is a string, not a whole number"),
        (ROW | {"nextTick": 0}, "schedule: 'nextTick' is a number, not a string"),
    ],
)
def test_a_malformed_schedule_is_refused_saying_why(data: Any, said: str) -> None:
    assert said in refused(ScheduleRow.from_json, data)


# lists, secrets, jobs, log lines


def test_a_listing_reads_each_item() -> None:
    assert listing([{"name": "a"}, {"name": "b"}], "secrets", secret_name) == ["a", "b"]
    assert listing([], "secrets", secret_name) == []


def test_a_listing_that_is_no_list_is_refused() -> None:
    said = refused(lambda data: listing(data, "functions", FunctionStatus.from_json), {})
    assert said == "the gateway sent a malformed list of functions: an object, not a list"


def test_one_malformed_item_refuses_the_listing() -> None:
    said = refused(lambda data: listing(data, "secrets", secret_name), [{"name": "a"}, {}])
    assert said == "the gateway sent a malformed secret: 'name' is missing"


def test_the_call_id_of_a_queued_job() -> None:
    assert queued_call_id({"callId": "job-1"}) == "job-1"
    assert "'callId' is missing" in refused(queued_call_id, {"id": "job-1"})


def test_a_log_line_is_an_object() -> None:
    assert log_entry('{"name": "f", "text": "hi"}') == LogEntry("f", "", "", "hi")
    line = '{"name": "j", "instance": "c1", "timestamp": "t", "text": "x", "stream": "stderr"}'
    assert log_entry(line) == LogEntry("j", "c1", "t", "x", "stderr")
    assert (
        refused(log_entry, "[1]") == "the gateway sent a malformed log line: a list, not an object"
    )
    assert refused(log_entry, "{oops").startswith("the gateway sent a malformed log line: not JSON")
