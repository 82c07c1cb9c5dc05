"""One-shot jobs: an image run once, with no function deployed; the body describing one."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from faas.callback import check_url
from faas.durations import parse_duration
from faas.errors import SpecError
from faas.spec import DEFAULT_MEMORY, DEFAULT_PIDS, NETWORKS, parse_memory
from faas.wire import RunSpec

JOB_FUNCTION = "_job"  # the function name jobs run under: not a DNS label, so no function's
DEFAULT_TIMEOUT = 300.0
MAX_MEMORY = 2**50  # more than any host has; keeps the number within the wire's integers
FIELDS = ("image", "command", "env", "timeout", "network", "memory", "callbackUrl")


@dataclass(frozen=True)
class JobSpec:
    """What to run, as `POST /system/jobs` takes it."""

    image: str
    command: list[str] = field(default_factory=list)  # empty: the image's own
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    network: str = "bridge"
    memory: int = DEFAULT_MEMORY
    callback_url: str = ""

    @classmethod
    def from_json(cls, body: Any) -> JobSpec:
        """Validate a job body; raise SpecError naming the field and what is wrong with it."""
        if not isinstance(body, Mapping):
            raise SpecError("the body must be a JSON object with at least 'image'")
        unknown = sorted(str(k) for k in body if k not in FIELDS)
        if unknown:
            raise SpecError(f"unknown field {unknown[0]!r}: the fields are {', '.join(FIELDS)}")
        return cls(
            image=_image(body.get("image")),
            command=_command(body.get("command")),
            env=_env(body.get("env")),
            timeout=_timeout(body.get("timeout")),
            network=_network(body.get("network")),
            memory=_memory(body.get("memory")),
            callback_url=_callback(body.get("callbackUrl")),
        )

    def run_spec(self) -> RunSpec:
        """How a watchdog runs it: as a function's call, with the job's own settings."""
        return RunSpec(
            image=self.image,
            command=list(self.command),
            env=dict(self.env),
            memory=self.memory,
            pids=DEFAULT_PIDS,
            network=self.network,
            timeout=self.timeout,
        )


def _image(value: Any) -> str:
    if value is None or value == "":
        raise SpecError("'image' is required: the image to run, e.g. faas/base-busybox:latest")
    if not isinstance(value, str) or not value.isprintable() or any(c.isspace() for c in value):
        raise SpecError(f"'image' must be an image name without spaces, not {value!r}")
    return value


def _command(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError('\'command\' must be a list of strings, e.g. ["sh", "-c", "echo hi"]')
    if any("\0" in v for v in value):
        raise SpecError("'command' must not contain NUL characters")
    return value


def _env(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise SpecError('\'env\' must be an object of strings, e.g. {"MODE": "full"}')
    for name, text in value.items():
        if not name or "=" in name or "\0" in name or "\0" in text:
            raise SpecError(f"'env' has a bad variable {name!r}: no '=' or NUL, not empty")
    return dict(value)


def _timeout(value: Any) -> float:
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SpecError("'timeout' must be seconds or a duration such as 90s or 10m")
    if isinstance(value, int | float) and not (0 < value < math.inf):
        raise SpecError(f"'timeout' must be more than zero and finite, not {value!r}")
    try:
        return parse_duration(str(value))
    except SpecError as exc:
        raise SpecError(f"'timeout': {exc}") from None


def _network(value: Any) -> str:
    if value is None:
        return "bridge"
    if value not in NETWORKS:
        raise SpecError(f"'network' must be one of {', '.join(NETWORKS)}, not {value!r}")
    return str(value)


def _memory(value: Any) -> int:
    if value is None:
        return DEFAULT_MEMORY
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise SpecError("'memory' must be a quantity such as 256Mi or 1G")
    try:
        memory = parse_memory(str(value))
    except SpecError as exc:
        raise SpecError(f"'memory': {exc}") from None
    except OverflowError:  # more digits than a float holds
        memory = MAX_MEMORY + 1
    if memory > MAX_MEMORY:
        raise SpecError(f"'memory' must be at most {MAX_MEMORY // 2**40}Ti, not {value!r}")
    return memory


def _callback(value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise SpecError("'callbackUrl' must be an http(s) URL")
    try:
        return check_url(value)
    except SpecError:
        raise SpecError(f"'callbackUrl' must be an http(s) URL, not {value!r}") from None
