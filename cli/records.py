"""The gateway's answers as typed records, each read from its JSON saying what is wrong."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from faas.errors import GatewayError
from faas.records import CallbackRecord, CallbackState, CallRecord, CallState
from faas.schedule import DEFAULT_TIMEZONE, Missed, Overlap

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


class MalformedAnswer(GatewayError):
    """The gateway answered with a success status, but not in the shape its API describes."""

    def __init__(self, what: str, problem: str) -> None:
        super().__init__(200, f"the gateway sent a malformed {what}: {problem}")

    def __str__(self) -> str:
        return self.message


class Fields:
    """One JSON object of an answer, read a field at a time; null or missing is the default.

    Fields a newer gateway added are not read; a field of the wrong type is refused.
    """

    def __init__(self, what: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise MalformedAnswer(what, f"{_kind(data)}, not an object")
        self.what = what
        self.data = data

    def _get(self, key: str, types: tuple[type, ...], expected: str, default: Any) -> Any:
        value = self.data.get(key)
        if value is None:
            return default
        if not _is(value, types):
            raise MalformedAnswer(self.what, f"{key!r} is {_kind(value)}, not {expected}")
        return value

    def required(self, key: str) -> str:
        value = self.optional_string(key)
        if value is None:
            raise MalformedAnswer(self.what, f"{key!r} is missing")
        return value

    def string(self, key: str, default: str = "") -> str:
        value: str = self._get(key, (str,), "a string", default)
        return value

    def optional_string(self, key: str) -> str | None:
        value: str | None = self._get(key, (str,), "a string", None)
        return value

    def integer(self, key: str, default: int = 0) -> int:
        value: int = self._get(key, (int,), "a whole number", default)
        return value

    def optional_integer(self, key: str) -> int | None:
        value: int | None = self._get(key, (int,), "a whole number", None)
        return value

    def number(self, key: str, default: float = 0) -> float:
        """A number as sent: a whole one stays an int, so it shows without `.0`."""
        value: float = self._get(key, (int, float), "a number", default)
        return value

    def optional_number(self, key: str) -> float | None:
        value: float | None = self._get(key, (int, float), "a number", None)
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        value: bool = self._get(key, (bool,), "true or false", default)
        return value

    def strings(self, key: str) -> list[str]:
        value: list[Any] = self._get(key, (list,), "a list", [])
        if not all(isinstance(item, str) for item in value):
            raise MalformedAnswer(self.what, f"{key!r} is not a list of strings")
        return list(value)

    def string_map(self, key: str) -> dict[str, str]:
        value: dict[str, Any] = self._get(key, (dict,), "an object", {})
        if not all(isinstance(item, str) for item in value.values()):
            raise MalformedAnswer(self.what, f"{key!r} is not an object of strings")
        return dict(value)

    def choice(self, key: str, enum: type[E], default: E | None = None) -> E:
        """One of the enum's values; required unless there is a default."""
        value = self.optional_string(key)
        if value is None:
            if default is None:
                raise MalformedAnswer(self.what, f"{key!r} is missing")
            return default
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            raise MalformedAnswer(
                self.what, f"{key!r} is {value!r}, not one of {allowed}"
            ) from None

    def part(self, key: str) -> Fields:
        """A nested object; an empty one when it is missing."""
        value = self.data.get(key)
        return Fields(f"{self.what}'s {key!r}", {} if value is None else value)


def listing(data: Any, what: str, read: Callable[[Any], T]) -> list[T]:
    """A list answer, each item read by `read`."""
    if not isinstance(data, list):
        raise MalformedAnswer(f"list of {what}", f"{_kind(data)}, not a list")
    return [read(item) for item in data]


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
    last_tick: str | None = None
    last_run: str | None = None

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
            last_tick=s.optional_string("lastTick"),
            last_run=s.optional_string("lastRun"),
        )


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
    )


def _callback(c: Fields) -> CallbackRecord:
    return CallbackRecord(
        state=c.choice("state", CallbackState, CallbackRecord.state),
        attempts=c.integer("attempts"),
        status=c.optional_integer("status"),
        error=c.string("error"),
        deliveredAt=c.optional_string("deliveredAt"),
    )


def secret_name(data: Any) -> str:
    """The name of a secret in `/system/secrets`; its value is never sent."""
    return Fields("secret", data).required("name")


def queued_call_id(data: Any) -> str:
    """The call id in the answer to `POST /system/jobs`."""
    return Fields("job answer", data).required("callId")


def log_entry(line: str) -> dict[str, Any]:
    """One NDJSON line of `/system/logs`, as the gateway sends it."""
    try:
        entry = json.loads(line)
    except ValueError as exc:
        raise MalformedAnswer("log line", f"not JSON ({exc})") from None
    if not isinstance(entry, dict):
        raise MalformedAnswer("log line", f"{_kind(entry)}, not an object")
    return entry


def _is(value: Any, types: tuple[type, ...]) -> bool:
    """isinstance, but a boolean is no number here (in Python it is an int)."""
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def _kind(value: Any) -> str:
    """What a JSON value is, for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"
