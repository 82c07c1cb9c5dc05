"""The gateway's answers as typed records, each read from its JSON saying what is wrong."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cli.fields import Fields, MalformedAnswer, listing
from faas.records import CallbackRecord, CallbackState, CallRecord, CallState, RequestRecord
from faas.schedule import DEFAULT_TIMEZONE, Missed, Overlap


@dataclass(frozen=True)
class FunctionStatus:
    """A deployed function as `/system/functions` shows it: OpenFaaS's FunctionStatus."""

    name: str
    image: str = ""
    namespace: str = ""
    env_process: str = ""
    env_vars: dict[str, str] = field(default_factory=dict)
    constraints: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    limits: dict[str, str] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)
    read_only_root_filesystem: bool = False
    created_at: str = ""
    invocation_count: float = 0  # a float in OpenFaaS; a whole number from this gateway
    replicas: int = 0
    available_replicas: int = 0

    @classmethod
    def from_json(cls, data: Any) -> FunctionStatus:
        f = Fields("function status", data)
        return cls(
            name=f.required("name"),
            image=f.string("image"),
            namespace=f.string("namespace"),
            env_process=f.string("envProcess"),
            env_vars=f.string_map("envVars"),
            constraints=f.strings("constraints"),
            secrets=f.strings("secrets"),
            labels=f.string_map("labels"),
            annotations=f.string_map("annotations"),
            limits=f.string_map("limits"),
            requests=f.string_map("requests"),
            read_only_root_filesystem=f.boolean("readOnlyRootFilesystem"),
            created_at=f.string("createdAt"),
            invocation_count=f.number("invocationCount"),
            replicas=f.integer("replicas"),
            available_replicas=f.integer("availableReplicas"),
        )


@dataclass(frozen=True)
class Release:
    """A version in `/system/info`."""

    release: str = ""
    sha: str = ""
    commit_message: str = ""

    @classmethod
    def from_json(cls, parent: Fields, key: str) -> Release | None:
        """The release under `key`; None when there is none or it is empty."""
        f = parent.part(key)
        if not f.data:
            return None
        return cls(f.string("release"), f.string("sha"), f.string("commit_message"))


@dataclass(frozen=True)
class GatewayInfo:
    """The gateway's provider and versions, from `/system/info`."""

    provider: str = ""
    orchestration: str = ""
    provider_version: Release | None = None
    version: Release | None = None
    arch: str = ""

    @property
    def release(self) -> str:
        """The provider's release, else the gateway's ("" for none)."""
        chosen = self.version if self.provider_version is None else self.provider_version
        return chosen.release if chosen else ""

    @classmethod
    def from_json(cls, data: Any) -> GatewayInfo:
        info = Fields("gateway info", data)
        provider = info.part("provider")
        return cls(
            provider=provider.string("provider"),
            orchestration=provider.string("orchestration"),
            provider_version=Release.from_json(provider, "version"),
            version=Release.from_json(info, "version"),
            arch=info.string("arch"),
        )


@dataclass(frozen=True)
class ScheduleRow:
    """A scheduled function and its ticks, as `/system/schedules` lists it."""

    name: str
    schedule: str
    namespace: str = ""
    timezone: str = DEFAULT_TIMEZONE
    # kept as text, not faas.schedule's enums: a newer gateway may have more modes to show
    overlap: str = Overlap.ALLOW.value
    missed: str = Missed.SKIP.value
    catch_up_limit: int = 1
    callback_url: str | None = None
    next_tick: str | None = None
    next_ticks: list[str] = field(default_factory=list)
    last_tick: str | None = None
    last_run: str | None = None
    paused: bool = False
    paused_at: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> ScheduleRow:
        s = Fields("schedule", data)
        return cls(
            name=s.required("name"),
            schedule=s.required("schedule"),
            namespace=s.string("namespace"),
            timezone=s.string("timezone", cls.timezone),
            overlap=s.string("overlap", cls.overlap),
            missed=s.string("missed", cls.missed),
            catch_up_limit=s.integer("catchUpLimit", cls.catch_up_limit),
            callback_url=s.optional_string("callbackUrl"),
            next_tick=s.optional_string("nextTick"),
            next_ticks=s.strings("nextTicks"),
            last_tick=s.optional_string("lastTick"),
            last_run=s.optional_string("lastRun"),
            paused=s.boolean("paused"),
            paused_at=s.optional_string("pausedAt"),
        )


