"""Unit tests of watchdog.cgroups: what a container's cgroup says, from fake cgroup folders
laid out as cgroup v1, hybrid and v2 hosts lay them out."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchdog import cgroups
from watchdog.cgroups import Usage


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_oom_kill_count_on_cgroup_v1(tmp_path: Path) -> None:
    control = tmp_path / "memory/faas/c1/memory.oom_control"
    write(control, "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
    write(tmp_path / "memory/faas/c2/memory.oom_control", "oom_kill_disable 0\noom_kill 0\n")
    assert cgroups.oom_killed("/faas/c1", tmp_path)
    assert not cgroups.oom_killed("/faas/c2", tmp_path)
    assert not cgroups.oom_killed("/faas/gone", tmp_path)


def test_oom_kill_count_on_cgroup_v2(tmp_path: Path) -> None:
    write(tmp_path / "cgroup.controllers", "cpu memory pids\n")
    write(tmp_path / "faas/c1/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert cgroups.unified(tmp_path)
    assert cgroups.oom_killed("/faas/c1", tmp_path)


def test_cgroup_directories_one_per_v1_hierarchy(tmp_path: Path) -> None:
    for controller in ("memory", "pids", "cpu"):
        (tmp_path / controller / "faas/c1").mkdir(parents=True)
    (tmp_path / "memory/faas/c2").mkdir()
    assert cgroups.directories("/faas/c1", tmp_path) == [
        tmp_path / "cpu/faas/c1",
        tmp_path / "memory/faas/c1",
        tmp_path / "pids/faas/c1",
    ]


def test_cgroup_directory_on_v2(tmp_path: Path) -> None:
    write(tmp_path / "cgroup.controllers", "memory\n")
    assert cgroups.directories("/faas/c1", tmp_path) == [tmp_path / "faas/c1"]


# usage


def test_usage_on_cgroup_v1(tmp_path: Path) -> None:
    write(tmp_path / "memory/faas/c1/memory.max_usage_in_bytes", "33554432\n")
    write(tmp_path / "cpuacct/faas/c1/cpuacct.usage", "1250000000\n")
    assert cgroups.usage("/faas/c1", tmp_path) == Usage(32 * 2**20, 1.25)


def test_usage_where_cpu_and_cpuacct_are_mounted_together(tmp_path: Path) -> None:
    write(tmp_path / "cpu,cpuacct/faas/c1/cpuacct.usage", "500000\n")
    assert cgroups.usage("/faas/c1", tmp_path).cpu_seconds == 0.0005


def test_usage_on_a_hybrid_host_takes_cpu_time_from_v2_when_v1_has_no_cpuacct(
    tmp_path: Path,
) -> None:
    write(tmp_path / "memory/faas/c1/memory.max_usage_in_bytes", "4096\n")
    write(tmp_path / "unified/faas/c1/cpu.stat", "usage_usec 2500\nuser_usec 2000\n")
    assert cgroups.usage("/faas/c1", tmp_path) == Usage(4096, 0.0025)


def test_usage_on_cgroup_v2(tmp_path: Path) -> None:
    write(tmp_path / "cgroup.controllers", "cpu memory\n")
    write(tmp_path / "faas/c1/memory.peak", "8388608\n")
    write(tmp_path / "faas/c1/cpu.stat", "usage_usec 750000\nuser_usec 500000\n")
    assert cgroups.usage("/faas/c1", tmp_path) == Usage(8 * 2**20, 0.75)


def test_usage_on_cgroup_v2_without_memory_peak_leaves_memory_unknown(tmp_path: Path) -> None:
    write(tmp_path / "cgroup.controllers", "cpu memory\n")
    write(tmp_path / "faas/c1/memory.current", "8388608\n")  # what is used now is no peak
    write(tmp_path / "faas/c1/cpu.stat", "usage_usec 10\n")
    assert cgroups.usage("/faas/c1", tmp_path) == Usage(None, 0.00001)


@pytest.mark.parametrize("text", ["", "max\n", "-1\n", "12 34\n"])
def test_usage_of_unreadable_numbers_is_unknown(tmp_path: Path, text: str) -> None:
    write(tmp_path / "memory/faas/c1/memory.max_usage_in_bytes", text)
    write(tmp_path / "cpuacct/faas/c1/cpuacct.usage", text)
    assert cgroups.usage("/faas/c1", tmp_path) == Usage()


def test_usage_of_a_cgroup_not_there_is_unknown(tmp_path: Path) -> None:
    write(tmp_path / "memory/faas/other/memory.max_usage_in_bytes", "1\n")
    assert cgroups.usage("/faas/gone", tmp_path) == Usage(None, None)


# remove, children


def test_remove_takes_the_cgroup_out_of_every_hierarchy_with_what_is_below(
    tmp_path: Path,
) -> None:
    for hierarchy in ("memory", "pids", "unified"):
        (tmp_path / hierarchy / "faas-docker/w1/call/leaf").mkdir(parents=True)
    (tmp_path / "memory/faas-docker/w1/other").mkdir()
    cgroups.remove("/faas-docker/w1/call", tmp_path)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.glob("*/faas-docker/w1/*")) == [
        Path("memory/faas-docker/w1/other")
    ]
    cgroups.remove("/faas-docker/w1/gone", tmp_path)  # nothing there: nothing to do


def test_children_are_the_cgroups_below_in_any_hierarchy(tmp_path: Path) -> None:
    (tmp_path / "memory/faas-docker/w1/a").mkdir(parents=True)
    (tmp_path / "pids/faas-docker/w1/b").mkdir(parents=True)
    write(tmp_path / "memory/faas-docker/w1/memory.limit_in_bytes", "9\n")  # a file, not a group
    found = cgroups.children("/faas-docker/w1", tmp_path)
    assert found == ["/faas-docker/w1/a", "/faas-docker/w1/b"]
    assert cgroups.children("/faas-docker/none", tmp_path) == []


def test_the_controllers_a_hybrid_host_keeps_on_v2(tmp_path: Path) -> None:
    (tmp_path / "unified").mkdir()
    (tmp_path / "unified" / "cgroup.controllers").write_text("hugetlb misc\n")
    assert cgroups.hybrid_v2_controllers(tmp_path) == ["hugetlb", "misc"]
    (tmp_path / "unified" / "cgroup.controllers").write_text("")
    assert cgroups.hybrid_v2_controllers(tmp_path) == []  # systemd's hybrid layout


def test_no_hybrid_v2_controllers_on_a_v1_or_v2_only_host(tmp_path: Path) -> None:
    assert cgroups.hybrid_v2_controllers(tmp_path) == []
