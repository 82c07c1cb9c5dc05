"""A deployed function: the OpenFaaS deployment body, validated, and what it means at run time."""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from faas import rfc3339
from faas.durations import parse_duration
from faas.errors import SpecError
from faas.retry import RetryPolicy
from faas.schedule import Schedule, from_annotations

NAMESPACE = "openfaas-fn"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MEMORY = 256 * 2**20
DEFAULT_PIDS = 256
DEFAULT_CONTENT_TYPE = "text/plain; charset=utf-8"
DEFAULT_REPLICAS = 1
MAX_REPLICAS = 2**63 - 1  # OpenFaaS's int64

# Annotations of ours; OpenFaaS names (exec_timeout, content_type) are read from envVars.
PIDS_ANNOTATION = "com.faas.pids"
NETWORK_ANNOTATION = "com.faas.network"
CONCURRENCY_ANNOTATION = "com.faas.max-concurrency"  # async calls at once, cluster-wide
NETWORKS = ("bridge", "none")

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$")
_MEMORY_UNITS = {
    "": 1,
    "b": 1,
    "k": 2**10,
    "m": 2**20,
    "g": 2**30,
    "t": 2**40,  # docker style, binary
    "ki": 2**10,
    "mi": 2**20,
    "gi": 2**30,
    "ti": 2**40,  # Kubernetes binary
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,  # Kubernetes decimal
    "kb": 2**10,
    "mb": 2**20,
    "gb": 2**30,
}


def check_name(name: str) -> str:
    """Return `name` if it is a valid function name (a DNS label), else raise SpecError."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SpecError(
            f"invalid function name {name!r}: use lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return name


def split_namespace(name: str) -> str:
    """Strip the only namespace there is (`name.openfaas-fn`); refuse any other."""
    base, dot, namespace = name.partition(".")
    if dot and namespace != NAMESPACE:
        raise SpecError(f"unknown namespace {namespace!r}: the only namespace is {NAMESPACE}")
    return base


def check_replicas(value: Any) -> int:
    """Return `value` if it is a replica count (a whole number, 0 or more), else raise SpecError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_REPLICAS:
        raise SpecError(f"invalid replicas {value!r}: a whole number, 0 or more")
    return value


def parse_memory(text: str) -> int:
    """Bytes in `128Mi`, `128m`, `1G`, `134217728`."""
    match = _MEMORY.match(str(text).strip())
    unit = match.group(2) if match else ""
    if unit not in _MEMORY_UNITS:
        unit = unit.lower()
    if not match or unit not in _MEMORY_UNITS:
        raise SpecError(f"invalid memory {text!r}: write e.g. 128Mi, 128m, 1G")
    value = int(float(match.group(1)) * _MEMORY_UNITS[unit])
    if value < 6 * 2**20:
        raise SpecError(f"invalid memory {text!r}: the least Docker allows is 6Mi")
    return value


def parse_cpu(text: str) -> float:
    """CPUs in `0.5`, `500m`, `2`."""
    raw = str(text).strip()
    try:
        cpus = float(raw[:-1]) / 1000 if raw.endswith("m") else float(raw)
    except ValueError:
        raise SpecError(f"invalid cpu {text!r}: write e.g. 0.5 or 500m") from None
    if not (0 < cpus < math.inf):
        raise SpecError(f"invalid cpu {text!r}: must be more than zero and finite")
    return cpus


@dataclass(frozen=True)
class Resources:
    """Memory and CPU as written in the deployment (`limits`, `requests`)."""

    memory: str | None = None
    cpu: str | None = None

    @classmethod
    def from_json(cls, data: Any, what: str) -> Resources | None:
        if data is None:
            return None
        if not isinstance(data, Mapping):
            raise SpecError(f"{what} must be an object with memory and cpu")
        memory, cpu = data.get("memory") or None, data.get("cpu") or None
        if memory is not None:
            parse_memory(memory)
        if cpu is not None:
            parse_cpu(cpu)
        return cls(str(memory) if memory else None, str(cpu) if cpu else None)

    def to_json(self) -> dict[str, str]:
        return {k: v for k, v in (("memory", self.memory), ("cpu", self.cpu)) if v}


def _str_map(data: Any, what: str) -> dict[str, str]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise SpecError(f"{what} must be an object of strings")
    return {str(k): "" if v is None else str(v) for k, v in data.items()}


def _bool(data: Any, what: str) -> bool:
    if data is None:
        return False
    if not isinstance(data, bool):
        raise SpecError(f"{what} must be true or false")
    return data


def _str_list(data: Any, what: str) -> list[str]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise SpecError(f"{what} must be a list of strings")
    return [str(item) for item in data]


