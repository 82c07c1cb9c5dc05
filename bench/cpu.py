"""CPU time used by the benchmark's processes, to say where a call's cost goes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

CLIENT = "client"  # this process: the load generator (httpx), or the `docker` CLI it waits for
_TICK = os.sysconf("SC_CLK_TCK")


def process_seconds(pid: int) -> float:
    """User plus system CPU seconds of a live process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime and stime, fields 14 and 15


def own_seconds() -> float:
    times = os.times()
    return times.user + times.system


def children_seconds() -> float:
    """CPU of the children this process has waited for (the `docker` CLI runs)."""
    times = os.times()
    return times.children_user + times.children_system


@dataclass
class CpuMeter:
    """Reads the CPU seconds of named processes; `used()` since the last `start()`."""

    pids: dict[str, int] = field(default_factory=dict)
    children: bool = False  # count the client as our waited-for children, not ourselves
    _start: dict[str, float] = field(default_factory=dict)

    def read(self) -> dict[str, float]:
        client = children_seconds() if self.children else own_seconds()
        return {CLIENT: client} | {name: process_seconds(pid) for name, pid in self.pids.items()}

    def start(self) -> None:
        self._start = self.read()

    def used(self) -> dict[str, float]:
        now = self.read()
        return {name: now[name] - self._start.get(name, now[name]) for name in now}
