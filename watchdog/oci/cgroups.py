"""What a stopped container's cgroup says of it, on cgroup v1 (hybrid too) and v2 alike."""

from __future__ import annotations

from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def unified(root: Path = CGROUP_ROOT) -> bool:
    """Whether the host runs cgroup v2 alone (runc uses v1 wherever v1 controllers mount)."""
    return (root / "cgroup.controllers").exists()


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


def _counter(path: Path, name: str) -> int:
    try:
        text = path.read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == name and value.strip().isdigit():
            return int(value)
    return 0
