"""Unit tests of function logs: the watchdog's batches, the gateway's NDJSON, tail, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cli.logs import _log_line, _since
from cli.records import log_entry
from faas.errors import SpecError
from faas.rfc3339 import stamp as rfc3339
from faas.wire import CallRequest, CallResult, LogBatch, Outcome, RunSpec, pack, unpack
from gateway.errors import BadRequest
from gateway.logstream import LogQuery, entries, last
from watchdog import stderrlog

BATCH = LogBatch("hello", "c1", "wd", 1.0, 1_795_000_000.123456, ["one", "two ü"])


def test_each_line_is_an_openfaas_log_entry() -> None:
    lines = list(entries(BATCH))
    assert [line[-1:] for line in lines] == [b"\n", b"\n"]
    assert [json.loads(line) for line in lines] == [
        {
            "name": "hello",
            "namespace": "openfaas-fn",
            "instance": "c1",
            "timestamp": "2026-11-18T11:06:40.123456Z",
            "text": text,
        }
        for text in ("one", "two ü")
    ]


def test_timestamps_are_rfc3339_in_utc_with_microseconds() -> None:
    assert rfc3339(0.5) == "1970-01-01T00:00:00.500000Z"
    assert datetime.fromisoformat(rfc3339(BATCH.finished)).tzinfo is not None


@pytest.mark.parametrize(
    ("tail", "kept"),
    [(0, [b"a", b"b", b"c"]), (-1, [b"a", b"b", b"c"]), (2, [b"b", b"c"]), (5, [b"a", b"b", b"c"])],
)
def test_tail_keeps_the_last_lines(tail: int, kept: list[bytes]) -> None:
    assert list(last([b"a", b"b", b"c"], tail)) == kept


def test_tail_of_a_stream_reads_it_once() -> None:
    assert list(last(iter([b"a", b"b", b"c"]), 1)) == [b"c"]


def test_the_query_string_is_read() -> None:
    query = LogQuery.from_params(
        {
            "name": "hello.openfaas-fn",
            "tail": "3",
            "since": "2026-11-21T12:00:00Z",
            "follow": "true",
        }
    )
    assert query == LogQuery("hello", 3, datetime(2026, 11, 21, 12, tzinfo=UTC), True)
    assert LogQuery.from_params({"name": "hello"}) == LogQuery("hello")
    naive = LogQuery.from_params({"name": "hello", "since": "2026-11-21T12:00:00.123456789"})
    assert naive.since is not None and naive.since.tzinfo is UTC


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"name": ""},
        {"name": "hello", "tail": "x"},
        {"name": "hello", "since": "yesterday"},
        {"name": "hello", "follow": "maybe"},
        {"name": "hello", "namespace": "other"},
    ],
)
def test_a_bad_query_is_refused(params: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        LogQuery.from_params(params)


def test_a_bad_name_is_refused() -> None:
    with pytest.raises(SpecError):
        LogQuery.from_params({"name": "a.b>"})


def call_and_result(stderr: bytes) -> tuple[CallRequest, CallResult]:
    call = CallRequest("c1", "hello", RunSpec("img"))
    return call, CallResult("c1", Outcome.OK, stderr=stderr, duration=0.25)


def test_the_watchdog_batches_stderr_lines() -> None:
    call, result = call_and_result(b"err 1\nerr 2\r\nlast, unterminated \xff")
    batch = stderrlog.batch(call, result, "wd")
    assert batch is not None
    assert (batch.function, batch.call_id, batch.watchdog) == ("hello", "c1", "wd")
    assert batch.lines == ["err 1", "err 2", "last, unterminated \ufffd"]
    assert batch.finished - batch.started == pytest.approx(0.25)
    assert unpack(pack(batch), LogBatch) == batch


def test_no_stderr_no_batch() -> None:
    assert stderrlog.batch(*call_and_result(b""), "wd") is None


def test_the_cli_prints_lines_as_faas_cli() -> None:
    entry = log_entry(next(entries(BATCH)).decode())
    assert _log_line(entry) == "2026-11-18T11:06:40.123456Z hello (c1) one"


def test_the_cli_takes_a_time_or_a_duration() -> None:
    assert _since("2026-11-21T12:00:00Z") == "2026-11-21T12:00:00Z"
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert _since("5m", now) == "2026-11-21T11:55:00.000000Z"
    assert _since("1h30m", now) == "2026-11-21T10:30:00.000000Z"
    with pytest.raises(SpecError):
        _since("soon")


@pytest.mark.parametrize(
    "finished", [1_795_000_000.1234567, 1_795_000_000.1234564, 1_795_000_000.0000026]
)
def test_since_a_lines_own_timestamp_includes_that_line(finished: float) -> None:
    batch = LogBatch("hello", "c1", "wd", 1.0, finished, ["one"])
    shown = json.loads(next(entries(batch)))["timestamp"]
    assert LogQuery.from_params({"name": "hello", "since": shown}).wants(batch)
    later = LogQuery.from_params({"name": "hello", "since": rfc3339(finished + 1e-5)})
    assert not later.wants(batch)


def test_one_instances_lines_and_the_jobs_name() -> None:
    query = LogQuery.from_params({"name": "_job", "instance": "c1"})
    assert (query.name, query.instance) == ("_job", "c1")
    assert query.wants(BATCH)
    assert not query.wants(LogBatch("hello", "c2", "wd", 1.0, 2.0, ["x"]))
    assert LogQuery.from_params({"name": "hello"}).wants(BATCH)


def test_a_line_says_its_stream_when_known() -> None:
    batch = LogBatch("_job", "c1", "wd", 1.0, 2.0, ["out"], "stdout")
    assert json.loads(next(entries(batch)))["stream"] == "stdout"
    assert "stream" not in json.loads(next(entries(BATCH)))
    call, result = call_and_result(b"err\n")
    found = stderrlog.batch(call, result, "wd")
    assert found is not None and found.stream == "stderr"
