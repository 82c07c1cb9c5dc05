"""What the Docker engine holds of the platform's calls: containers labelled `faas.call`."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import docker
from docker.errors import DockerException

from watchdog.runner import CALL_LABEL, WATCHDOG_LABEL


@dataclass(frozen=True)
class CallContainer:
    id: str
    status: str
    watchdog: str
    call: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def call_containers() -> list[CallContainer]:
    """Every container, running or not, that carries the `faas.call` label."""
    client = docker.from_env()
    try:
        found = client.containers.list(all=True, filters={"label": CALL_LABEL})
        return [
            CallContainer(
                c.id[:12],
                c.status,
                c.labels.get(WATCHDOG_LABEL, ""),
                c.labels.get(CALL_LABEL, ""),
            )
            for c in found
        ]
    finally:
        client.close()


def remove(containers: list[CallContainer]) -> None:
    client = docker.from_env()
    try:
        for container in containers:
            try:
                client.api.remove_container(container.id, force=True)
            except DockerException as exc:  # it stays listed in the report either way
                print(f"bench: cannot remove container {container.id}: {exc}", file=sys.stderr)
    finally:
        client.close()


def engine_version() -> str:
    client = docker.from_env()
    try:
        return str(client.version().get("Version", "?"))
    finally:
        client.close()
