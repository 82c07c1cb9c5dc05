"""Unit tests of watchdog.dockerrunner: where its containers' own cgroups go."""

from __future__ import annotations

from typing import Any

import pytest
from docker.errors import DockerException

from watchdog.dockerrunner import cgroup_parent_of


class Engine:
    """What cgroup_parent_of asks of a Docker client: `info()`."""

    def __init__(self, info: dict[str, Any] | None) -> None:
        self._info = info

    def info(self) -> dict[str, Any]:
        if self._info is None:
            raise DockerException("the engine went away")
        return self._info


@pytest.mark.parametrize(
    ("watchdog", "parent"),
    [("w1", "/faas-docker/w1"), ("host/a b", "/faas-docker/host_a_b"), ("..", "/faas-docker/_")],
)
def test_cgroupfs_gives_each_watchdog_a_parent_of_its_own(watchdog: str, parent: str) -> None:
    assert cgroup_parent_of(Engine({"CgroupDriver": "cgroupfs"}), watchdog) == parent


@pytest.mark.parametrize("info", [{"CgroupDriver": "systemd"}, {}, None])
def test_no_parent_where_docker_wants_slices_or_does_not_say(info: dict[str, Any] | None) -> None:
    assert cgroup_parent_of(Engine(info), "w1") is None
