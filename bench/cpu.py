"""CPU time used by the benchmark's processes, to say where a call's cost goes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

CLIENT = "client"  # this process: the load generator (httpx), or the `docker` CLI it waits for
MACHINE = "machine"  # every process on the machine, the ones named here included
_TICK = os.sysconf("SC_CLK_TCK")


def process_seconds(pid: int, children: bool = False) -> float:
    """User plus system CPU seconds of a live process (all its threads), from /proc; with
    `children`, those of the children it waited for (a watchdog's runc and containers)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    if children:  # cutime and cstime, fields 16 and 17
        return (int(fields[13]) + int(fields[14])) / _TICK
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime and stime, fields 14 and 15


def machine_seconds() -> float:
    """CPU seconds every process on the machine used, idle and iowait left out (/proc/stat)."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(
            int, stat.readline().split()[1:9]
        )
    return (user + nice + system + irq + softirq + steal) / _TICK


def pids_named(name: str) -> list[int]:
    """Processes whose command name is `name` (dockerd, containerd)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as comm:
                    if comm.read().strip() == name:
                        found.append(int(entry))
            except OSError:
                continue
    return found


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
    reaped: dict[str, int] = field(default_factory=dict)  # name -> pid: its reaped children
    machine: bool = False  # also the machine's total, as MACHINE
    _start: dict[str, float] = field(default_factory=dict)

    def read(self) -> dict[str, float]:
        client = children_seconds() if self.children else own_seconds()
        used = {CLIENT: client} | {name: process_seconds(pid) for name, pid in self.pids.items()}
        for name, pid in self.reaped.items():
            used[name] = process_seconds(pid, children=True)
        if self.machine:
            used[MACHINE] = machine_seconds()
        return used

    def start(self) -> None:
        self._start = self.read()

    def used(self) -> dict[str, float]:
        now = self.read()
        return {name: now[name] - self._start.get(name, now[name]) for name in now}