@dataclass(frozen=True)
class TickRun:
    """A past tick of a schedule and its call, as `/system/schedules/{name}` lists them."""

    tick: str
    call_id: str
    state: str  # as text, not CallState: a newer gateway may have more states

    @classmethod
    def from_json(cls, data: Any) -> TickRun:
        t = Fields("tick", data)
        return cls(t.required("tick"), t.required("callId"), t.required("state"))


@dataclass(frozen=True)
class ScheduleDetail:
    """One scheduled function and its recent ticks, newest first."""

    row: ScheduleRow
    ticks: list[TickRun]

    @classmethod
    def from_json(cls, data: Any) -> ScheduleDetail:
        ticks = Fields("schedule", data).data.get("ticks") or []
        return cls(ScheduleRow.from_json(data), listing(ticks, "ticks", TickRun.from_json))


def call_record(data: Any) -> CallRecord:
    """A call as `/system/calls` sends it (`CallRecord.to_json`).

    Fields an older gateway did not send get CallRecord's defaults, except the creation
    time: unknown (""), not now.
    """
    c = Fields("call record", data)
    return CallRecord(
        callId=c.required("callId"),
        function=c.required("function"),
        kind=c.string("kind", CallRecord.kind),
        state=c.choice("state", CallState),
        attempts=c.integer("attempts"),
        maxAttempts=c.integer("maxAttempts", CallRecord.maxAttempts),
        exitCode=c.optional_integer("exitCode"),
        status=c.optional_integer("status"),
        message=c.string("message"),
        createdAt=c.string("createdAt"),
        startedAt=c.optional_string("startedAt"),
        finishedAt=c.optional_string("finishedAt"),
        durationSeconds=c.optional_number("durationSeconds"),
        output=c.string("output"),
        outputTruncated=c.boolean("outputTruncated"),
        stderr=c.string("stderr"),
        watchdog=c.string("watchdog"),
        callbackUrl=c.optional_string("callbackUrl"),
        callback=_callback(c.part("callback")),
        request=_request(c.part("request")),
        retryOf=c.optional_string("retryOf"),
    )


def _request(r: Fields) -> RequestRecord | None:
    """The request on record; None when there is none (a job's, or an older record's)."""
    if not r.data:
        return None
    return RequestRecord(
        method=r.string("method", RequestRecord.method),
        path=r.string("path", RequestRecord.path),
        query=r.string("query"),
        headers=_pairs(r, "headers"),
        body=r.string("body"),
        bodyBytes=r.integer("bodyBytes"),
        bodyKept=r.boolean("bodyKept", True),
    )


def _callback(c: Fields) -> CallbackRecord:
    return CallbackRecord(
        state=c.choice("state", CallbackState, CallbackRecord.state),
        attempts=c.integer("attempts"),
        status=c.optional_integer("status"),
        error=c.string("error"),
        deliveredAt=c.optional_string("deliveredAt"),
    )


def _pairs(f: Fields, key: str) -> list[list[str]]:
    value = f.data.get(key) or []
    if not isinstance(value, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(v, str) for v in p) for p in value
    ):
        raise MalformedAnswer(f.what, f"{key!r} is not a list of [name, value] pairs")
    return [list(p) for p in value]


def secret_name(data: Any) -> str:
    """The name of a secret in `/system/secrets`; its value is never sent."""
    return Fields("secret", data).required("name")


def queued_call_id(data: Any) -> str:
    """The call id in the answer to `POST /system/jobs`."""
    return Fields("job answer", data).required("callId")


@dataclass(frozen=True)
class LogEntry:
    """One line a function wrote, as `/system/logs` sends it (OpenFaaS's LogEntry)."""

    name: str
    instance: str
    timestamp: str
    text: str
    stream: str = ""  # "stdout" or "stderr" for a one-shot job's lines; else not sent


def log_entry(line: str) -> LogEntry:
    """One NDJSON line of `/system/logs`."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise MalformedAnswer("log line", f"not JSON ({exc})") from None
    e = Fields("log line", data)
    return LogEntry(
        e.string("name"),
        e.string("instance"),
        e.string("timestamp"),
        e.string("text"),
        e.string("stream"),
    )
