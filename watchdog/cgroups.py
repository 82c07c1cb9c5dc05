"""What a stopped container's cgroup says of it (killed for memory, peak memory, CPU time),
on cgroup v1 (hybrid too) and v2 alike; both runtimes read it before the cgroup goes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CPUACCT = ("cpuacct", "cpu,cpuacct")  # the v1 hierarchy's name, or where it is co-mounted


@dataclass(frozen=True)
class Usage:
    """What a container's processes used, as its cgroup counted; None where it cannot say."""

    peak_memory: int | None = None  # bytes
    cpu_seconds: float | None = None


def unified(root: Path = CGROUP_ROOT) -> bool:
    """Whether the host runs cgroup v2 alone (runc uses v1 wherever v1 controllers mount)."""
    return (root / "cgroup.controllers").exists()


def hybrid_v2_controllers(root: Path = CGROUP_ROOT) -> list[str]:
    """The controllers a hybrid host's v2 hierarchy holds (none where no v1 hierarchy lacks
    one, as systemd mounts them; or on a v1-only or v2-only host)."""
    try:
        return (root / "unified" / "cgroup.controllers").read_text().split()
    except OSError:
        return []


def directories(cgroups_path: str, root: Path = CGROUP_ROOT) -> list[Path]:
    """The folders of this cgroup: one on cgroup v2, one per controller hierarchy on v1."""
    relative = cgroups_path.lstrip("/")
    if unified(root):
        return [root / relative]
    return sorted(p for p in root.glob(f"*/{relative}") if p.is_dir())


def oom_killed(cgroups_path: str, root: Path = CGROUP_ROOT) -> bool:
    """Whether the kernel's OOM killer killed a process of this cgroup."""
    relative = cgroups_path.lstrip("/")
    if unified(root):
        return _counter(root / relative / "memory.events", "oom_kill") > 0
    return _counter(root / "memory" / relative / "memory.oom_control", "oom_kill") > 0


def usage(cgroups_path: str, root: Path = CGROUP_ROOT) -> Usage:
    """The cgroup's peak memory and CPU time so far; never raises (a file not there, or not
    readable, is a None)."""
    relative = cgroups_path.lstrip("/")
    return Usage(_peak_memory(root, relative), _cpu_seconds(root, relative))


def _peak_memory(root: Path, relative: str) -> int | None:
    # v1: the memory controller's high-water mark; v2: memory.peak (kernels 5.19 and later;
    # a hybrid host's v2 hierarchy holds no memory controller)
    v1 = root / "memory" / relative / "memory.max_usage_in_bytes"
    for path in (v1, root / relative / "memory.peak"):
        value = _number(path)
        if value is not None:
            return value
    return None


def _cpu_seconds(root: Path, relative: str) -> float | None:
    for hierarchy in CPUACCT:  # v1: nanoseconds
        nanos = _number(root / hierarchy / relative / "cpuacct.usage")
        if nanos is not None:
            return nanos / 1e9
    for base in (root, root / "unified"):  # v2, or a hybrid host's v2 hierarchy: microseconds
        micros = _field(base / relative / "cpu.stat", "usage_usec")
        if micros is not None:
            return micros / 1e6
    return None


def remove(cgroups_path: str, root: Path = CGROUP_ROOT) -> None:
    """Remove the cgroup's folders, deepest first; one still in use (or gone) is left."""
    for folder in directories(cgroups_path, root):
        for inner in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
            with contextlib.suppress(OSError):
                inner.rmdir()
        with contextlib.suppress(OSError):
            folder.rmdir()


def children(cgroups_path: str, root: Path = CGROUP_ROOT) -> list[str]:
    """The cgroups right below this one, as paths like `cgroups_path`, in any hierarchy."""
    names = {p.name for folder in directories(cgroups_path, root) for p in _subfolders(folder)}
    return [f"{cgroups_path.rstrip('/')}/{name}" for name in sorted(names)]


def _subfolders(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_dir()]
    except OSError:
        return []


def _number(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _field(path: Path, name: str) -> int | None:
    """The value of `name` in a file of `key value` lines (memory.events, cpu.stat)."""
    try:
        text = path.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == name and value.strip().isdigit():
            return int(value)
    return None


def _counter(path: Path, name: str) -> int:
    return _field(path, name) or 0