@dataclass(frozen=True)
class FunctionSpec:
    """One deployed function, as OpenFaaS's FunctionDeployment describes it.

    The settings in its environment and annotations are parsed on first use and kept:
    `from_deployment` (a deploy, or a load from the store) parses them all.
    """

    name: str
    image: str
    namespace: str = NAMESPACE
    env_process: str = ""
    env_vars: dict[str, str] = field(default_factory=dict)
    constraints: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    limits: Resources | None = None
    requests: Resources | None = None
    read_only_root_filesystem: bool = False
    created_at: str = ""
    replicas: int = DEFAULT_REPLICAS  # set by the scale API; nothing is reserved by it
    revision: int = 0  # the store's version of this spec (not stored): 0 when not from the store

    @classmethod
    def from_deployment(cls, body: Any) -> FunctionSpec:
        """Validate an OpenFaaS deployment body; raise SpecError saying what is wrong."""
        if not isinstance(body, Mapping):
            raise SpecError("the body must be a JSON object")
        name = body.get("service") or body.get("name")
        if not name:
            raise SpecError("missing 'service': the function's name")
        image = body.get("image")
        if not image or not isinstance(image, str):
            raise SpecError("missing 'image'")
        namespace = body.get("namespace") or NAMESPACE
        if namespace != NAMESPACE:
            raise SpecError(f"unknown namespace {namespace!r}: the only namespace is {NAMESPACE}")
        spec = cls(
            name=check_name(name),
            image=image,
            env_process=str(body.get("envProcess") or ""),
            env_vars=_str_map(body.get("envVars"), "envVars"),
            constraints=_str_list(body.get("constraints"), "constraints"),
            secrets=_str_list(body.get("secrets"), "secrets"),
            labels=_str_map(body.get("labels"), "labels"),
            annotations=_str_map(body.get("annotations"), "annotations"),
            limits=Resources.from_json(body.get("limits"), "limits"),
            requests=Resources.from_json(body.get("requests"), "requests"),
            read_only_root_filesystem=_bool(
                body.get("readOnlyRootFilesystem"), "readOnlyRootFilesystem"
            ),
        )
        spec.check_runtime()
        return spec

    def check_runtime(self) -> None:
        """Parse each setting read at run time, once: raise SpecError if one does not parse."""
        _ = self.timeout, self.pids, self.network, self.max_concurrency, self.schedule
        _ = self.retry

    @cached_property
    def retry(self) -> RetryPolicy:
        """How its async calls are retried (OpenFaaS-style annotations)."""
        return RetryPolicy.from_annotations(self.annotations)

    @cached_property
    def schedule(self) -> Schedule | None:
        """When the function fires by itself (cron-connector annotations), if it does."""
        return from_annotations(self.annotations)

    def with_created_at(self, created_at: str | None = None) -> FunctionSpec:
        stamp = created_at or rfc3339.stamp(datetime.now(UTC), "seconds")
        return replace(self, created_at=stamp)

    @cached_property
    def timeout(self) -> float:
        """Seconds a call may run: `exec_timeout` in the environment, as OpenFaaS's watchdog."""
        raw = self.env_vars.get("exec_timeout")
        return parse_duration(raw) if raw else DEFAULT_TIMEOUT

    @cached_property
    def command(self) -> tuple[str, ...]:
        """The process each call runs: `envProcess`, else `fprocess` in the environment (as
        OpenFaaS's watchdog runs $fprocess); empty for the image's own command."""
        return tuple(shlex.split(self.env_process or self.env_vars.get("fprocess", "")))

    @property
    def content_type(self) -> str:
        return self.env_vars.get("content_type") or DEFAULT_CONTENT_TYPE

    @cached_property
    def memory(self) -> int:
        return (
            parse_memory(self.limits.memory)
            if self.limits and self.limits.memory
            else (DEFAULT_MEMORY)
        )

    @cached_property
    def cpus(self) -> float | None:
        return parse_cpu(self.limits.cpu) if self.limits and self.limits.cpu else None

    @cached_property
    def pids(self) -> int:
        raw = self.annotations.get(PIDS_ANNOTATION)
        if raw is None:
            return DEFAULT_PIDS
        if not re.fullmatch(r"[0-9]+", raw) or int(raw) < 1:
            raise SpecError(f"invalid {PIDS_ANNOTATION} {raw!r}: a whole number above zero")
        return int(raw)

    @cached_property
    def max_concurrency(self) -> int | None:
        raw = self.annotations.get(CONCURRENCY_ANNOTATION)
        if raw is None:
            return None
        if not re.fullmatch(r"[0-9]+", raw) or not 1 <= int(raw) <= 10000:
            raise SpecError(f"invalid {CONCURRENCY_ANNOTATION} {raw!r}: a whole number, 1 to 10000")
        return int(raw)

    @cached_property
    def network(self) -> str:
        network = self.annotations.get(NETWORK_ANNOTATION, "bridge")
        if network not in NETWORKS:
            raise SpecError(f"invalid {NETWORK_ANNOTATION} {network!r}: one of {NETWORKS}")
        return network

    def to_json(self) -> dict[str, Any]:
        """The stored form, which is also the deployment body."""
        body: dict[str, Any] = {
            "service": self.name,
            "image": self.image,
            "namespace": self.namespace,
            "envProcess": self.env_process,
            "envVars": self.env_vars,
            "constraints": self.constraints,
            "secrets": self.secrets,
            "labels": self.labels,
            "annotations": self.annotations,
            "readOnlyRootFilesystem": self.read_only_root_filesystem,
            "createdAt": self.created_at,
            "replicas": self.replicas,
        }
        if self.limits:
            body["limits"] = self.limits.to_json()
        if self.requests:
            body["requests"] = self.requests.to_json()
        return body

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FunctionSpec:
        """The stored form back; a deployment body has no replicas, the stored form does."""
        spec = cls.from_deployment(data).with_created_at(str(data.get("createdAt") or ""))
        return replace(spec, replicas=check_replicas(data.get("replicas", DEFAULT_REPLICAS)))

    def status(self, invocation_count: int, available_replicas: int) -> dict[str, Any]:
        """The OpenFaaS FunctionStatus of this function."""
        body = self.to_json()
        del body["service"]
        return {
            "name": self.name,
            **body,
            "invocationCount": invocation_count,
            "replicas": self.replicas,
            "availableReplicas": available_replicas,
        }
